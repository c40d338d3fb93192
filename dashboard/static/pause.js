// Reminder controls beyond the contract: timed pause (with the time left, counting down and
// resuming by itself) and the live reminder view (sit-bone dose of the spell, breaks the seat
// noticed, snoozes left, strict mode, sit-stand phase, calendar quiet), in plain words.
// Self-contained: its own small card in index.html, its own polling of /api/pause and
// /api/reminders-live (docs/api.md); it tells the rest of the page what it read with a
// "sitwell:live" event on document (the Now card's advice uses the next reminder's time).

import { Api, readToken } from "./api.js";
import { clockTime, inWords, moreMinutes } from "./format.js";

const POLL_MS = 3000;
const api = new Api(readToken());
let pause = { paused: false, remaining_s: 0, until: null };
let pauseSeen = 0; // performance.now() when `pause` was read, for the local countdown

const $ = (id) => document.getElementById(id);

function pct(x) {
  return `${Math.round(100 * x)}%`;
}

function showPause() {
  // remaining_s is on the cushion's clock, which runs `speed` times faster in a sped-up simulation
  const left = pause.paused ? pause.remaining_s - ((performance.now() - pauseSeen) / 1000) * (pause.speed || 1) : 0;
  const on = pause.paused && left > 0;
  const text = $("pause-status");
  if (on) {
    const until = pause.until ? clockTime(pause.until) : "";
    text.textContent = `Paused for ${moreMinutes(left)}${until ? ` (until ${until})` : ""}`;
  } else {
    text.textContent = "Reminders on";
  }
  text.dataset.state = on ? "paused" : "on";
  text.dataset.remainingS = String(Math.max(0, Math.round(left)));
  $("pause-resume").hidden = !on;
}

function showError(message) {
  const el = $("pause-error");
  el.textContent = message || "";
  el.hidden = !message;
}

async function refreshPause() {
  try {
    pause = await api.get("/api/pause");
    pauseSeen = performance.now();
    showPause();
  } catch (err) {
    /* the page's link status already says when the daemon is gone */
  }
}

async function setPause(spec) {
  showError("");
  try {
    pause = spec === "off"
      ? await api.request("DELETE", "/api/pause")
      : await api.request("POST", "/api/pause", { for: spec });
    pauseSeen = performance.now();
    showPause();
  } catch (err) {
    showError(err.message);
  }
}

function line(label, value, testid) {
  const div = document.createElement("div");
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = label;
  dd.textContent = value;
  if (testid) dd.dataset.testid = testid;
  div.append(dt, dd);
  return div;
}

function showLive(items) {
  const list = $("live-reminders");
  list.replaceChildren();
  for (const c of items || []) {
    const dl = document.createElement("dl");
    dl.className = "health";
    if ((items || []).length > 1) dl.append(line("Cushion", c.cushion));
    const share = c.dose && c.dose.left_dose_share;
    dl.append(line("Sit-bone load this spell",
      share == null ? "–" : `left ${pct(share)} / right ${pct(1 - share)}`, "dose-share"));
    dl.append(line("Breaks the seat noticed since sitwell started", String(c.offloads ?? 0), "offloads"));
    if (c.next_sit_too_long_s != null) {
      const due = c.next_sit_too_long_s > 0 ? `in ${inWords(c.next_sit_too_long_s)}`
        : pause.paused ? "after the pause" : "now";
      dl.append(line("Next reminder to get up", due, "next-sit"));
    }
    dl.append(line("Snoozes left", c.strict ? "none (strict mode)" : c.snoozes_left == null ? "unlimited" : String(c.snoozes_left), "snoozes-left"));
    if (c.sitstand) {
      const phase = { sit: "sitting", stand: "standing", move: "moving" }[c.sitstand.phase] || c.sitstand.phase;
      dl.append(line("Sit-stand desk", `${phase} for ${moreMinutes(c.sitstand.remaining_s)}`, "sitstand"));
    }
    if (c.calendar) {
      dl.append(line("Calendar", c.calendar.busy ? `in a meeting (${c.calendar.busy}): quiet` : c.calendar.loaded ? "free" : "not readable", "calendar"));
    }
    list.append(dl);
  }
  $("live-empty").hidden = (items || []).length > 0;
}

