// The guided set-up page: start (or redo) the set-up on a cushion, follow it live (the step,
// what to do, progress, what the cushion shows, "Got it"), and show the result: mirrored or
// not, which postures it cannot tell apart. POST/GET/DELETE /api/cushions/{id}/setup.

import { Api, readToken } from "./api.js";

const api = new Api(readToken());
const $ = (id) => document.getElementById(id);
const POLL_MS = 400;
let timer = null;

const PHASE = {
  waiting: "Waiting for you…",
  settling: "Hold it…",
  recording: "Hold it…",
  got_it: "Got it ✓",
  done: "All done ✓",
};

function cushion() {
  return $("setup-cushion").value;
}

function error(text) {
  $("setup-error").textContent = text || "";
  $("setup-error").hidden = !text;
}

function showResult(result) {
  const box = $("setup-result");
  box.replaceChildren();
  if (!result) {
    box.hidden = true;
    return;
  }
  const h = document.createElement("h3");
  h.textContent = "Done";
  box.append(h);
  for (const line of result.summary || []) {
    const p = document.createElement("p");
    p.textContent = line;
    p.dataset.testid = "setup-summary";
    box.append(p);
  }
  box.hidden = false;
}

function render(s) {
  const active = s.active && s.status;
  $("setup-live").hidden = !active;
  $("setup-cancel").hidden = !active;
  $("setup-start").textContent = s.saved || s.result ? "Redo the set-up" : "Start";
  if (active) {
    const st = s.status;
    $("setup-step").textContent = `Step ${Math.min(st.step + 1, st.steps)} of ${st.steps}`;
    $("setup-instruction").textContent = st.instruction;
    $("setup-progress").value = st.progress;
    $("setup-phase").textContent = PHASE[st.phase] || st.phase;
    $("setup-phase").dataset.phase = st.phase;
    $("setup-seeing").textContent = st.seeing;
  }
  showResult(s.result);
}

async function poll() {
  if (!cushion()) return;
  try {
    const s = await api.get(`/api/cushions/${encodeURIComponent(cushion())}/setup`);
    render(s);
    if (!s.active && timer) {
      clearInterval(timer);
      timer = null;
    }
  } catch (err) {
    error(err.message);
  }
}

function follow() {
  if (!timer) timer = setInterval(poll, POLL_MS);
  poll();
}

async function loadCushions() {
  const list = await api.get("/api/status");
  const select = $("setup-cushion");
  select.replaceChildren();
  for (const c of list) {
    const o = document.createElement("option");
    o.value = o.textContent = c.cushion;
    select.append(o);
  }
  document.body.dataset.ready = "true";
  if (list.length) follow();
}

$("setup-start").addEventListener("click", async () => {
  error("");
  try {
    render(await api.request("POST", `/api/cushions/${encodeURIComponent(cushion())}/setup`));
    follow();
  } catch (err) {
    error(err.message);
  }
});

$("setup-cancel").addEventListener("click", async () => {
  try {
    render(await api.request("DELETE", `/api/cushions/${encodeURIComponent(cushion())}/setup`));
  } catch (err) {
    error(err.message);
  }
});

$("setup-cushion").addEventListener("change", follow);
loadCushions().catch((err) => error(err.message));
