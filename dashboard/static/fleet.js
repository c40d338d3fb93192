// The fleet overview: a tile per cushion (occupied, posture, spell time, open reminders),
// filtered and sorted in the page. The snapshot (/api/fleet) draws every tile once; the
// stream (/api/fleet/stream) then sends only the rows that changed, in batches of at most
// `max_rows` every `interval_s` (monitor/sinks/fleet.py). Tiles are keyed by cushion id and
// updated in place: a batch touches only its own tiles; the grid is re-ordered only when the
// filter or sort changes, or (sorting by a live value) at most every RESORT_MS.

import { Api, readToken } from "./api.js";
import { postureWords } from "./format.js";

const $ = (id) => document.getElementById(id);
const RESORT_MS = 2_000;
const PREFS_KEY = "sitwell-fleet";

const fleet = {
  api: new Api(readToken()),
  tiles: new Map(), // cushion -> {el, row}
  seq: -1, // the last batch applied (the snapshot's or a stream batch's)
  buffered: null, // batches that came while a snapshot was loading
  stream: null,
  resortTimer: 0,
  lastFilterMs: null, // how long the last filter/sort took (tests and curious people)
};
window.sitwellFleet = fleet;

function setLink(text, kind) {
  const pill = $("link-status");
  pill.textContent = text;
  pill.dataset.state = kind;
}

function spellWords(row) {
  const s = row.spell_s;
  if (!s) return row.occupied ? "just sat down" : "no spell";
  const m = Math.floor(s / 60);
  const text = m < 1 ? "under a minute" : m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
  return row.occupied ? `sitting ${text}` : `up · sat ${text}`;
}

function makeTile(cushion) {
  const el = document.createElement("a");
  el.className = "tile";
  el.href = `/?cushion=${encodeURIComponent(cushion)}`;
  el.dataset.cushion = cushion;
  el.setAttribute("data-testid", "fleet-tile");
  const dot = document.createElement("span");
  dot.className = "tile-dot";
  const id = document.createElement("span");
  id.className = "tile-id";
  id.textContent = cushion;
  const badge = document.createElement("span");
  badge.className = "tile-badge";
  const posture = document.createElement("span");
  posture.className = "tile-posture";
  const spell = document.createElement("span");
  spell.className = "tile-spell";
  el.append(dot, id, badge, posture, spell);
  return { el, row: null, badge, posture, spell };
}

// one row [cushion, occupied, posture, spell_s, open_reminders] into its tile; true if new
function applyRow(r) {
  const row = { cushion: r[0], occupied: r[1] === 1, posture: r[2], spell_s: r[3], open: r[4] };
  let tile = fleet.tiles.get(row.cushion);
  const added = !tile;
  if (added) {
    tile = makeTile(row.cushion);
    fleet.tiles.set(row.cushion, tile);
  }
  const old = tile.row;
  tile.row = row;
  const el = tile.el;
  if (!old || old.occupied !== row.occupied) el.dataset.occupied = row.occupied ? "1" : "0";
  if (!old || old.posture !== row.posture) {
    el.dataset.posture = row.posture;
    tile.posture.textContent = postureWords(row.occupied ? row.posture : "empty");
  }
  if (!old || old.open !== row.open) {
    el.dataset.reminders = String(row.open);
    tile.badge.textContent = String(row.open);
    tile.badge.title = `${row.open} open reminder${row.open === 1 ? "" : "s"}`;
  }
  el.dataset.spell = String(row.spell_s);
  const words = spellWords(row);
  if (tile.spell.textContent !== words) tile.spell.textContent = words;
  el.setAttribute("aria-label", `${row.cushion}: ${tile.posture.textContent}, ${words}, ${row.open} open reminders`);
  return added;
}

// ---- filter and sort -------------------------------------------------------------------

function prefs() {
  return {
    text: $("fleet-filter").value.trim().toLowerCase(),
    occupied: $("fleet-occupied").checked,
    reminders: $("fleet-reminders").checked,
    sort: $("fleet-sort").value,
  };
}

function matches(row, p) {
  if (p.occupied && !row.occupied) return false;
  if (p.reminders && !row.open) return false;
  return !p.text || row.cushion.toLowerCase().includes(p.text);
}

const byId = (a, b) => (a.row.cushion < b.row.cushion ? -1 : a.row.cushion > b.row.cushion ? 1 : 0);
const SORTS = {
  id: byId,
  spell: (a, b) => b.row.spell_s - a.row.spell_s || byId(a, b),
  reminders: (a, b) => b.row.open - a.row.open || b.row.spell_s - a.row.spell_s || byId(a, b),
};

