// The dashboard page: wires the API and the SSE stream to the live view, the reminders
// (reminders.js), the history charts and the settings form. No framework; each part owns
// its elements.

import { Api, readToken } from "./api.js";
import { drawBalance, drawLegend, drawTimeline, drawWeek } from "./charts.js";
import { duration, inWords, isoDay, postureWords } from "./format.js";
import { Heatmap } from "./heatmap.js";
import { Reminders, reminderTitle } from "./reminders.js";
import { Settings } from "./settings.js";

const $ = (id) => document.getElementById(id);
const HISTORY_REFRESH_MS = 60_000;
const HISTORY_SOON_MS = 2_000; // after a reminder or a change of seat: reload the history soon
const TODAY_ROW_MS = 1_000; // today's row follows the live spell this often
const HEALTH_POLL_MS = 3_000;
const STALE_MS = 5_000;
const BALANCE_DAYS = 28;

const POSTURE_ADVICE = {
  slouch: "Sit up: let the backrest carry you.",
  lean_left: "Sit evenly: both sit bones, feet flat.",
  lean_right: "Sit evenly: both sit bones, feet flat.",
  cross_left: "Uncross your legs.",
  cross_right: "Uncross your legs.",
  forward: "Sit back into the chair now and then.",
};

const app = {
  api: new Api(readToken()),
  cushion: null,
  stream: null,
  heatmap: new Heatmap($("heatmap")),
  reminders: null,
  live: null, // the latest state event
  extras: null, // the latest /api/reminders-live entry (pause.js sends it)
  lastState: 0,
  healthSample: null, // {frames, at} for the frame rate
  history: { timeline: null, days: null, spellAtLoad: null },
  historyTimer: 0,
  todayDrawn: 0,
  weekTimer: 0,
};
window.sitwell = app; // handy from the console and for tests

function showError(message) {
  const box = $("action-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function authMessage(err) {
  $("auth-note").hidden = false;
  return err.message;
}

function setLink(text, kind) {
  const pill = $("link-status");
  pill.textContent = text;
  pill.dataset.state = kind;
}

// ---- live state ---------------------------------------------------------------------

function renderBalance(s) {
  const share = typeof s.left_share === "number" ? s.left_share : null;
  const left = $("balance-left");
  if (share === null) {
    left.style.width = "50%";
    $("balance").classList.add("idle");
    $("balance").setAttribute("aria-valuetext", "no one seated");
    $("balance-left-text").textContent = "Left –";
    $("balance-right-text").textContent = "Right –";
    return;
  }
  const pct = Math.round(share * 100);
  left.style.width = `${share * 100}%`;
  $("balance").classList.remove("idle");
  $("balance").classList.toggle("uneven", Math.abs(share - 0.5) >= 0.1);
  $("balance").setAttribute("aria-valuenow", String(pct));
  $("balance").setAttribute("aria-valuetext", `${pct}% left, ${100 - pct}% right`);
  $("balance-left-text").textContent = `Left ${pct}%`;
  $("balance-right-text").textContent = `Right ${100 - pct}%`;
}

// one line that tells what to do now, from the same facts the page shows beside it
function renderAdvice() {
  const s = app.live;
  const box = $("advice");
  let text = "Waiting for the cushion…";
  let kind = "idle";
  const open = app.reminders && app.reminders.banner;
  if (s && (!s.occupied || s.posture === "empty")) {
    text = "Enjoy the break.";
    kind = "good";
  } else if (s) {
    const limit = s.sit_limit_s || 0;
    const next = app.extras && app.extras.next_sit_too_long_s;
    if (open) {
      text = `${reminderTitle(open)}.`;
      kind = "act";
    } else if (limit && s.spell_s >= limit && !(typeof next === "number" && next > 0)) {
      text = `Time to get up: you have sat ${inWords(s.spell_s)}.`;
      kind = "act";
    } else if (POSTURE_ADVICE[s.posture]) {
      text = POSTURE_ADVICE[s.posture];
      kind = "act";
    } else {
      // before the limit the first reminder is due at the limit (later if snoozed or paused,
      // which the polled live view knows); after it, the live view's repeat time
      const untilLimit = limit ? limit - s.spell_s : null;
      const left = untilLimit != null && untilLimit > 0
        ? Math.max(untilLimit, typeof next === "number" ? next : 0)
        : typeof next === "number" ? next : null;
      text = left == null ? "All good." : left > 0 ? `All good. Next reminder to get up in ${inWords(left)}.` : "All good.";
      if (app.extras && app.extras.pause && app.extras.pause.paused) text = "All good. Reminders are paused.";
      kind = "good";
    }
  }
  box.textContent = text;
  box.dataset.kind = kind;
}

function renderState(s) {
  const wasOccupied = app.live ? app.live.occupied : null;
  app.live = s;
  $("posture").textContent = postureWords(s.posture);
  $("posture").dataset.posture = s.posture || "";
  $("posture").dataset.cushion = s.cushion || "";
  renderBalance(s);

  // an empty seat: the spell goes on only until the break counts, so it is not "sitting for"
  const spell = s.spell_s || 0;
  const away = !s.occupied || s.posture === "empty";
  $("spell-label").textContent = away ? (spell ? "Up after sitting" : "Sitting for") : "Sitting for";
  $("spell").textContent = duration(spell);
  $("spell").dataset.seconds = String(spell);
  const limit = s.sit_limit_s || 0;
  const progress = $("spell-progress");
  progress.hidden = away;
  progress.value = limit ? Math.min(1, spell / limit) : 0;
  progress.classList.toggle("over", limit > 0 && spell >= limit);
  $("spell-limit").textContent = limit && !away ? `of ${Math.round(limit / 60)} min` : "";

  if ("frame" in s) {
    app.heatmap.draw(s.frame, { dim: s.occupied === false });
    $("heatmap-caption").textContent = s.frame
      ? `${s.frame.rows} × ${s.frame.cols} cells · circles: sit bones · dashed line: your midline`
      : "No frame yet.";
  }
  if (s.health) renderHealth(s.health);
  else if (typeof s.connected === "boolean") $("health-connected").textContent = s.connected ? "connected" : "disconnected";
  app.reminders.onState(s);
  renderAdvice();
  if (wasOccupied !== null && wasOccupied !== s.occupied) historySoon();
  weekCardSoon();
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
  if (h.flow) renderFlow(h.flow);
}

// Frames received, analysed, shed (the daemon thinned them) and lost in transit (seq gaps), with why.
function renderFlow(f) {
  let text = `${f.analysed} of ${f.received}`;
  if (f.shed) text += ` · ${f.shed} shed`;
  if (f.lost_in_transit) text += ` · ${f.lost_in_transit} lost in transit`;
  $("health-flow").textContent = text;
  $("health-flow").title = f.reason || "every frame received was analysed";
  $("health").dataset.flow = f.shed || f.lost_in_transit ? "lossy" : "ok";
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
    // only this cushion's entry: the whole list is O(cushions) and polled every few seconds
    const body = await app.api.get(app.cushion ? `/healthz?cushion=${encodeURIComponent(app.cushion)}` : "/healthz");
    const mine = (body.inputs || []).find((i) => i.cushion === app.cushion) || (body.inputs || [])[0];
    if (mine) renderHealth(mine);
    if (body.store) renderStore(body.store);
  } catch {
    /* the stream's state shows the link is down */
  }
  if (app.lastState && Date.now() - app.lastState > STALE_MS) setLink("no data", "stale");
}

