// History charts as inline SVG: today's timeline and the last days' totals.

import { POSTURE_COLOURS, POSTURE_WORDS, clockTime, el, minutes, postureWords, toDate } from "./format.js";

// drawn in CSS pixels of the container so labels stay readable on a phone
const width = (container) => Math.max(300, Math.round(container.clientWidth || 1000));

function empty(container, text) {
  container.replaceChildren(el("p", { class: "muted", text }));
}

// Which postures a spell held, as [{start, end, posture}] in time order. Items carry
// either `segments` (in order) or `postures` (seconds per posture); for the latter the
// spell's bar is split in proportion, most held posture first.
function spellSegments(item, start, end) {
  if (Array.isArray(item.segments) && item.segments.length) {
    return item.segments.map((seg) => ({
      start: toDate(seg.start ?? seg.start_at) || start,
      end: toDate(seg.end ?? seg.end_at) || end,
      posture: seg.posture || "upright",
    }));
  }
  const held = Object.entries(item.postures || {}).filter(([p, s]) => p !== "empty" && s > 0);
  if (!held.length) return [{ start, end, posture: item.posture || "upright" }];
  held.sort((a, b) => b[1] - a[1]);
  const total = held.reduce((a, [, s]) => a + s, 0);
  const out = [];
  let t = start.getTime();
  for (const [posture, s] of held) {
    const next = t + ((end - start) * s) / total;
    out.push({ start: new Date(t), end: new Date(next), posture, share: s / total });
    t = next;
  }
  return out;
}

const TICK_PX = 64;
const TICK_STEPS_MIN = [15, 30, 60, 120, 180, 240, 360, 480, 720];

// items: [{type: "spell"|"break", start_at, end_at|null, seconds, postures | segments}]
export function drawTimeline(container, items, now = new Date()) {
  const W = width(container);
  const spans = [];
  for (const item of items || []) {
    const start = toDate(item.start ?? item.start_at ?? item.start_ts);
    // a spell still going ends "now": the wall clock, or further on when frame time runs
    // ahead of it (a simulation at --speed X): start plus the seconds it has lasted
    const lasted = item.seconds ?? Object.values(item.postures || {}).reduce((a, b) => a + b, 0);
    const end =
      toDate(item.end ?? item.end_at ?? item.end_ts) ||
      new Date(Math.max(now.getTime(), start ? start.getTime() + lasted * 1000 : 0));
    if (!start || end <= start) continue;
    if (item.type === "break") {
      spans.push({ start, end, kind: "break" });
      continue;
    }
    for (const seg of spellSegments(item, start, end)) {
      if (seg.end > seg.start) spans.push({ ...seg, kind: "spell", spell: [start, end] });
    }
  }
  if (!spans.length) {
    empty(container, "No sitting recorded yet today.");
    return;
  }
  const first = Math.min(...spans.map((s) => s.start.getTime()));
  const last = Math.max(now.getTime(), ...spans.map((s) => s.end.getTime()));
  // tick spacing: as many labels as fit the width (a 24-h "14:00" needs ~40 px, keep 64),
  // at most 8; the axis starts on a tick
  const MIN = 60e3;
  const fit = Math.max(2, Math.min(8, Math.floor(W / TICK_PX)));
  const step = TICK_STEPS_MIN.map((m) => m * MIN).find((st) => Math.ceil((last - first) / st) + 1 <= fit)
    || TICK_STEPS_MIN[TICK_STEPS_MIN.length - 1] * MIN;
  const t0 = new Date(Math.floor(first / step) * step);
  const t1 = new Date(Math.max(last, t0.getTime() + step));
  const span = t1 - t0;
  const x = (d) => ((d - t0) / span) * W;

  const svg = el("svg", {
    viewBox: `0 0 ${W} 70`,
    class: "timeline-svg",
    role: "img",
    "aria-label": `Sitting spells and breaks from ${clockTime(t0)} to ${clockTime(t1)}`,
  });
  svg.append(el("rect", { x: 0, y: 10, width: W, height: 30, class: "track" }));
  for (const s of spans) {
    const w = Math.max(1, x(s.end) - x(s.start));
    const label =
      s.kind === "break"
        ? `Break ${clockTime(s.start)}–${clockTime(s.end)}`
        : s.share != null
          ? `Spell ${clockTime(s.spell[0])}–${clockTime(s.spell[1])}: ${postureWords(s.posture)} ${Math.round(s.share * 100)}%`
          : `${postureWords(s.posture)} ${clockTime(s.start)}–${clockTime(s.end)}`;
    const rect =
      s.kind === "break"
        ? el("rect", { x: x(s.start), y: 20, width: w, height: 10, class: "break", "data-kind": "break" })
        : el("rect", {
            x: x(s.start),
            y: 10,
            width: w,
            height: 30,
            fill: POSTURE_COLOURS[s.posture] || POSTURE_COLOURS.upright,
            "data-kind": "spell",
            "data-posture": s.posture,
          });
    rect.append(el("title", { text: label }));
    svg.append(rect);
  }
  for (let t = t0.getTime(); t <= t1.getTime(); t += step) {
    const d = new Date(t);
    svg.append(el("line", { x1: x(d), x2: x(d), y1: 40, y2: 46, class: "tick" }));
    svg.append(el("text", { x: Math.min(W - 22, Math.max(22, x(d))), y: 62, class: "tick-label", text: clockTime(d) }));
  }
  container.replaceChildren(svg);
  // journal.js puts the day's pain marks on this same axis
  document.dispatchEvent(new CustomEvent("sitwell:timeline", { detail: { t0: t0.getTime(), t1: t1.getTime() } }));
}

