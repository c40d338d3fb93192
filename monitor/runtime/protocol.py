"""What the dashboard (and other front ends) may ask of the running daemon.

The daemon's `runtime` (monitor/runtime/service.py) implements this protocol;
`dashboard.app.create_app(runtime)` only talks to it, so the web layer never reaches into
transports, analysis or the store directly. Every method the dashboard calls is here.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol


class Runtime(Protocol):
    def status(self) -> list[dict[str, Any]]:
        """CONTRACT section 8 /api/status entries, one per known cushion."""

    def health(self, cushion: str | None = None) -> dict[str, Any]:
        """/healthz body: {"status": "ok", "inputs": [...per input health...], "inputs_total": n};
        with `cushion`, `inputs` holds only that cushion's entry."""

    def reminders(self, since: datetime | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """Reminder objects (CONTRACT section 6), newest first."""

    def acknowledge(self, reminder_id: str) -> dict[str, Any] | None:
        """Mark one acknowledged; the updated reminder, or None if unknown."""

    def snooze(self, reminder_id: str, minutes: float) -> dict[str, Any] | None:
        """Snooze that reminder's kind on its cushion; {"reminder":…, "until_t":…} or None if unknown."""

    def daily_stats(self, days: int, cushion: str | None = None) -> list[dict[str, Any]]:
        """Per-day statistics, oldest first (see docs/api.md)."""

    def timeline(self, cushion: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
        """Today's (or `day`'s) spells and breaks with posture segments."""

    def latest_frame(self, cushion: str) -> dict[str, Any] | None:
        """The latest calibrated frame and features for the heatmap, or None."""

    def settings(self) -> dict[str, Any]:
        """The user-editable settings (rules and analysis sections)."""

    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply without a restart; raises ValueError with a user message."""

    def pause(self, spec: str | float | None) -> dict[str, Any]:
        """Pause every reminder ("30m", "1h", "2h", "tomorrow", minutes; "off"/None resumes);
        the pause status after it. Raises ValueError with a user message for a bad spec."""

    def pause_status(self) -> dict[str, Any]:
        """{"paused", "until" (ISO wall time or None), "remaining_s" (wall), "cushions": {...}}."""

    def reminder_extras(self) -> list[dict[str, Any]]:
        """Per cushion: pause, snoozes left, strict mode, sit-bone dose, sit-stand phase, calendar."""

    def offloads(self, day: str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """A day's breaks confirmed by the seat (credited offloads), oldest first."""

    def notices(self) -> list[dict[str, Any]]:
        """Set-up notices: a cushion mounted or wired wrong, a full scale that does not fit."""

    def set_mounting(self, cushion: str, mounting: dict[str, Any]) -> dict[str, Any]:
        """Set how one cushion lies and is wired; raises ValueError with a user message."""

    def subscribe(self, cushion: str | None = None) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        """A bounded queue of ("state"|"reminder"|"reminder_update"|"notice"|"health", payload) events.

        `cushion`: state events (each with its heatmap) of that cushion only, and none built
        for a cushion no page watches; None: every cushion's. Slow consumers lose the oldest
        state events, never reminders."""

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None: ...

    def fleet_snapshot(self) -> dict[str, Any]:
        """The fleet overview: {"seq", "interval_s", "max_rows", "fields", "rows": [[cushion,
        occupied, posture, spell_s, open_reminders], ...]} (monitor/sinks/fleet.py)."""

    def fleet_subscribe(self) -> asyncio.Queue[tuple[str, str]]:
        """A bounded queue of ("fleet", batch JSON text) and ("resync", "") events."""

    def fleet_unsubscribe(self, queue: asyncio.Queue[tuple[str, str]]) -> None: ...
