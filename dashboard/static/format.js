// Words, colours and number formats shared by the page's modules.

export const POSTURE_WORDS = {
  empty: "Seat empty",
  upright: "Sitting upright",
  lean_left: "Leaning left",
  lean_right: "Leaning right",
  cross_left: "Left leg crossed",
  cross_right: "Right leg crossed",
  slouch: "Slouching",
  forward: "Perched forward",
};

// distinguishable in light and dark themes; "upright" is the one good colour
export const POSTURE_COLOURS = {
  upright: "#2e9d5b",
  lean_left: "#e0a100",
  lean_right: "#c46f00",
  cross_left: "#9a6ee0",
  cross_right: "#6a3fb5",
  slouch: "#d64545",
  forward: "#2f7fd1",
  empty: "#9aa3ad",
};

export const REMINDER_TITLES = {
  sit_too_long: "Time to get up",
  uneven_load: "Sit evenly",
  crossed_legs: "Uncross your legs",
  slouching: "Sit up",
  // beyond the contract (docs/reminders.md), each off by default
  sit_warning: "Get up soon",
  stand_up: "Time to stand",
  may_sit: "You may sit",
};

export function postureWords(name) {
  return POSTURE_WORDS[name] || (name ? String(name).replace(/_/g, " ") : "—");
}

export function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// a span of time in words for people: "under a minute", "5 min", "1 h 20 min"
export function inWords(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  if (seconds < 60) return "under a minute";
  return minutes(seconds / 60);
}

// "Paused for 29 more minutes", "… for 2 more hours", "… for 3 h 20 min more"
export function moreMinutes(seconds) {
  const m = Math.max(1, Math.ceil(seconds / 60));
  if (m === 1) return "1 more minute";
  if (m <= 90) return `${m} more minutes`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min more` : `${h} more hours`;
}

export function minutes(value) {
  if (value == null || !isFinite(value)) return "–";
  const m = Math.round(value);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

// ISO string or epoch seconds -> Date (null when absent or unreadable)
export function toDate(value) {
  if (value == null) return null;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(d.getTime()) ? null : d;
}

// 24-hour "14:05": short, the same in every locale, and never "02:00 PM02:00 PM" on a phone
export function clockTime(value) {
  const d = toDate(value);
  return d ? `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}` : "";
}

export function localMidnight(now = new Date()) {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// document.createElement with attributes and children, for the few nodes built in JS
export function el(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "line", "text", "title", "g"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}
