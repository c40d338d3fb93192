"""The dashboard's live feed (Server-Sent Events): a sink that fans events out to subscribers.

Each open page holds one bounded asyncio queue (`subscribe()`). Reminders go out with the
step that raised them; a cushion's state event goes out at most every STATE_EVENT_INTERVAL_S
(at once on a change of posture or occupancy), after the run of steps it ends, so it shows
the freshest frame. A slow page loses state events, never reminders. The body of a state event
is the runtime's view of the cushion (`state_event(cushion)`, monitor/runtime/service.py),
heatmap included, so it is built only for a cushion some page watches: a page subscribes to
one cushion (`subscribe(cushion)`) or to all (`subscribe()`); with 1,000 cushions and one
page open on one of them, one cushion's state events are built and sent, not 1,000
(`skipped` counts the others; the fleet overview has its own compact feed, fleet.py).
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
        self._subscribers: dict[asyncio.Queue[Event], str | None] = {}  # queue -> its cushion (None: all)
        self._shown: dict[str, _Shown] = {}
        self._pending: dict[str, None] = {}  # cushions with steps not shown yet, in order
        self.sent: dict[str, int] = {"state": 0, "reminder": 0, "reminder_update": 0}
        self.skipped = 0  # state events not built: no page watches that cushion

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
        watched = self._watched()
        for cushion in list(self._pending):
            if watched is not None and cushion not in watched:
                del self._pending[cushion]  # nobody looks: no heatmap built, nothing sent
                self.skipped += 1
                continue
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
        return {"subscribers": len(self._subscribers), "sent": dict(self.sent), "skipped": self.skipped,
                "watched": None if (w := self._watched()) is None else len(w)}

    # ---- subscribers --------------------------------------------------------------
    def _watched(self) -> set[str] | None:
        """The cushions some page watches; None: every cushion (a page subscribed to all)."""
        watched: set[str] = set()
        for cushion in self._subscribers.values():
            if cushion is None:
                return None
            watched.add(cushion)
        return watched

    def subscribe(self, cushion: str | None = None) -> asyncio.Queue[Event]:
        """A new page watching `cushion` (None: every cushion): its queue starts with the latest
        state of that cushion (of every cushion seen, as many as the queue holds)."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers[q] = cushion
        first = [cushion] if cushion is not None else list(self._shown)[: SUBSCRIBER_QUEUE // 2]
        for name in first:
            event = self._state_event(name) if name in self._shown else None
            if event is not None:
                q.put_nowait(("state", event))
        return q

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.pop(queue, None)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """One event to every page ("state", "reminder", "reminder_update")."""
        self.sent[kind] = self.sent.get(kind, 0) + 1
        for q, watching in list(self._subscribers.items()):
            if kind == "state" and watching is not None and payload.get("cushion") != watching:
                continue  # another cushion's page
            if q.full():
                if kind == "state":
                    continue  # a slow page skips states, never reminders
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait((kind, payload))