export function drawLegend(list) {
  list.replaceChildren(
    ...Object.keys(POSTURE_WORDS)
      .filter((p) => p !== "empty")
      .map((p) => {
        const swatch = el("span", { class: "swatch" });
        swatch.style.background = POSTURE_COLOURS[p];
        return el("li", {}, swatch, POSTURE_WORDS[p]);
      }),
    el("li", {}, el("span", { class: "swatch break-swatch" }), "Break"),
  );
}

function num(...values) {
  for (const v of values) if (typeof v === "number" && isFinite(v)) return v;
  return null;
}

// day: {day, minutes_seated, spells, longest_spell_min | longest_spell_s, breaks,
//       posture_share: {posture: fraction}, reminders_sent, reminders_acknowledged}
export function dayFigures(day) {
  const longest = num(day.longest_spell_min, day.longest_spell_s != null ? day.longest_spell_s / 60 : null);
  return {
    day: day.day || day.date || "",
    seated: num(day.minutes_seated, day.seated_min, day.seated_s != null ? day.seated_s / 60 : null) || 0,
    longest,
    breaks: num(day.breaks) ?? 0,
    shares: day.posture_share || day.posture_shares || {},
    leftShare: num(day.mean_left_share),
    sent: num(day.reminders_sent, day.reminders) ?? 0,
    acked: num(day.reminders_acknowledged, day.reminders_acked) ?? 0,
  };
}

// "3h40" / "40m": fits above a narrow bar
function shortMinutes(m) {
  const r = Math.round(m);
  return r >= 60 ? `${Math.floor(r / 60)}h${String(r % 60).padStart(2, "0")}` : `${r}m`;
}

function dayLabel(iso) {
  const d = new Date(iso + "T12:00:00");
  return isNaN(d.getTime()) ? iso : d.toLocaleDateString([], { weekday: "short", day: "numeric" });
}

function leftRight(share) {
  if (share == null || !isFinite(share)) return "–";
  const l = Math.round(share * 100);
  return `${l} / ${100 - l}`;
}

// today: {seated, longest, sent, acked} from the live view and the reminder card, which
// replace the last row's (the store counts whole minutes, and lags the page's list)
export function drawWeek(chart, tbody, days, today = null) {
  const W = width(chart);
  const rows = (days || []).map(dayFigures);
  if (today && rows.length) {
    const last = rows[rows.length - 1];
    Object.assign(last, today, { live: true });
  }
  if (!rows.length) {
    empty(chart, "No history yet.");
    tbody.replaceChildren();
    return;
  }
  const H = 160;
  const TOP = 22; // room for the value above the tallest bar
  const max = Math.max(60, ...rows.map((r) => r.seated));
  const bw = W / rows.length;
  const svg = el("svg", { viewBox: `0 ${-TOP} ${W} ${H + 30 + TOP}`, class: "week-svg", role: "img",
    "aria-label": "Minutes seated per day" });
  rows.forEach((r, i) => {
    const h = (r.seated / max) * H;
    const bar = el("rect", { x: i * bw + bw * 0.2, y: H - h, width: bw * 0.6, height: Math.max(h, 0.5),
      class: "bar", "data-day": r.day });
    bar.append(el("title", { text: `${dayLabel(r.day)}: ${minutes(r.seated)} seated` }));
    svg.append(bar);
    svg.append(el("text", { x: i * bw + bw / 2, y: H - h - 6, class: "bar-value", text: shortMinutes(r.seated) }));
    svg.append(el("text", { x: i * bw + bw / 2, y: H + 22, class: "tick-label", text: dayLabel(r.day) }));
  });
  chart.replaceChildren(svg);

  tbody.replaceChildren(
    ...rows
      .slice()
      .reverse()
      .map((r) => {
        const shares = el("div", { class: "shares" });
        const entries = Object.entries(r.shares).filter(([p, v]) => p !== "empty" && v > 0);
        const total = entries.reduce((a, [, v]) => a + v, 0) || 1;
        for (const [p, v] of entries) {
          const part = el("span", { title: `${postureWords(p)} ${Math.round((v / total) * 100)}%` });
          part.style.width = `${(v / total) * 100}%`;
          part.style.background = POSTURE_COLOURS[p] || "#888";
          shares.append(part);
        }
        const top = entries.sort((a, b) => b[1] - a[1])[0];
        const shareText = top ? `${postureWords(top[0])} ${Math.round((top[1] / total) * 100)}%` : "–";
        return el(
          "tr",
          { "data-day": r.day, "data-live": r.live ? "true" : null },
          el("th", { scope: "row", text: r.live ? "Today" : dayLabel(r.day) }),
          el("td", { text: minutes(r.seated) }),
          el("td", { text: r.longest == null ? "–" : minutes(r.longest) }),
          el("td", { text: String(r.breaks) }),
          el("td", {}, shares, el("span", { class: "muted small", text: shareText })),
          el("td", { text: leftRight(r.leftShare) }),
          el("td", { text: r.sent ? `${r.sent}, ${r.acked} done` : "none" }),
        );
      }),
  );
}