async function refreshLive() {
  try {
    const live = await api.get("/api/reminders-live");
    showLive(live);
    document.dispatchEvent(new CustomEvent("sitwell:live", { detail: live }));
  } catch (err) {
    /* as above */
  }
}

// Today's breaks as the seat confirmed them (/api/stats/daily, fields beyond the contract)
function showToday(day) {
  const el = $("breaks-today");
  if (!day) return;
  const off = day.offloads || {};
  const dose = day.sitbone_dose || {};
  const times = (n) => (n === 1 ? "once" : `${n} times`);
  const taken = day.breaks_taken ?? 0;
  const parts = [
    `you got up ${times(taken)} when reminded`,
    `kept sitting ${times(day.breaks_skipped ?? 0)}`,
    `snoozed ${times(day.breaks_snoozed ?? 0)}`,
    `stood up ${times(off.stood ?? 0)} and shifted your weight ${times(off.shifted ?? 0)} in all`,
  ];
  if (dose.left_share != null) parts.push(`sit bones: left ${pct(dose.left_share)}, right ${pct(1 - dose.left_share)}`);
  el.textContent = "Today " + parts.join(" · ") + ".";
}

async function refreshToday() {
  try {
    const days = await api.get("/api/stats/daily?days=1");
    showToday(days && days[days.length - 1]);
  } catch (err) {
    /* as above */
  }
}

// ---- reminder options: the rules fields of these features, through PUT /api/settings

const OPTIONS = [
  ["opt-prewarn", "prewarn", "check"],
  ["opt-prewarn-s", "prewarn_s", "number"],
  ["opt-max-snoozes", "max_snoozes", "optional-number"],
  ["opt-strict", "strict", "check"],
  ["opt-sitstand", "sitstand", "check"],
  ["opt-sit-min", "sitstand_sit_min", "number"],
  ["opt-stand-min", "sitstand_stand_min", "number"],
  ["opt-move-min", "sitstand_move_min", "number"],
  ["opt-calendar", "calendar", "optional-text"],
];

function fillOptions(rules) {
  for (const [id, key, type] of OPTIONS) {
    const el = $(id);
    if (type === "check") el.checked = !!rules[key];
    else el.value = rules[key] == null ? "" : rules[key];
  }
}

function readOptions() {
  const rules = {};
  for (const [id, key, type] of OPTIONS) {
    const el = $(id);
    if (type === "check") rules[key] = el.checked;
    else if (type === "number") rules[key] = el.value === "" ? undefined : Number(el.value);
    else if (type === "optional-number") rules[key] = el.value === "" ? null : Number(el.value);
    else rules[key] = el.value.trim() === "" ? null : el.value.trim();
  }
  return rules;
}

async function loadOptions() {
  try {
    fillOptions(((await api.get("/api/settings")) || {}).rules || {});
  } catch (err) {
    /* as above */
  }
}

async function saveOptions(event) {
  event.preventDefault();
  const status = $("options-status");
  status.textContent = "Saving…";
  try {
    const saved = await api.request("PUT", "/api/settings", { rules: readOptions() });
    fillOptions(saved.rules || {});
    status.textContent = "Saved";
    refreshLive();
  } catch (err) {
    status.textContent = err.message;
  }
}

function start() {
  if (!$("pause-card")) return;
  // on a phone the details of the breaks start folded: the first screen is for how you sit
  if (window.matchMedia("(max-width: 40rem)").matches) $("break-details").open = false;
  $("options-form").addEventListener("submit", saveOptions);
  $("reminder-options").addEventListener("toggle", () => { if ($("reminder-options").open) loadOptions(); });
  loadOptions();
  for (const button of document.querySelectorAll("[data-pause]")) {
    button.addEventListener("click", () => setPause(button.dataset.pause));
  }
  $("pause-resume").addEventListener("click", () => setPause("off"));
  refreshPause();
  refreshLive();
  refreshToday();
  setInterval(() => { refreshPause(); refreshLive(); }, POLL_MS);
  setInterval(refreshToday, 10 * POLL_MS);
  setInterval(showPause, 1000);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
