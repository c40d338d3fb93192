// "That's not what I'm doing": under the posture on the live card, the user picks the right
// posture; it is stored, counted and can be undone, and it tunes that sitter's thresholds
// (POST /api/cushions/{id}/corrections, POST /api/corrections/{id}/undo). Self-contained:
// it reads the cushion and the posture shown from #posture's data attributes (app.js).

import { Api, readToken } from "./api.js";
import { POSTURE_WORDS } from "./format.js";

const api = new Api(readToken());
const $ = (id) => document.getElementById(id);
// every seated posture, in the words the rest of the page uses
const WORDS = Object.fromEntries(Object.entries(POSTURE_WORDS).filter(([name]) => name !== "empty"));
let lastId = null;

function shown() {
  const p = $("posture");
  return { cushion: p.dataset.cushion || "", posture: p.dataset.posture || "" };
}

function say(summary, text) {
  const n = summary.count;
  $("correct-status").textContent = `${text} ${n} correction${n === 1 ? "" : "s"} so far for this cushion.`;
  const newest = (summary.corrections || []).find((c) => !c.undone);
  lastId = newest ? newest.id : null;
  $("correct-undo").hidden = !lastId;
}

function renderChoices() {
  const box = $("correct-choices");
  const now = shown();
  const seated = now.posture && now.posture !== "empty";
  box.replaceChildren();
  if (!seated) {
    box.textContent = "Sit down first: there is no posture to correct.";
    return;
  }
  for (const [name, words] of Object.entries(WORDS)) {
    if (name === now.posture) continue;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary small";
    b.textContent = words;
    b.dataset.testid = `correct-${name}`;
    b.addEventListener("click", async () => {
      try {
        const out = await api.request("POST", `/api/cushions/${encodeURIComponent(now.cushion)}/corrections`, { posture: name });
        say(out, `Thanks: ${words}, noted.`);
      } catch (err) {
        $("correct-status").textContent = `Not saved: ${err.message}`;
      }
    });
    box.append(b);
  }
}

$("correct-box").addEventListener("toggle", async () => {
  if (!$("correct-box").open) return;
  renderChoices();
  const { cushion } = shown();
  if (!cushion) return;
  try {
    say(await api.get(`/api/cushions/${encodeURIComponent(cushion)}/corrections`), "");
  } catch {
    // nothing to show yet
  }
});

$("correct-undo").addEventListener("click", async () => {
  if (!lastId) return;
  try {
    say(await api.request("POST", `/api/corrections/${lastId}/undo`), "Undone.");
  } catch (err) {
    $("correct-status").textContent = `Not undone: ${err.message}`;
  }
});
