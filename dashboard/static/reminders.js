// Today's reminders: the banner (the newest one whose reason still holds), the list grouped by
// kind (the latest few of each shown, the rest folded away), "All done", and the kind words
// when a reminder's reason has ended by itself (resolve.js decides that from the live state).

import { REMINDER_TITLES, clockTime, el, localMidnight } from "./format.js";
import { RESOLVED_SHORT, THANKS, resolution } from "./resolve.js";

// the latest ones of a kind in view (one on a phone); older ones behind "N earlier"
const NARROW = window.matchMedia("(max-width: 40rem)");
const shownPerKind = () => (NARROW.matches ? 1 : 2);
const KIND_ORDER = ["sit_too_long", "sit_warning", "stand_up", "may_sit", "slouching", "crossed_legs", "uneven_load"];
const THANKS_MS = 8000; // how long the banner says "Thanks — …" before it goes
// A new reminder waits for the first live state at or after its frame time, so it is never
// shown beside an older state that would contradict it; at most this long.
const WAIT_FOR_STATE_MS = 800;

const $ = (id) => document.getElementById(id);

export function reminderTitle(r) {
  return REMINDER_TITLES[r.kind] || "Reminder";
}

// acknowledged > resolved > snoozed > open: one word per reminder, the list and counts use it
export function reminderStatus(r, resolved) {
  if (r.acknowledged) return "done";
  if (resolved.has(r.id)) return "resolved";
  if (r.snoozed_min) return "snoozed";
  return "open";
}

export class Reminders {
  constructor(api, { onError, onAuthError, onChange }) {
    this.api = api;
    this.onError = onError;
    this.onAuthError = onAuthError;
    this.onChange = onChange || (() => {});
    this.items = new Map(); // id -> reminder (today's, the selected cushion)
    this.resolved = new Map(); // id -> key of THANKS, remembered once seen
    this.cushion = null;
    this.state = null; // the latest live state
    this.rules = {};
    this.banner = null; // the reminder in the banner
    this.thanksTimer = 0;
    this.pending = new Map(); // id -> timer: new reminders waiting for a fresh state
    this.renderTimer = 0;
    this.thanked = null; // the reminder the banner is thanking for
    NARROW.addEventListener("change", () => this.render());
    $("reminder-ack").addEventListener("click", () => this.banner && this.acknowledge(this.banner.id));
    for (const b of document.querySelectorAll("[data-snooze]")) {
      b.addEventListener("click", () => this.banner && this.snooze(this.banner.id, Number(b.dataset.snooze)));
    }
    $("ack-all").addEventListener("click", () => this.acknowledgeAll());
  }

  clear(cushion) {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.cushion = cushion;
    this.items.clear();
    this.resolved.clear();
    this.state = null;
    this.showBanner(null);
    this.render();
  }

  list() {
    return [...this.items.values()].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  }

  // {total, done, resolved, snoozed, open}: the card's line and today's table row use these
  counts() {
    const c = { total: 0, done: 0, resolved: 0, snoozed: 0, open: 0 };
    for (const r of this.items.values()) {
      c.total += 1;
      c[reminderStatus(r, this.resolved)] += 1;
    }
    return c;
  }

  // ---- the live state decides which reminders are over --------------------------------

  onState(s) {
    this.state = s;
    for (const [id, timer] of [...this.pending]) {
      const r = this.items.get(id);
      if (r && typeof s.t === "number" && typeof r.t === "number" && s.t + 0.001 < r.t) continue;
      clearTimeout(timer);
      this.pending.delete(id);
      if (r) this.arrived(r);
    }
    // a thank-you stays true: it goes when the reason is back (sat down again in the same
    // spell, slumped again) and follows it on ("you got up", then "you took a break")
    if (this.thanked && $("reminder-banner").dataset.state === "resolved") {
      const why = resolution(this.thanked, s, this.rules);
      if (!why) this.endThanks();
      else $("reminder-title").textContent = THANKS[why];
    }
    let changed = false;
    for (const r of this.items.values()) {
      if (r.acknowledged || this.resolved.has(r.id)) continue;
      const why = resolution(r, s, this.rules);
      if (why) {
        this.resolved.set(r.id, why);
        changed = true;
      }
    }
    if (!changed) return;
    if (this.banner && this.resolved.has(this.banner.id)) this.thank(this.banner, this.resolved.get(this.banner.id));
    this.render();
  }

  // the newest reminder still open (not done, snoozed or resolved) goes in the banner
  pickBanner() {
    const open = this.list().find((r) => !this.pending.has(r.id) && reminderStatus(r, this.resolved) === "open");
    if (open) this.showBanner(open);
    else if (this.banner) this.showBanner(null);
  }

