// The pain and progress journal (docs/journal.md): the card (tap a number to log, places and a
// note optional, today's entries with Edit and Delete), "Log pain" in the reminder banner,
// pain marks under today's timeline, the 30-day side-by-side view and "what seems to help".
// Self-contained like pause.js: its own requests to /api/journal*, its own nodes in index.html.
// charts.js announces the timeline's time axis with a "sitwell:timeline" event on document.

import { Api, readToken } from "./api.js";
import { clockTime, el, isoDay } from "./format.js";

const api = new Api(readToken());
const $ = (id) => document.getElementById(id);
const REFRESH_MS = 60000;
const PLACES = {
  "left-buttock": "Left buttock", "right-buttock": "Right buttock", "left-hip": "Left hip", "right-hip": "Right hip",
  "left-leg": "Back of left leg", "right-leg": "Back of right leg", "lower-back": "Lower back", other: "Other",
};
const ROWS = [
  ["pain", "Pain (worst)", (v) => `${v}/10`, 10],
  ["minutes_seated", "Minutes seated", (v) => `${Math.round(v)} min`, null],
  ["longest_spell_min", "Longest spell", (v) => `${Math.round(v)} min`, null],
  ["breaks", "Breaks", (v) => `${v}`, null],
  ["uneven_share", "Uneven", (v) => `${Math.round(v * 100)}%`, null],
  ["crossed_share", "Legs crossed", (v) => `${Math.round(v * 100)}%`, null],
  ["slouched_share", "Slouched", (v) => `${Math.round(v * 100)}%`, null],
];

let entries = []; // today's, oldest first
let editing = null; // the entry id the form is changing, or null
let fromReminder = null; // the reminder id "Log pain" was tapped on
let promptId = null; // the prompt being answered
let axis = null; // {t0, t1} of today's timeline, ms

function say(text, error = false) {
  const status = $("journal-status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

function chosenPlaces() {
  return [...document.querySelectorAll("#journal-places input:checked")].map((i) => i.value);
}

function resetForm() {
  editing = null;
  for (const box of document.querySelectorAll("#journal-places input")) box.checked = false;
  $("journal-note").value = "";
  $("journal-editing").hidden = true;
  for (const b of document.querySelectorAll("#journal-scale button")) b.removeAttribute("aria-pressed");
}

async function logPain(pain, { quick = false } = {}) {
  const body = { pain, where: chosenPlaces(), note: $("journal-note").value };
  try {
    if (editing && !quick) {
      await api.request("PATCH", `/api/journal/${editing}`, body);
      say(`Changed to pain ${pain}.`);
    } else {
      if (fromReminder) body.reminder_id = fromReminder;
      if (promptId) body.prompt_id = promptId;
      const saved = await api.request("POST", "/api/journal", quick ? { ...body, where: [], note: "" } : body);
      say(`Logged pain ${saved.pain} at ${clockTime(saved.at)}.`);
      fromReminder = null;
      promptId = null;
      $("journal-prompt").hidden = true;
    }
    resetForm();
    await refresh();
  } catch (err) {
    say(err.message, true);
  }
}

function entryItem(e) {
  const where = e.locations.map((p) => PLACES[p] || p).join(", ");
  const edit = el("button", { type: "button", class: "link", "data-testid": "journal-edit", text: "Edit" });
  const del = el("button", { type: "button", class: "link", "data-testid": "journal-delete", text: "Delete" });
  edit.addEventListener("click", () => {
    editing = e.id;
    for (const box of document.querySelectorAll("#journal-places input")) box.checked = e.locations.includes(box.value);
    $("journal-note").value = e.note;
    $("journal-editing").hidden = false;
    $("journal-editing-what").textContent = `${clockTime(e.at)}, pain ${e.pain}`;
    for (const b of document.querySelectorAll("#journal-scale button")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.pain) === e.pain));
    }
    say("Tap the new number (or the same one) to save the change.");
  });
  del.addEventListener("click", async () => {
    try {
      await api.request("DELETE", `/api/journal/${e.id}`);
      say("Entry deleted.");
      if (editing === e.id) resetForm();
      await refresh();
    } catch (err) {
      say(err.message, true);
    }
  });
  return el("li", { "data-testid": "journal-entry", "data-id": e.id },
    el("strong", { text: `${clockTime(e.at)} · pain ${e.pain}` }),
    where ? el("span", { class: "muted", text: ` ${where}` }) : null,
    e.note ? el("span", { text: ` — ${e.note}` }) : null, " ", edit, " ", del);
}

function drawEntries() {
  $("journal-list").replaceChildren(...entries.slice().reverse().map(entryItem));
  $("journal-empty").hidden = entries.length > 0;
  drawMarks();
}

// pain marks on the same time axis as today's timeline (or the whole day when nobody sat yet)
function drawMarks() {
  const strip = $("timeline-pain");
  const now = Date.now();
  const t0 = axis ? axis.t0 : new Date(new Date().setHours(0, 0, 0, 0)).getTime();
  const t1 = axis ? Math.max(axis.t1, now) : now;
  const marks = entries.map((e) => {
    const t = new Date(e.at).getTime();
    const mark = el("span", {
      class: `pain-mark ${e.pain >= 7 ? "high" : e.pain >= 4 ? "mid" : "low"}`, "data-testid": "pain-mark",
      "data-pain": e.pain, title: `${clockTime(e.at)}: pain ${e.pain}/10${e.note ? ` — ${e.note}` : ""}`,
      text: String(e.pain),
    });
    // CSSOM, not a style attribute: the page's CSP allows the one and forbids the other
    mark.style.left = `${Math.min(100, Math.max(0, ((t - t0) / Math.max(1, t1 - t0)) * 100))}%`;
    return mark;
  });
  strip.replaceChildren(...marks);
  strip.hidden = marks.length === 0;
}

