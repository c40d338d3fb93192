// The dashboard page: wires the API and the SSE stream to the live view, the reminders,
// the history charts and the settings form. No framework; each part owns its elements.

import { Api, readToken } from "./api.js";
import { drawLegend, drawTimeline, drawWeek } from "./charts.js";
import { REMINDER_TITLES, clockTime, duration, isoDay, localMidnight, postureWords } from "./format.js";
import { Heatmap } from "./heatmap.js";
import { Settings } from "./settings.js";

const $ = (id) => document.getElementById(id);
const HISTORY_REFRESH_MS = 60_000;
const HEALTH_POLL_MS = 3_000;
const STALE_MS = 5_000;

const app = {
  api: new Api(readToken()),
  cushion: null,
  stream: null,
  heatmap: new Heatmap($("heatmap")),
  reminders: new Map(), // id -> reminder (today's, selected cushion)
  banner: null, // the reminder shown in the banner
  lastState: 0,
  healthSample: null, // {frames, at} for the frame rate
  history: { timeline: null, week: null }, // last answers, redrawn on resize
};
window.sitwell = app; // handy from the console and for tests

function showError(message) {
  const box = $("action-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function setLink(text, kind) {
  const pill = $("link-status");
  pill.textContent = text;
  pill.dataset.state = kind;
}

// ---- live state ---------------------------------------------------------------------

function renderState(s) {
  $("posture").textContent = postureWords(s.posture);
  $("posture").dataset.posture = s.posture || "";
  $("posture").dataset.cushion = s.cushion || "";

  const share = typeof s.left_share === "number" ? s.left_share : null;
  const left = $("balance-left");
  if (share === null) {
    left.style.width = "50%";
    $("balance").classList.add("idle");
    $("balance").setAttribute("aria-valuetext", "no one seated");
    $("balance-left-text").textContent = "Left –";
    $("balance-right-text").textContent = "Right –";
  } else {
    const pct = Math.round(share * 100);
    left.style.width = `${share * 100}%`;
    $("balance").classList.remove("idle");
    $("balance").classList.toggle("uneven", Math.abs(share - 0.5) >= 0.1);
    $("balance").setAttribute("aria-valuenow", String(pct));
    $("balance").setAttribute("aria-valuetext", `${pct}% left, ${100 - pct}% right`);
    $("balance-left-text").textContent = `Left ${pct}%`;
    $("balance-right-text").textContent = `Right ${100 - pct}%`;
  }

  const spell = s.spell_s || 0;
  $("spell").textContent = duration(spell);
  const limit = s.sit_limit_s || 0;
  const progress = $("spell-progress");
  progress.value = limit ? Math.min(1, spell / limit) : 0;
  progress.classList.toggle("over", limit > 0 && spell >= limit);
  $("spell-limit").textContent = limit ? `of ${Math.round(limit / 60)} min` : "";

  if ("frame" in s) {
    app.heatmap.draw(s.frame, { dim: s.occupied === false });
    $("heatmap-caption").textContent = s.frame
      ? `${s.frame.rows} × ${s.frame.cols} cells · circles: sit bones · dashed line: your midline`
      : "No frame yet.";
  }
  if (s.health) renderHealth(s.health);
  else if (typeof s.connected === "boolean") $("health-connected").textContent = s.connected ? "connected" : "disconnected";
}

function renderHealth(h) {
  $("health-connected").textContent = h.connected ? "connected" : h.error ? `disconnected: ${h.error}` : "disconnected";
  $("health").dataset.connected = String(!!h.connected);
  if (typeof h.rate_hz === "number") {
    $("health-rate").textContent = `${h.rate_hz.toFixed(1)} /s`;
  } else if (typeof h.frames === "number") {
    const now = performance.now();
    const prev = app.healthSample;
    if (prev && now - prev.at > 500 && h.frames >= prev.frames) {
      const rate = ((h.frames - prev.frames) * 1000) / (now - prev.at);
      $("health-rate").textContent = `${rate.toFixed(1)} /s`;
    }
    if (!prev || now - prev.at > 500) app.healthSample = { frames: h.frames, at: now };
  }
  const drops = h.drops && typeof h.drops === "object" ? Object.values(h.drops).reduce((a, b) => a + b, 0) : h.drops;
  $("health-drops").textContent = drops == null ? "–" : String(drops);
}

// The database in plain words: damaged at start (moved aside, rows kept), or not writing.
function renderStore(s) {
  let text = "ok";
  if (s.integrity && s.integrity.ok === false) text = s.integrity.message;
  if (!s.ok) text = `cannot write: ${s.last_error || "unknown error"}${text === "ok" ? "" : ` · ${text}`}`;
  $("health-store").textContent = text;
  $("health").dataset.store = s.ok && !(s.integrity && s.integrity.ok === false) ? "ok" : "problem";
}

async function pollHealth() {
  try {
    const body = await app.api.get("/healthz");
    const mine = (body.inputs || []).find((i) => i.cushion === app.cushion) || (body.inputs || [])[0];
    if (mine) renderHealth(mine);
    if (body.store) renderStore(body.store);
  } catch {
    /* the stream's state shows the link is down */
  }
  if (app.lastState && Date.now() - app.lastState > STALE_MS) setLink("no data", "stale");
}

// ---- reminders ----------------------------------------------------------------------

function reminderTitle(r) {
  return REMINDER_TITLES[r.kind] || "Reminder";
}

function renderReminderList() {
  const list = $("reminder-list");
  const items = [...app.reminders.values()].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  list.replaceChildren(
    ...items.map((r) => {
      const li = document.createElement("li");
      li.dataset.id = r.id;
      li.dataset.acknowledged = String(!!r.acknowledged);
      li.dataset.testid = "reminder-item";
      const when = document.createElement("time");
      when.dateTime = r.at;
      when.textContent = clockTime(r.at);
      const text = document.createElement("span");
      text.textContent = `${reminderTitle(r)} — ${r.message}`;
      li.append(when, " ", text);
      if (r.acknowledged) {
        li.append(" ", Object.assign(document.createElement("span"), { className: "done", textContent: "done" }));
      } else {
        if (r.snoozed_min) {
          li.append(" ", Object.assign(document.createElement("span"), {
            className: "muted small",
            textContent: `snoozed ${r.snoozed_min} min`,
          }));
        }
        const ack = document.createElement("button");
        ack.type = "button";
        ack.className = "small";
        ack.textContent = "Done";
        ack.setAttribute("aria-label", `Mark "${reminderTitle(r)}" at ${clockTime(r.at)} done`);
        ack.addEventListener("click", () => acknowledge(r.id));
        li.append(" ", ack);
      }
      return li;
    }),
  );
  $("reminder-empty").hidden = items.length > 0;
}

function showBanner(r) {
  app.banner = r;
  const banner = $("reminder-banner");
  if (!r) {
    banner.hidden = true;
    delete banner.dataset.id;
    return;
  }
  banner.dataset.id = r.id;
  banner.dataset.kind = r.kind;
  banner.dataset.shownAt = String(Date.now()); // wall-clock ms; tests measure the delay with it
  $("reminder-title").textContent = reminderTitle(r);
  $("reminder-message").textContent = ` ${r.message}`;
  banner.hidden = false;
}

function notify(r) {
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  try {
    const n = new Notification(`sitwell: ${reminderTitle(r)}`, { body: r.message, tag: r.id });
    n.onclick = () => window.focus();
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}

function onReminder(r) {
  if (app.cushion && r.cushion !== app.cushion) return;
  app.reminders.set(r.id, r);
  renderReminderList();
  if (!r.acknowledged) {
    showBanner(r);
    notify(r);
  }
}

function onReminderUpdate(r) {
  if (!r || !r.id) return;
  const known = app.reminders.get(r.id);
  app.reminders.set(r.id, { ...(known || {}), ...r });
  renderReminderList();
  if (app.banner && app.banner.id === r.id && (r.acknowledged || r.snoozed_min)) showBanner(null);
}

async function loadReminders() {
  const q = new URLSearchParams({ since: localMidnight().toISOString() });
  if (app.cushion) q.set("cushion", app.cushion);
  const list = await app.api.get(`/api/reminders?${q}`);
  app.reminders = new Map(list.map((r) => [r.id, r]));
  renderReminderList();
  const open = list.find((r) => !r.acknowledged && !r.snoozed_min);
  if (open && !app.banner) showBanner(open);
}

async function acknowledge(id) {
  try {
    const updated = await app.api.request("POST", `/api/reminders/${encodeURIComponent(id)}/ack`);
    showError(null);
    onReminderUpdate(updated);
    if (app.banner && app.banner.id === id) showBanner(null);
  } catch (err) {
    showError(err.status === 401 || err.status === 403 ? authMessage(err) : err.message);
  }
}

async function snooze(id, minutes) {
  try {
    const result = await app.api.request("POST", `/api/reminders/${encodeURIComponent(id)}/snooze?minutes=${minutes}`);
    showError(null);
    const r = { ...(result.reminder || {}), snoozed_min: minutes };
    onReminderUpdate(r);
    showBanner(null);
    $("settings-status").textContent = "";
  } catch (err) {
    showError(err.status === 401 || err.status === 403 ? authMessage(err) : err.message);
  }
}

function authMessage(err) {
  $("auth-note").hidden = false;
  return err.message;
}

// ---- history --------------------------------------------------------------------------

async function loadHistory() {
  const q = new URLSearchParams({ day: isoDay(new Date()) });
  if (app.cushion) q.set("cushion", app.cushion);
  const w = new URLSearchParams({ days: "7" });
  if (app.cushion) w.set("cushion", app.cushion);
  const [timeline, week] = await Promise.allSettled([
    app.api.get(`/api/timeline?${q}`),
    app.api.get(`/api/stats/daily?${w}`),
  ]);
  if (timeline.status === "fulfilled") app.history.timeline = timeline.value;
  if (week.status === "fulfilled") app.history.week = week.value;
  drawHistory();
}

// charts are drawn in CSS pixels of their box: redraw when it changes size (phone turned)
function drawHistory() {
  if (app.history.timeline) drawTimeline($("timeline"), app.history.timeline);
  if (app.history.week) drawWeek($("week-chart"), $("week-table").tBodies[0], app.history.week);
}

// ---- cushions and the stream ---------------------------------------------------------

function connect() {
  if (app.stream) app.stream.close();
  setLink("connecting…", "connecting");
  app.stream = app.api.openStream(app.cushion, {
    state: (s) => {
      if (app.cushion && s.cushion !== app.cushion) return;
      app.lastState = Date.now();
      setLink("live", "live");
      renderState(s);
    },
    reminder: onReminder,
    reminder_update: onReminderUpdate,
    health: (h) => {
      if (!h.cushion || h.cushion === app.cushion) renderHealth(h);
    },
    open: () => {
      setLink("live", "live");
      loadReminders().catch(() => {}); // catch up on anything raised while we were away
    },
    error: (readyState) => {
      setLink(readyState === EventSource.CLOSED ? "offline" : "reconnecting…", "down");
      if (readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    },
  });
}

async function loadCushions() {
  const status = await app.api.get("/api/status");
  const names = status.map((s) => s.cushion);
  const select = $("cushion-select");
  select.replaceChildren(...names.map((n) => Object.assign(document.createElement("option"), { value: n, textContent: n })));
  $("cushion-picker").hidden = names.length < 2;
  const saved = localStorage.getItem("sitwell-cushion");
  const pick = names.includes(app.cushion) ? app.cushion : names.includes(saved) ? saved : names[0] || null;
  const changed = pick !== app.cushion;
  app.cushion = pick;
  if (pick) select.value = pick;
  const current = status.find((s) => s.cushion === pick);
  if (current && !app.lastState) renderState(current); // until the stream's first state
  return changed;
}

async function selectCushion(name) {
  app.cushion = name;
  localStorage.setItem("sitwell-cushion", name);
  app.reminders.clear();
  showBanner(null);
  app.healthSample = null;
  app.heatmap.clear();
  connect();
  await Promise.allSettled([loadReminders(), loadHistory()]);
}

// ---- start ------------------------------------------------------------------------------

async function start() {
  drawLegend($("posture-legend"));
  $("reminder-ack").addEventListener("click", () => app.banner && acknowledge(app.banner.id));
  for (const b of document.querySelectorAll("[data-snooze]")) {
    b.addEventListener("click", () => app.banner && snooze(app.banner.id, Number(b.dataset.snooze)));
  }
  $("cushion-select").addEventListener("change", (e) => selectCushion(e.target.value));
  if ("Notification" in window && Notification.permission === "default") {
    const btn = $("notify-enable");
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      await Notification.requestPermission();
      btn.hidden = true;
    });
  }
  new Settings($("settings-form"), app.api, authMessage).load();

  try {
    const session = await app.api.get("/api/session");
    $("auth-note").hidden = !(session.require_token && !session.token_ok);
  } catch {
    /* an older daemon without /api/session */
  }
  try {
    await loadCushions();
  } catch (err) {
    showError(`Cannot reach the daemon: ${err.message}`);
  }
  connect();
  await Promise.allSettled([loadReminders(), loadHistory()]);
  setInterval(() => loadHistory().catch(() => {}), HISTORY_REFRESH_MS);
  pollHealth();
  setTimeout(pollHealth, 1000); // a second sample soon, for the frame rate
  setInterval(pollHealth, HEALTH_POLL_MS);
  // a cushion that appears later (MQTT) shows up in the selector
  setInterval(async () => {
    try {
      if (await loadCushions()) selectCushion(app.cushion);
    } catch {
      /* shown by the link pill */
    }
  }, 10_000);
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      app.heatmap.redraw();
      drawHistory();
    }, 150);
  });
  document.body.dataset.ready = "true";
}

start();