// the whole grid in the chosen order: only the matching tiles are in the document
function render() {
  const started = performance.now();
  const p = prefs();
  const shown = [];
  for (const tile of fleet.tiles.values()) if (matches(tile.row, p)) shown.push(tile);
  shown.sort(SORTS[p.sort] || byId);
  $("fleet-grid").replaceChildren(...shown.map((t) => t.el));
  $("fleet-count").textContent = `${shown.length} of ${fleet.tiles.size} cushions`;
  $("fleet-count").dataset.shown = String(shown.length);
  $("fleet-empty").hidden = shown.length > 0 || fleet.tiles.size === 0;
  fleet.lastFilterMs = performance.now() - started;
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

function savePrefs() {
  const p = prefs();
  localStorage.setItem(PREFS_KEY, JSON.stringify({ occupied: p.occupied, reminders: p.reminders, sort: p.sort }));
}

function loadPrefs() {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) || "{}");
    $("fleet-occupied").checked = !!p.occupied;
    $("fleet-reminders").checked = !!p.reminders;
    if (SORTS[p.sort]) $("fleet-sort").value = p.sort;
  } catch {
    /* defaults */
  }
}

// ---- snapshot and stream -------------------------------------------------------------

function applyBatch(batch) {
  if (batch.seq <= fleet.seq) return; // already in the snapshot
  fleet.seq = batch.seq;
  const p = prefs();
  let reorder = false;
  for (const r of batch.rows) {
    const tile = fleet.tiles.get(r[0]);
    const wasShown = tile ? matches(tile.row, p) : false;
    if (applyRow(r)) reorder = true; // a new cushion
    else if (wasShown !== matches(fleet.tiles.get(r[0]).row, p)) reorder = true; // in or out of the filter
  }
  if (reorder) render();
  else if (p.sort !== "id") resortSoon();
}

function resortSoon() {
  if (fleet.resortTimer) return;
  fleet.resortTimer = setTimeout(() => {
    fleet.resortTimer = 0;
    render();
  }, RESORT_MS);
}

// One snapshot load at a time: a `resync` can come while the load of a (re)connection is still
// in flight, and two loads side by side left the second with no buffer (a TypeError before it
// drew the grid, so tiles changed by its rows stayed shown under a filter they no longer
// matched). A load asked for meanwhile runs once more after the current one.
let loading = null;
let loadAgain = false;

function loadSnapshot() {
  if (loading) {
    loadAgain = true;
    return loading;
  }
  loading = (async () => {
    do {
      loadAgain = false;
      await loadSnapshotOnce();
    } while (loadAgain);
  })().finally(() => {
    loading = null;
  });
  return loading;
}
fleet.loadSnapshot = loadSnapshot;

async function loadSnapshotOnce() {
  fleet.buffered = fleet.buffered || [];
  try {
    const snap = await fleet.api.get("/api/fleet");
    fleet.seq = -1;
    // cushions the daemon forgot (silent past mqtt.cushion_expiry_s) are not in the snapshot
    const present = new Set(snap.rows.map((r) => r[0]));
    for (const cushion of [...fleet.tiles.keys()]) if (!present.has(cushion)) fleet.tiles.delete(cushion);
    for (const r of snap.rows) applyRow(r);
    fleet.seq = snap.seq;
    fleet.interval = snap.interval_s;
    $("fleet-error").hidden = true;
  } catch (err) {
    $("fleet-error").textContent = `Cannot reach the daemon: ${err.message}`;
    $("fleet-error").hidden = false;
  }
  const waiting = fleet.buffered;
  fleet.buffered = null;
  for (const b of waiting) applyBatch(b);
  render();
}

function connect() {
  const q = new URLSearchParams();
  if (fleet.api.token) q.set("token", fleet.api.token);
  const source = new EventSource("/api/fleet/stream" + (q.toString() ? `?${q}` : ""));
  fleet.stream = source;
  source.addEventListener("fleet", (ev) => {
    let batch;
    try {
      batch = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (fleet.buffered) fleet.buffered.push(batch);
    else applyBatch(batch);
  });
  source.addEventListener("resync", () => loadSnapshot());
  // every (re)connection may have missed batches: take a fresh snapshot under the stream
  source.onopen = () => {
    setLink("live", "live");
    loadSnapshot().then(() => {
      document.body.dataset.ready = "true";
    });
  };
  source.onerror = () => setLink(source.readyState === EventSource.CLOSED ? "offline" : "reconnecting…", "down");
}

function start() {
  loadPrefs();
  const form = $("fleet-controls");
  form.addEventListener("submit", (e) => e.preventDefault());
  $("fleet-filter").addEventListener("input", render);
  for (const id of ["fleet-occupied", "fleet-reminders", "fleet-sort"]) {
    $(id).addEventListener("change", () => {
      savePrefs();
      render();
    });
  }
  connect();
}

start();