function drawDays(days) {
  const box = $("journal-days");
  const W = 300;
  const H = 20;
  const rows = ROWS.map(([key, label, fmt, fixedMax]) => {
    const values = days.map((d) => d[key]);
    const max = fixedMax ?? Math.max(1e-9, ...values.filter((v) => v != null));
    const bw = W / days.length;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "days-svg", role: "img", "aria-label": label,
      preserveAspectRatio: "none" });
    days.forEach((d, i) => {
      const v = d[key];
      if (v == null || v === 0 && key !== "pain") return; // an empty day: no bar, not a 1-px line
      const h = Math.max(1, (v / max) * (H - 2));
      const bar = el("rect", { x: i * bw + 0.5, y: H - h, width: Math.max(1, bw - 1), height: h,
        class: key === "pain" ? "bar pain" : "bar", "data-day": d.date, "data-value": v });
      bar.append(el("title", { text: `${d.date}: ${fmt(v)}` }));
      svg.append(bar);
    });
    return el("div", { class: "days-row", "data-testid": `days-${key}` },
      el("span", { class: "days-label", text: label }), svg);
  });
  const logged = days.filter((d) => d.pain != null).length;
  box.replaceChildren(...rows, el("p", { class: "muted small", "data-testid": "days-note",
    text: `${days[0]?.date ?? ""} to ${days[days.length - 1]?.date ?? ""}: ${logged} days with pain logged. ` +
      "Point at a bar for the day's value." }));
}

function drawHelps(result) {
  const box = $("journal-helps");
  if (!result.ready) {
    box.replaceChildren(el("p", { class: "muted", "data-testid": "helps-waiting", text: result.message }));
    return;
  }
  const claims = result.results.filter((r) => r.claim);
  const list = claims.length
    ? el("ul", {}, ...claims.map((r) => el("li", { "data-testid": "helps-claim" },
      `${r.claim} `, el("span", { class: "muted", text: `(rho ${r.rho}, interval ${r.low} to ${r.high}, ${r.n} days)` }))))
    : el("p", { "data-testid": "helps-none",
      text: "Nothing stands out yet: no link between how you sat and the pain is clear in your journal." });
  box.replaceChildren(list, el("p", { class: "muted small", "data-testid": "helps-caution", text: result.caution }));
}

async function refresh() {
  const today = isoDay(new Date());
  try {
    entries = await api.get(`/api/journal?from=${today}&to=${today}`);
    drawEntries();
    drawDays(await api.get("/api/journal/days?days=30"));
    drawHelps(await api.get("/api/journal/associations"));
  } catch (err) {
    if (err.status === 404) {  // the journal is off
      for (const id of ["journal-card", "journal-days-card", "reminder-log-pain"]) $(id).hidden = true;
    } else say(err.message, true);
    return;
  }
  await checkPrompt();
}

// an optional prompt (journal.prompt_times, journal.prompt_after_spell_min): the daemon decides
async function checkPrompt() {
  try {
    const prompt = await api.get("/api/journal/prompt");
    if (prompt && prompt.id) {
      promptId = prompt.id;
      $("journal-prompt-text").textContent = prompt.message;
      $("journal-prompt").hidden = false;
    }
  } catch {
    // no prompts from this daemon: nothing to show
  }
}

function build() {
  // a phone shows the month folded (one tap opens it): the page stays short
  if (window.matchMedia("(max-width: 480px)").matches) $("journal-days-card").open = false;
  const scale = $("journal-scale");
  for (let p = 0; p <= 10; p += 1) {
    const b = el("button", { type: "button", class: "pain-button", "data-pain": p, "data-testid": `pain-${p}`,
      "aria-label": `Pain ${p} of 10`, text: String(p) });
    b.addEventListener("click", () => logPain(p));
    scale.append(b);
  }
  $("journal-places").append(...Object.entries(PLACES).map(([value, label]) => el("label", { class: "inline" },
    el("input", { type: "checkbox", value, "data-testid": `place-${value}` }), ` ${label}`)));
  $("journal-cancel").addEventListener("click", () => {
    resetForm();
    say("");
  });
  // the reminder banner: "Log pain" opens a 0-10 row right there; one tap on a number logs it
  const quick = $("banner-pain");
  for (let p = 0; p <= 10; p += 1) {
    const b = el("button", { type: "button", class: "pain-button small", "data-testid": `banner-pain-${p}`,
      "aria-label": `Pain ${p} of 10`, text: String(p) });
    b.addEventListener("click", async () => {
      fromReminder = $("reminder-banner").dataset.id || null;
      await logPain(p, { quick: true });
      quick.hidden = true;
      $("banner-pain-done").textContent = `Pain ${p} logged — add where or a note in the journal card.`;
      $("banner-pain-done").hidden = false;
    });
    quick.append(b);
  }
  $("reminder-log-pain").addEventListener("click", () => {
    quick.hidden = !quick.hidden;
    $("banner-pain-done").hidden = true;
  });
  document.addEventListener("sitwell:timeline", (ev) => {
    axis = ev.detail;
    drawMarks();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
}

build();
