"""The daemon's controls for the reminder features beyond the contract (docs/reminders.md):
timed pause and the live view of pause, snoozes left, sit-bone dose, sit-stand phase and
calendar quiet. A mixin of `monitor.daemon.Daemon`, kept here so the daemon stays small.

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
    """Mixin for the Daemon: needs `self.slots`, `self.config`, `self._time_scale()`."""

    _pending_pause: datetime | None = None  # wall time, for cushions not seen yet

    def pause(self, spec: str | float | None) -> dict[str, Any]:
        what = parse_pause(spec)
        now = datetime.now().astimezone()
        scale = self._time_scale()  # type: ignore[attr-defined]
        if what is None:
            self._pending_pause = None
        elif what == "tomorrow":
            self._pending_pause = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            self._pending_pause = now + timedelta(minutes=float(what) / scale)
        for slot in list(self.slots.values()):  # type: ignore[attr-defined]
            tracker = slot.engine.tracker
            if what is None:
                tracker.pause(0)
            elif what == "tomorrow":
                tracker.pause_until_tomorrow()
            else:
                tracker.pause(float(what))
        log.info("reminders %s", "resumed" if what is None else f"paused ({spec})")
        return self.pause_status()

    def apply_pending_pause(self, tracker: Any, t: float) -> None:
        """A cushion seen for the first time (its first frame at frame time `t`) joins a running pause."""
        until = self._pending_pause
        if until is None:
            return
        remaining = (until - datetime.now().astimezone()).total_seconds()
        if remaining > 0:
            tracker.pause(until_t=t + remaining * self._time_scale())  # type: ignore[attr-defined]
        else:
            self._pending_pause = None

    def pause_status(self) -> dict[str, Any]:
        per = {c: s.engine.tracker.pause_status() for c, s in list(self.slots.items())}  # type: ignore[attr-defined]
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
        left = longest["remaining_s"] / self._time_scale()  # type: ignore[attr-defined]
        until = datetime.now().astimezone() + timedelta(seconds=left)
        return {"paused": True, "until": until.isoformat(timespec="seconds"), "remaining_s": round(left, 1),
                "cushions": per}

    def reminder_extras(self) -> list[dict[str, Any]]:
        """Per cushion: pause, snoozes left, strict mode, sit-bone dose, sit-stand phase, calendar."""
        out = []
        scale = self._time_scale()  # type: ignore[attr-defined]
        for slot in list(self.slots.values()):  # type: ignore[attr-defined]
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
        return self.store.offloads(day=day, cushion=cushion)  # type: ignore[attr-defined]
