"""The dashboard's live feed (Server-Sent Events): a sink that fans events out to subscribers.

Each open page holds one bounded asyncio queue (`subscribe()`). Reminders go out with the
step that raised them; a cushion's state event goes out at most every STATE_EVENT_INTERVAL_S
(at once on a change of posture or occupancy), after the run of steps it ends, so it shows
the freshest frame. A slow page loses state events, never reminders. The body of a state event
is the runtime's view of the cushion (`state_event(cushion)`, monitor/runtime/service.py).
Runs on the daemon's event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from monitor.sinks.base import CushionStep

STATE_EVENT_INTERVAL_S = 0.25  # wall time between SSE state events per cushion
SUBSCRIBER_QUEUE = 256

Event = tuple[str, dict[str, Any]]


class _Shown:
    """What a cushion's last state event showed, and when."""

    __slots__ = ("wall", "posture", "occupied")

    def __init__(self) -> None:
        self.wall = 0.0
        self.posture: str | None = None
        self.occupied: bool | None = None


class SseBroadcaster:
    name = "sse"

    def __init__(self, state_event: Callable[[str], dict[str, Any] | None]) -> None:
        self._state_event = state_event
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._shown: dict[str, _Shown] = {}
        self._pending: dict[str, None] = {}  # cushions with steps not shown yet, in order
        self.sent: dict[str, int] = {"state": 0, "reminder": 0, "reminder_update": 0}

    # ---- Sink ---------------------------------------------------------------------
    def handle(self, step: CushionStep) -> None:
        for reminder in step.reminders:
            self.publish("reminder", reminder.as_json())
        state = step.state
        shown = self._shown.get(step.cushion)
        if shown is None:
            shown = self._shown[step.cushion] = _Shown()
        if state.posture != shown.posture or state.occupied != shown.occupied:
            shown.posture, shown.occupied = state.posture, state.occupied
            shown.wall = 0.0  # show the change at once
        self._pending[step.cushion] = None

    def tick(self) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        for cushion in list(self._pending):
            shown = self._shown[cushion]
            if now - shown.wall < STATE_EVENT_INTERVAL_S:
                continue
            shown.wall = now
            del self._pending[cushion]
            event = self._state_event(cushion)
            if event is not None:
                self.publish("state", event)

    def close(self) -> None:
        self._pending.clear()

    def health(self) -> dict[str, Any]:
        return {"subscribers": len(self._subscribers), "sent": dict(self.sent)}

    # ---- subscribers --------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[Event]:
        """A new page: its queue starts with the latest state of every cushion seen."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(q)
        for cushion in list(self._shown):
            event = self._state_event(cushion)
            if event is not None:
                q.put_nowait(("state", event))
        return q

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """One event to every page ("state", "reminder", "reminder_update")."""
        self.sent[kind] = self.sent.get(kind, 0) + 1
        for q in list(self._subscribers):
            if q.full():
                if kind == "state":
                    continue  # a slow page skips states, never reminders
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait((kind, payload))