  // a reminder from the stream: listed at once, judged and shown with the state that follows it
  onReminder(r) {
    if (this.cushion && r.cushion !== this.cushion) return;
    this.items.set(r.id, r);
    const fresh = this.state && typeof this.state.t === "number" && typeof r.t === "number" && this.state.t >= r.t;
    if (fresh) {
      this.arrived(r);
      return;
    }
    this.pending.set(r.id, setTimeout(() => {
      this.pending.delete(r.id);
      this.arrived(r);
    }, WAIT_FOR_STATE_MS));
    this.render();
  }

  arrived(r) {
    const why = this.state ? resolution(r, this.state, this.rules) : null;
    if (why) this.resolved.set(r.id, why);
    if (reminderStatus(this.items.get(r.id) || r, this.resolved) === "open") {
      this.showBanner(r);
      this.notify(r);
    }
    this.render();
  }

  onUpdate(r) {
    if (!r || !r.id) return;
    const known = this.items.get(r.id);
    if (!known && this.cushion && r.cushion !== this.cushion) return;
    this.items.set(r.id, { ...(known || {}), ...r });
    if (this.banner && this.banner.id === r.id && (r.acknowledged || r.snoozed_min)) this.showBanner(null);
    this.render();
  }

  async load() {
    const q = new URLSearchParams({ since: localMidnight().toISOString() });
    if (this.cushion) q.set("cushion", this.cushion);
    const list = await this.api.get(`/api/reminders?${q}`);
    this.items = new Map(list.map((r) => [r.id, r]));
    if (this.state) this.onState(this.state);
    this.render();
  }

  // ---- actions ---------------------------------------------------------------------------

  failed(err) {
    if (err.status === 401 || err.status === 403) this.onAuthError(err);
    this.onError(err.message);
  }

  async acknowledge(id) {
    try {
      const updated = await this.api.request("POST", `/api/reminders/${encodeURIComponent(id)}/ack`);
      this.onError(null);
      this.onUpdate(updated);
      if (this.banner && this.banner.id === id) this.showBanner(null);
    } catch (err) {
      this.failed(err);
    }
  }

  async snooze(id, minutes) {
    try {
      const result = await this.api.request("POST", `/api/reminders/${encodeURIComponent(id)}/snooze?minutes=${minutes}`);
      this.onError(null);
      this.onUpdate({ ...(result.reminder || {}), snoozed_min: minutes });
      this.showBanner(null);
    } catch (err) {
      this.failed(err);
    }
  }

  async acknowledgeAll() {
    const q = new URLSearchParams({ since: localMidnight().toISOString() });
    if (this.cushion) q.set("cushion", this.cushion);
    try {
      // the ids shown as well: the daemon's listing stops at its newest 500
      const ids = [...this.items.values()].filter((r) => !r.acknowledged).map((r) => r.id);
      const result = await this.api.request("POST", `/api/reminders/ack-all?${q}`, { ids });
      this.onError(null);
      for (const id of result.acknowledged || []) {
        const r = this.items.get(id);
        if (r) this.items.set(id, { ...r, acknowledged: true });
      }
      this.showBanner(null);
      this.render();
    } catch (err) {
      this.failed(err);
    }
  }

  // ---- the banner --------------------------------------------------------------------------

  showBanner(r) {
    clearTimeout(this.thanksTimer);
    this.thanked = null;
    this.banner = r;
    const banner = $("reminder-banner");
    if (!r) {
      banner.hidden = true;
      delete banner.dataset.id;
      delete banner.dataset.state;
      return;
    }
    banner.dataset.id = r.id;
    banner.dataset.kind = r.kind;
    banner.dataset.state = "open";
    banner.dataset.shownAt = String(Date.now()); // wall-clock ms; tests measure the delay with it
    $("reminder-title").textContent = reminderTitle(r);
    $("reminder-message").textContent = ` ${r.message}`;
    $("reminder-actions").hidden = false;
    banner.hidden = false;
  }

  // the banner's reminder is over: say so kindly, then make room for the next open one
  thank(r, why) {
    const banner = $("reminder-banner");
    this.banner = null;
    this.thanked = r;
    banner.dataset.state = "resolved";
    $("reminder-title").textContent = THANKS[why] || "Thanks";
    $("reminder-message").textContent = "";
    $("reminder-actions").hidden = true;
    banner.hidden = false;
    clearTimeout(this.thanksTimer);
    this.thanksTimer = setTimeout(() => this.endThanks(), THANKS_MS);
  }

