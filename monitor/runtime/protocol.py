"""What the dashboard (and other front ends) may ask of the running daemon.

The daemon implements this protocol; `dashboard.app.create_app(runtime)` only talks to it,
so the web layer never reaches into transports, analysis or the store directly.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol


class Runtime(Protocol):
    def status(self) -> list[dict[str, Any]]:
        """CONTRACT section 8 /api/status entries, one per known cushion."""

    def health(self) -> dict[str, Any]:
        """/healthz body: {"status": "ok", "inputs": [...per input health...]}."""

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

    def subscribe(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        """A bounded queue of ("state"|"reminder"|"reminder_update"|"health", payload) events.

        Slow consumers lose the oldest state events, never reminders."""

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None: ...
