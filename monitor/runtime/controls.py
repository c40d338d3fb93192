"""The daemon's controls for the reminder features beyond the contract (docs/reminders.md):
timed pause and the live view of pause, snoozes left, sit-bone dose, sit-stand phase and
calendar quiet. `ReminderControls` is given the cushions, the store and the time scale it
works on; the runtime service (monitor/runtime/service.py) answers the dashboard with it.

One clock for everything a person sees: the cushion's clock, wall time of frame time 0 plus
frame time (`tracker.wall`). With real input it is the wall clock; with the simulation at
`--speed X` it is the simulated clock, which starts at the wall time of the first frame and
runs X times faster. Reminders are stamped on it, a pause ends on it ("until"), and every
"seconds left" here is in its seconds, so a 30-minute pause shows 30 minutes left beside a
spell timer counting the same minutes (`speed` says how fast it runs against the wall).

A pause is kept per cushion in its tracker (frame time, so it survives a restart in the
tracker snapshot) and, for cushions that have not sent a frame yet, as the request and
when it was made, applied when they do.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from monitor.config.parse import MAX_PAUSE_MIN, parse_pause
from monitor.runtime.slots import Cushions
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker

log = logging.getLogger(__name__)

# one reader of pause durations for the CLI, the API and the daemon (monitor/config/parse.py)
__all__ = ["MAX_PAUSE_MIN", "ReminderControls", "parse_pause"]


def _next_midnight(local: datetime) -> datetime:
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class ReminderControls:
    """Pause, and the live reminder view, over the daemon's cushions.

    `time_scale` is frame seconds per wall second (the simulation's speed, else 1)."""

    def __init__(self, cushions: Cushions, store: Store, time_scale: float = 1.0) -> None:
        self.cushions = cushions
        self.store = store
        self.time_scale = time_scale
        # (time.time() of the request, minutes or "tomorrow"), for cushions not seen yet
        self._pending_pause: tuple[float, float | str] | None = None

    def pause(self, spec: str | float | None) -> dict[str, Any]:
        what = parse_pause(spec)
        self._pending_pause = None if what is None else (time.time(), what)
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

    def _pending_left(self) -> tuple[datetime, float] | None:
        """A pause asked for before any cushion spoke: (until, clock seconds left), or None."""
        if self._pending_pause is None:
            return None
        asked, what = self._pending_pause
        now = datetime.now().astimezone()
        if what == "tomorrow":
            until = _next_midnight(now)
            left = (until - now).total_seconds()
        else:
            # the clock runs `time_scale` times faster than the wall since the request
            left = float(what) * 60.0 - (time.time() - asked) * self.time_scale
            until = now + timedelta(seconds=max(left, 0.0))
        if left <= 0:
            self._pending_pause = None
            return None
        return until, left

    def apply_pending_pause(self, tracker: CushionTracker, t: float) -> None:
        """A cushion seen for the first time (its first frame at frame time `t`) joins a running pause."""
        if self._pending_pause is None:
            return
        if self._pending_pause[1] == "tomorrow":
            local = tracker.wall(t).astimezone()
            tracker.pause(until_t=t + (_next_midnight(local) - local).total_seconds())
            return
        pending = self._pending_left()
        if pending is not None:
            tracker.pause(until_t=t + pending[1])

    def pause_status(self) -> dict[str, Any]:
        per = {c: s.engine.tracker.pause_status() for c, s in self.cushions.items()}
        speed = self.time_scale
        running = [p for p in per.values() if p["paused"]]
        if not per:
            pending = self._pending_left()
            if pending is not None:
                until, left = pending
                return {"paused": True, "until": until.isoformat(timespec="seconds"), "remaining_s": round(left, 1),
                        "speed": speed, "cushions": {}}
        if not running:
            return {"paused": False, "until": None, "remaining_s": 0.0, "speed": speed, "cushions": per}
        longest = max(running, key=lambda p: p["remaining_s"])
        until = datetime.fromisoformat(longest["until"])  # the cushion's clock (module doc)
        return {"paused": True, "until": until.isoformat(timespec="seconds"), "remaining_s": longest["remaining_s"],
                "speed": speed, "cushions": per}

    def clock(self) -> dict[str, Any]:
        """The one clock (module doc): {"speed": X, "simulated": bool, "now": ISO time on it}."""
        speed = self.time_scale
        now = datetime.now().astimezone()
        if speed != 1.0:
            seen = [s.engine.tracker for s in self.cushions.values() if s.engine.tracker.last_t is not None]
            if seen:
                now = max(tr.wall(tr.last_t or 0.0) for tr in seen)
        return {"speed": speed, "simulated": speed != 1.0, "now": now.isoformat(timespec="seconds")}

    def reminder_extras(self) -> list[dict[str, Any]]:
        """Per cushion: pause, snoozes left, strict mode, sit-bone dose, sit-stand phase, calendar.
        Every "seconds left" is in the cushion's clock seconds (module doc)."""
        out = []
        for slot in self.cushions.values():
            try:
                out.append(slot.engine.tracker.extras())
            except Exception:  # a view must not break the dashboard
                log.exception("cushion %s: reminder extras failed", slot.cushion)
        return sorted(out, key=lambda e: e["cushion"])

    def offloads(self, day: str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """A day's breaks confirmed by the seat: credited offloads with quality and length."""
        return self.store.offloads(day=day, cushion=cushion)
