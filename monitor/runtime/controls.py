"""The daemon's controls for the reminder features beyond the contract (docs/reminders.md):
timed pause and the live view of pause, snoozes left, sit-bone dose, sit-stand phase and
calendar quiet. `ReminderControls` is given the cushions, the store and the time scale it
works on; the runtime service (monitor/runtime/service.py) answers the dashboard with it.

A pause is kept per cushion in its tracker (frame time, so it survives a restart in the
tracker snapshot) and, for cushions that have not sent a frame yet, as a wall time that is
applied when they do. Like a snooze, a pause runs on frame time: at `--speed X` it lasts X
times less wall time.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from monitor.runtime.slots import Cushions
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker

log = logging.getLogger(__name__)

PAUSE_CHOICES = ("30m", "1h", "2h", "tomorrow", "off")
MAX_PAUSE_MIN = 24 * 60
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?)?\s*$", re.I)


def parse_pause(spec: str | float | int | None) -> float | str | None:
    """"30m" / "1h" / "2h" / "90" (minutes) -> minutes; "tomorrow" -> "tomorrow"; "off"/None/0 -> None.

    Raises ValueError with a message for the user."""
    if spec is None:
        return None
    if isinstance(spec, (int, float)):
        minutes = float(spec)
    else:
        text = spec.strip().lower()
        if text in ("off", "resume", "stop", ""):
            return None
        if text in ("tomorrow", "until-tomorrow", "until tomorrow"):
            return "tomorrow"
        m = _SPEC.match(text)
        if not m:
            raise ValueError(f"{spec!r} is not a pause: use 30m, 1h, 2h, tomorrow or off")
        minutes = float(m.group(1)) * (60.0 if (m.group(2) or "m").startswith("h") else 1.0)
    if not 0 <= minutes <= MAX_PAUSE_MIN:
        raise ValueError(f"a pause lasts 0 to {MAX_PAUSE_MIN} minutes (or 'tomorrow'), not {spec!r}")
    return minutes or None


class ReminderControls:
    """Pause, and the live reminder view, over the daemon's cushions.

    `time_scale` is frame seconds per wall second (the simulation's speed, else 1)."""

    def __init__(self, cushions: Cushions, store: Store, time_scale: float = 1.0) -> None:
        self.cushions = cushions
        self.store = store
        self.time_scale = time_scale
        self._pending_pause: datetime | None = None  # wall time, for cushions not seen yet

    def pause(self, spec: str | float | None) -> dict[str, Any]:
        what = parse_pause(spec)
        now = datetime.now().astimezone()
        scale = self.time_scale
        if what is None:
            self._pending_pause = None
        elif what == "tomorrow":
            self._pending_pause = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            self._pending_pause = now + timedelta(minutes=float(what) / scale)
        for slot in self.cushions.values():
            tracker = slot.engine.tracker
            if what is None:
                tracker.pause(0)
            elif what == "tomorrow":
                tracker.pause_until_tomorrow()
            else:
                tracker.pause(float(what))
        log.info("reminders %s", "resumed" if what is None else f"paused ({spec})")
        return self.pause_status()

    def apply_pending_pause(self, tracker: CushionTracker, t: float) -> None:
        """A cushion seen for the first time (its first frame at frame time `t`) joins a running pause."""
        until = self._pending_pause
        if until is None:
            return
        remaining = (until - datetime.now().astimezone()).total_seconds()
        if remaining > 0:
            tracker.pause(until_t=t + remaining * self.time_scale)
        else:
            self._pending_pause = None

    def pause_status(self) -> dict[str, Any]:
        per = {c: s.engine.tracker.pause_status() for c, s in self.cushions.items()}
        running = [p for p in per.values() if p["paused"]]
        if not per and self._pending_pause is not None:
            remaining = (self._pending_pause - datetime.now().astimezone()).total_seconds()
            if remaining > 0:
                return {"paused": True, "until": self._pending_pause.isoformat(), "remaining_s": round(remaining, 1),
                        "cushions": {}}
        if not running:
            return {"paused": False, "until": None, "remaining_s": 0.0, "cushions": per}
        longest = max(running, key=lambda p: p["remaining_s"])
        # frame time runs `scale` times faster than the wall clock with a sped-up simulation
        left = longest["remaining_s"] / self.time_scale
        until = datetime.now().astimezone() + timedelta(seconds=left)
        return {"paused": True, "until": until.isoformat(timespec="seconds"), "remaining_s": round(left, 1),
                "cushions": per}

    def reminder_extras(self) -> list[dict[str, Any]]:
        """Per cushion: pause, snoozes left, strict mode, sit-bone dose, sit-stand phase, calendar."""
        out = []
        scale = self.time_scale
        for slot in self.cushions.values():
            try:
                extras = slot.engine.tracker.extras()
                # times left are frame seconds; the page shows wall seconds
                if extras.get("next_sit_too_long_s") is not None:
                    extras["next_sit_too_long_s"] = round(extras["next_sit_too_long_s"] / scale, 1)
                if extras.get("sitstand"):
                    extras["sitstand"]["remaining_s"] = round(extras["sitstand"]["remaining_s"] / scale, 1)
                extras["pause"] = {**extras["pause"], "remaining_s": round(extras["pause"]["remaining_s"] / scale, 1)}
                out.append(extras)
            except Exception:  # a view must not break the dashboard
                log.exception("cushion %s: reminder extras failed", slot.cushion)
        return sorted(out, key=lambda e: e["cushion"])

    def offloads(self, day: str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """A day's breaks confirmed by the seat: credited offloads with quality and length."""
        return self.store.offloads(day=day, cushion=cushion)