// ---- history --------------------------------------------------------------------------

async function loadRules() {
  try {
    app.reminders.rules = ((await app.api.get("/api/settings")) || {}).rules || {};
  } catch {
    /* the defaults of resolve.js apply */
  }
}

async function loadHistory() {
  const q = new URLSearchParams({ day: isoDay(new Date()) });
  if (app.cushion) q.set("cushion", app.cushion);
  const w = new URLSearchParams({ days: String(BALANCE_DAYS) });
  if (app.cushion) w.set("cushion", app.cushion);
  const spellNow = app.live && app.live.occupied ? app.live.spell_s : null;
  const [timeline, days] = await Promise.allSettled([
    app.api.get(`/api/timeline?${q}`),
    app.api.get(`/api/stats/daily?${w}`),
  ]);
  if (timeline.status === "fulfilled") app.history.timeline = timeline.value;
  if (days.status === "fulfilled") {
    app.history.days = days.value;
    app.history.spellAtLoad = spellNow;
  }
  drawHistory();
}

function historySoon() {
  clearTimeout(app.historyTimer);
  app.historyTimer = setTimeout(() => loadHistory().catch(() => {}), HISTORY_SOON_MS);
}

// Today's row tells the same story as the live view and the reminder card: the spell running
// now is counted (the store writes whole minutes), and the reminders are the ones listed.
function todayFigures() {
  const days = app.history.days;
  if (!days || !days.length) return null;
  const last = days[days.length - 1];
  if ((last.date || last.day) !== isoDay(new Date())) return null;
  const s = app.live;
  const spellMin = s && s.occupied ? Math.floor((s.spell_s || 0) / 60) : 0;
  const atLoad = app.history.spellAtLoad;
  const grown = s && s.occupied && atLoad != null && s.spell_s >= atLoad ? (s.spell_s - atLoad) / 60 : 0;
  const c = app.reminders.counts();
  return {
    seated: Math.max((last.minutes_seated || 0) + grown, spellMin),
    longest: Math.max(last.longest_spell_min || 0, spellMin),
    sent: c.total,
    acked: c.done,
  };
}