  endThanks() {
    clearTimeout(this.thanksTimer);
    this.thanked = null;
    const banner = $("reminder-banner");
    if (banner.dataset.state !== "resolved") return;
    banner.hidden = true;
    delete banner.dataset.state;
    delete banner.dataset.id;
    this.pickBanner();
  }

  notify(r) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    try {
      const n = new Notification(`sitwell: ${reminderTitle(r)}`, { body: r.message, tag: r.id });
      n.onclick = () => window.focus();
    } catch {
      /* some browsers only allow notifications from a service worker */
    }
  }

  // ---- the list ------------------------------------------------------------------------------

  entry(r) {
    const status = reminderStatus(r, this.resolved);
    const li = el("li", { "data-id": r.id, "data-acknowledged": String(!!r.acknowledged), "data-status": status,
      "data-testid": "reminder-item" });
    li.append(el("time", { datetime: r.at, text: clockTime(r.at) }), " ");
    if (status === "done") li.append(el("span", { class: "done", text: "✓ done" }));
    else if (status === "resolved") {
      // the words go in their own span: a phone's one-line row shows the tick alone
      const why = RESOLVED_SHORT[this.resolved.get(r.id)] || "over";
      li.append(el("span", { class: "done", title: why }, "✓ ", el("span", { class: "why", text: why })));
    } else if (status === "snoozed") li.append(el("span", { class: "muted", text: `snoozed ${r.snoozed_min} min` }));
    else {
      const ack = el("button", { type: "button", class: "small", text: "Done",
        "aria-label": `Mark "${reminderTitle(r)}" at ${clockTime(r.at)} done` });
      ack.addEventListener("click", () => this.acknowledge(r.id));
      li.append(ack);
    }
    return li;
  }

  group(kind, items) {
    const open = items.filter((r) => reminderStatus(r, this.resolved) === "open").length;
    const head = el("div", { class: "group-head" },
      el("strong", { text: reminderTitle(items[0]) }),
      el("span", { class: "muted", text: ` ${items.length}×${open ? ` · ${open} open` : ""}` }));
    const latest = el("p", { class: "muted small group-message", text: items[0].message });
    const few = shownPerKind();
    const shown = el("ul", { class: "entries" }, ...items.slice(0, few).map((r) => this.entry(r)));
    const box = el("li", { class: "group", "data-kind": kind, "data-testid": "reminder-group" }, head, latest, shown);
    const rest = items.slice(few);
    if (rest.length) {
      const more = el("details", { class: "earlier", "data-testid": "reminder-earlier" },
        el("summary", { text: `${rest.length} earlier` }),
        el("ul", { class: "entries" }, ...rest.map((r) => this.entry(r))));
      box.append(more);
    }
    return box;
  }

  // many events in a row (an "All done" of a busy day sends one per reminder) draw once
  render() {
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = 0;
      this.renderNow();
    }, 0);
  }

  renderNow() {
    const items = this.list();
    const byKind = new Map();
    for (const r of items) {
      if (!byKind.has(r.kind)) byKind.set(r.kind, []);
      byKind.get(r.kind).push(r);
    }
    // open detail boxes stay open across redraws
    const opened = new Set([...document.querySelectorAll("#reminder-list details[open]")].map(
      (d) => d.closest(".group").dataset.kind));
    // a fixed order of kinds, so the boxes do not jump about as reminders come
    const rank = (kind) => { const i = KIND_ORDER.indexOf(kind); return i < 0 ? KIND_ORDER.length : i; };
    const groups = [...byKind.entries()].sort((a, b) => rank(a[0]) - rank(b[0]))
      .map(([kind, list]) => this.group(kind, list));
    for (const g of groups) if (opened.has(g.dataset.kind)) g.querySelector("details").open = true;
    $("reminder-list").replaceChildren(...groups);
    $("reminder-empty").hidden = items.length > 0;
    const c = this.counts();
    const parts = [`${c.total} today`];
    if (c.done) parts.push(`${c.done} marked done`);
    if (c.resolved) parts.push(`${c.resolved} followed`);
    if (c.snoozed) parts.push(`${c.snoozed} snoozed`);
    parts.push(c.open ? `${c.open} open` : "none open");
    $("reminder-counts").textContent = c.total ? parts.join(" · ") : "";
    $("ack-all").hidden = c.total - c.done === 0;
    if (!this.banner && $("reminder-banner").dataset.state !== "resolved") this.pickBanner();
    else if (this.banner && reminderStatus(this.items.get(this.banner.id) || this.banner, this.resolved) !== "open") {
      this.pickBanner();
    }
    this.onChange(c);
  }
}