// Left/right balance by day (a dot per day around "even", the even band shaded) and the
// weekly averages, weighted by the minutes seated: the dashboard's version of the report's.
export function drawBalance(container, summary, days, threshold = 0.1) {
  const W = width(container);
  const H = 110;
  const TOP = 8;
  const BOTTOM = 8;
  const band = typeof threshold === "number" ? threshold : 0.1;
  const rows = (days || []).map((d) => ({ day: d.date || d.day, share: num(d.mean_left_share),
    seated: num(d.minutes_seated) || 0 }));
  const known = rows.filter((r) => r.share != null);
  if (!known.length) {
    empty(container, "No left/right balance yet: it shows once you have sat for a while.");
    summary.textContent = "";
    return;
  }
  const y = (v) => TOP + ((0.75 - Math.min(0.75, Math.max(0.25, v))) / 0.5) * (H - TOP - BOTTOM);
  const slot = W / rows.length;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "balance-svg", role: "img",
    "aria-label": "Share of the load on the left, per day, over the last weeks" });
  svg.append(el("rect", { x: 0, y: y(0.5 + band), width: W, height: y(0.5 - band) - y(0.5 + band), class: "even-band" }));
  svg.append(el("line", { x1: 0, x2: W, y1: y(0.5), y2: y(0.5), class: "even-line" }));
  svg.append(el("text", { x: 4, y: y(0.75) + 10, class: "axis-note", text: "more on the left" }));
  svg.append(el("text", { x: 4, y: y(0.25) - 2, class: "axis-note", text: "more on the right" }));
  const points = [];
  rows.forEach((r, i) => {
    if (r.share == null) return;
    const cx = i * slot + slot / 2;
    points.push(`${cx.toFixed(1)},${y(r.share).toFixed(1)}`);
    const dot = el("rect", { x: cx - 3, y: y(r.share) - 3, width: 6, height: 6, class: "balance-dot", "data-day": r.day });
    dot.append(el("title", { text: `${dayLabel(r.day)}: ${leftRight(r.share)} (left / right %)` }));
    svg.append(dot);
  });
  container.replaceChildren(svg);

  const mean = (list) => {
    const w = list.filter((r) => r.share != null && r.seated > 0);
    const total = w.reduce((a, r) => a + r.seated, 0);
    return total > 0 ? w.reduce((a, r) => a + r.share * r.seated, 0) / total : null;
  };
  const weeks = [];
  for (let end = rows.length; end > 0 && weeks.length < 4; end -= 7) weeks.push(rows.slice(Math.max(0, end - 7), end));
  const names = ["this week", "the week before", "2 weeks before", "3 weeks before"];
  const parts = weeks.map((wk, i) => [names[i], mean(wk)]).filter(([, v]) => v != null)
    .map(([name, v]) => `${name} ${leftRight(v)}`);
  const all = mean(rows);
  summary.textContent = parts.length
    ? `Left / right, % of the load: ${parts.join(" · ")}${all != null ? ` · ${rows.length} days ${leftRight(all)}` : ""}. `
      + `Within ${Math.round((0.5 + band) * 100)} / ${Math.round((0.5 - band) * 100)} counts as even.`
    : "";
}