// at most one redraw of the week card a second, the last change always drawn
function weekCardSoon() {
  if (app.weekTimer || !app.history.days) return;
  const wait = Math.max(0, TODAY_ROW_MS - (Date.now() - app.todayDrawn));
  app.weekTimer = setTimeout(() => {
    app.weekTimer = 0;
    drawWeekCard();
  }, wait);
}

function drawWeekCard() {
  const days = app.history.days;
  if (!days) return;
  app.todayDrawn = Date.now();
  drawWeek($("week-chart"), $("week-table").tBodies[0], days.slice(-7), todayFigures());
  const row = document.querySelector("#week-table tr[data-live=true]");
  if (row && app.live) row.dataset.spellS = String(app.live.occupied ? app.live.spell_s : 0); // what it counted
  drawBalance($("balance-history"), $("balance-weeks"), days, app.reminders.rules.uneven_threshold);
  scrollHint();
}

// charts are drawn in CSS pixels of their box: redraw when it changes size (phone turned)
function drawHistory() {
  if (app.history.timeline) drawTimeline($("timeline"), app.history.timeline);
  drawWeekCard();
}

// the 7-day table scrolls sideways on a phone: a shadow and a line say so, until the end
function scrollHint() {
  const wrap = $("week-table-wrap");
  const more = wrap.scrollWidth - wrap.clientWidth - wrap.scrollLeft > 2;
  wrap.dataset.more = String(more);
  $("week-scroll-hint").hidden = !more;
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
    reminder: (r) => {
      app.reminders.onReminder(r);
      renderAdvice();
      historySoon();
    },
    reminder_update: (r) => {
      app.reminders.onUpdate(r);
      renderAdvice();
      historySoon();
    },
    health: (h) => {
      if (!h.cushion || h.cushion === app.cushion) renderHealth(h);
    },
    open: () => {
      setLink("live", "live");
      app.reminders.load().catch(() => {}); // catch up on anything raised while we were away
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
  $("fleet-link").hidden = names.length < 2;
  const saved = localStorage.getItem("sitwell-cushion");
  const pick = names.includes(app.cushion) ? app.cushion : names.includes(saved) ? saved : names[0] || null;
  const changed = pick !== app.cushion;
  app.cushion = pick;
  app.reminders.cushion = pick;
  if (pick) select.value = pick;
  const current = status.find((s) => s.cushion === pick);
  if (current && !app.lastState) renderState(current); // until the stream's first state
  return changed;
}

async function selectCushion(name) {
  app.cushion = name;
  localStorage.setItem("sitwell-cushion", name);
  app.reminders.clear(name);
  app.live = null;
  app.healthSample = null;
  app.heatmap.clear();
  connect();
  await Promise.allSettled([app.reminders.load(), loadHistory()]);
}

// ---- start ------------------------------------------------------------------------------

// a tile of the fleet overview opens /?cushion=ID: that cushion, remembered as the choice
function cushionFromAddress() {
  const wanted = new URLSearchParams(location.search).get("cushion");
  if (!wanted || !/^[A-Za-z0-9_-]{1,64}$/.test(wanted)) return;
  app.cushion = wanted;
  localStorage.setItem("sitwell-cushion", wanted);
}

async function start() {
  cushionFromAddress();
  app.reminders = new Reminders(app.api, {
    onError: showError,
    onAuthError: authMessage,
    onChange: (c) => {
      renderAdvice();
      // today's reminders cell follows the list at once (the rest of the row once a second)
      const cell = document.querySelector("#week-table tr[data-live=true] td:last-child");
      if (cell) cell.textContent = c.total ? `${c.total}, ${c.done} done` : "none";
      weekCardSoon();
    },
  });
  drawLegend($("posture-legend"));
  $("cushion-select").addEventListener("change", (e) => selectCushion(e.target.value));
  $("week-table-wrap").addEventListener("scroll", scrollHint, { passive: true });
  document.addEventListener("sitwell:live", (e) => {
    const mine = (e.detail || []).find((c) => c.cushion === app.cushion) || (e.detail || [])[0];
    app.extras = mine || null;
    renderAdvice();
  });
  if ("Notification" in window && Notification.permission === "default") {
    const btn = $("notify-enable");
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      await Notification.requestPermission();
      btn.hidden = true;
    });
  }
  new Settings($("settings-form"), app.api, authMessage, loadRules).load();

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
  await loadRules();
  await Promise.allSettled([app.reminders.load(), loadHistory()]);
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
