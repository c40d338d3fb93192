// Set-up notices: a cushion mounted or wired wrong, a full scale that does not fit the readings.
// Self-contained: its own line under the header, its own polling of /api/notices (and a refresh
// on the stream's `notice` events is not needed: the poll is cheap). A mounting notice has an
// "Apply" button that sends the suggested setting (POST /api/cushions/{id}/mounting, with the
// token like every other change).

import { Api, readToken } from "./api.js";

const POLL_MS = 4000;
const api = new Api(readToken());
const $ = (id) => document.getElementById(id);

function render(list) {
  const box = $("setup-notices");
  box.replaceChildren();
  for (const n of list) {
    const p = document.createElement("p");
    p.className = `note ${n.level === "warning" ? "warn" : ""}`;
    p.dataset.testid = "setup-notice";
    p.dataset.kind = n.kind;
    p.dataset.cushion = n.cushion || "";
    const text = document.createElement("span");
    text.textContent = n.message + (n.fix ? ` — ${n.fix}` : "");
    p.append(text);
    if (n.apply) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = "Apply";
      b.dataset.testid = "notice-apply";
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          await api.request("POST", `/api/cushions/${encodeURIComponent(n.cushion)}/mounting`, n.apply);
          text.textContent = `Applied to ${n.cushion}: the cushion is read the right way round from now on.`;
          p.className = "note";
          b.remove();
        } catch (err) {
          text.textContent = `Could not apply: ${err.message}`;
          b.disabled = false;
        }
      });
      p.append(" ", b);
    }
    box.append(p);
  }
  box.hidden = list.length === 0;
}

async function poll() {
  try {
    render(await api.get("/api/notices"));
  } catch {
    // the connection pill already says when the daemon is away
  }
}

poll();
setInterval(poll, POLL_MS);
