// Whether a reminder's reason has ended, judged from the live state beside it, so the banner
// never says "Time to get up" beside "Seat empty" or "Sit up" beside "Sitting upright".
//
// The rule mirrors the daemon's own conditions (monitor/tracker/tracker.py `_update_timers`):
// - every kind: a new sitting spell began after it (the spell now is shorter than the one
//   the reminder was raised in, or started later in frame time): a break was taken;
// - get-up kinds (sit_too_long, sit_warning, stand_up): the seat is empty (not occupied, or
//   the posture already reads "empty" while the occupancy waits out its few seconds);
// - may_sit: someone sits;
// - slouching: the posture is not "slouch"; crossed_legs: no crossed leg;
// - uneven_load: not leaning and the left share within `uneven_threshold` of even.
// A resolved reminder stays resolved (the page remembers it); the daemon repeats the
// get-up reminder on its own when the person keeps sitting.

const GET_UP = new Set(["sit_too_long", "sit_warning", "stand_up"]);
const SAME_SPELL_SLACK_S = 2; // rounding of spell_s and t in the JSON

export const THANKS = {
  break: "Thanks — you took a break",
  got_up: "Thanks — you got up",
  sat_up: "Thanks — you are sitting up again",
  uncrossed: "Thanks — legs uncrossed",
  even: "Thanks — your weight is even again",
  sat_down: "You sat down",
};

// the few words shown beside a resolved reminder in the list
export const RESOLVED_SHORT = {
  break: "you took a break",
  got_up: "you got up",
  sat_up: "you sat up",
  uncrossed: "you uncrossed your legs",
  even: "you evened out",
  sat_down: "you sat down",
};

// what the page shows: "Seat empty" as soon as either says so
const seated = (s) => !!s.occupied && s.posture !== "empty";

function newSpellSince(r, s) {
  if (!seated(s) || typeof s.spell_s !== "number" || typeof r.spell_s !== "number") return false;
  if (s.spell_s + SAME_SPELL_SLACK_S < r.spell_s) return true; // spells only grow: this is a later one
  if (typeof s.t === "number" && typeof r.t === "number" && s.t >= r.t) {
    return s.t - s.spell_s > r.t - r.spell_s + SAME_SPELL_SLACK_S;
  }
  return false;
}

// -> null (the reason still holds, or cannot be judged) or a key of THANKS
export function resolution(r, s, rules = {}) {
  if (!r || !s || (s.cushion && r.cushion && s.cushion !== r.cushion)) return null;
  if (r.kind === "may_sit") return seated(s) ? "sat_down" : null;
  if (GET_UP.has(r.kind)) {
    if (!seated(s)) return "got_up";
    return newSpellSince(r, s) ? "break" : null;
  }
  if (!seated(s)) return "got_up"; // an empty seat holds no posture
  if (newSpellSince(r, s)) return "break";
  const posture = s.posture || "";
  if (r.kind === "slouching") return posture !== "slouch" ? "sat_up" : null;
  if (r.kind === "crossed_legs") return posture.startsWith("cross") ? null : "uncrossed";
  if (r.kind === "uneven_load") {
    const threshold = typeof rules.uneven_threshold === "number" ? rules.uneven_threshold : 0.1;
    const share = typeof s.left_share === "number" ? s.left_share : null;
    const leaning = posture.startsWith("lean");
    const offCentre = share !== null && Math.abs(share - 0.5) >= threshold - 1e-9;
    return posture.startsWith("cross") || (!leaning && !offCentre) ? "even" : null;
  }
  return null;
}
