"""The fleet overview's feed: one compact row per cushion, its changes sent in bounded batches.

The per-cushion live stream (broadcast.py) carries a heatmap and is built only for a cushion
somebody is watching; the fleet page needs every cushion but only a few facts of each. This
sink keeps one row per cushion — occupied, posture, spell time, open reminders — and, while
at least one fleet page is open, sends what changed as one `fleet` event every
FLEET_INTERVAL_S with at most FLEET_MAX_ROWS rows (the longest-waiting changes first; the
rest go in the next event). So whatever the number of cushions and their frame rate, an
open fleet page gets at most 1 / FLEET_INTERVAL_S events a second of at most FLEET_MAX_ROWS
rows each (docs/dashboard.md states the bound in bytes; tests/dashboard/test_fleet_api.py
measures it with 1,000 cushions).

A row is "changed" when what the tile shows changes: occupancy, posture, the open reminder
count, or the spell time by a whole SPELL_STEP_S (the tile shows whole minutes). Each batch
is serialised once and the same text goes to every page. A page whose queue is full (it
stopped reading) is told to `resync` (reload the snapshot) instead of being sent more.

Open reminders: raised in the current sitting spell and neither acknowledged nor snoozed; a
new spell (or the end of one) closes them, as the page lists them "followed".
Runs on the daemon's event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from monitor.sinks.base import CushionStep

log = logging.getLogger(__name__)

FLEET_INTERVAL_S = 0.5  # wall seconds between two fleet events
FLEET_MAX_ROWS = 250  # rows in one fleet event at most
SPELL_STEP_S = 60  # a spell's growth by this many seconds changes its tile
SUBSCRIBER_QUEUE = 16  # batches a fleet page may fall behind before it is told to resync
FIELDS = ("cushion", "occupied", "posture", "spell_s", "open_reminders")

# what a fleet page's queue holds: ("fleet", serialised batch) or ("resync", "")
FleetEvent = tuple[str, str]


class _Row:
    __slots__ = ("occupied", "posture", "spell_s", "spell_start", "open", "sent_key")

    def __init__(self) -> None:
        self.occupied = False
        self.posture = "empty"
        self.spell_s = 0.0
        self.spell_start: float | None = None
        self.open: set[str] = set()  # ids of the open reminders
        self.sent_key: tuple[Any, ...] | None = None  # what the pages were last sent

    def key(self) -> tuple[Any, ...]:
        return self.occupied, self.posture, int(self.spell_s // SPELL_STEP_S), len(self.open)


def row_json(cushion: str, row: _Row) -> list[Any]:
    """A row as sent: [cushion, occupied (0/1), posture, spell_s (whole seconds), open reminders]."""
    return [cushion, int(row.occupied), row.posture, int(row.spell_s), len(row.open)]


class FleetFeed:
    name = "fleet"

    def __init__(self, interval_s: float = FLEET_INTERVAL_S, max_rows: int = FLEET_MAX_ROWS) -> None:
        self.interval_s = interval_s
        self.max_rows = max_rows
        self._rows: dict[str, _Row] = {}
        self._changed: dict[str, None] = {}  # cushions whose row changed, longest waiting first
        self._subscribers: set[asyncio.Queue[FleetEvent]] = set()
        self._task: asyncio.Task[None] | None = None
        self.seq = 0  # the number of the last batch sent
        self.sent = {"events": 0, "rows": 0, "bytes": 0, "resyncs": 0}

    # ---- Sink ---------------------------------------------------------------------
    def handle(self, step: CushionStep) -> None:
        row = self._rows.get(step.cushion)
        if row is None:
            row = self._rows[step.cushion] = _Row()
        state = step.state
        if state.spell_start != row.spell_start:
            row.open.clear()  # a new spell, or none: the last spell's reminders are over
            row.spell_start = state.spell_start
        row.occupied, row.posture, row.spell_s = state.occupied, state.posture, state.spell_s
        for reminder in step.reminders:
            row.open.add(reminder.id)
        if row.key() != row.sent_key:
            self._changed[step.cushion] = None

    def tick(self) -> None:
        """Nothing to do: the feed's own timer sends (a batch must go out even while no step comes)."""

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        """Whether the feed's timer runs (while any fleet page is open)."""
        return self._task is not None and not self._task.done()

    def health(self) -> dict[str, Any]:
        return {"subscribers": len(self._subscribers), "cushions": len(self._rows), "pending": len(self._changed),
                "seq": self.seq, "sent": dict(self.sent)}

    # ---- what the runtime tells it ----------------------------------------------------
    def reminder_update(self, reminder: Mapping[str, Any]) -> None:
        """A reminder acknowledged or snoozed (runtime/service.py): no longer open."""
        row = self._rows.get(str(reminder.get("cushion")))
        if row is None or not (reminder.get("acknowledged") or reminder.get("snoozed_min")):
            return
        row.open.discard(str(reminder.get("id")))
        if row.key() != row.sent_key:
            self._changed[str(reminder.get("cushion"))] = None

    def forget(self, cushion: str) -> None:
        """A cushion the daemon forgot (silent past mqtt.cushion_expiry_s at the cushion limit):
        its row goes, and open pages reload the snapshot, which no longer has its tile."""
        if self._rows.pop(cushion, None) is None:
            return
        self._changed.pop(cushion, None)
        for queue in list(self._subscribers):
            self._resync(queue)

    def _resync(self, queue: asyncio.Queue[FleetEvent]) -> None:
        while not queue.empty():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(("resync", ""))
        self.sent["resyncs"] += 1

    # ---- pages ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Every cushion's row now, and the number of the last batch it includes (`seq`)."""
        return {"seq": self.seq, "interval_s": self.interval_s, "max_rows": self.max_rows, "fields": list(FIELDS),
                "rows": [row_json(c, r) for c, r in sorted(self._rows.items())]}

    def subscribe(self) -> asyncio.Queue[FleetEvent]:
        """A fleet page's queue of batches; the feed's timer runs while any page is open."""
        queue: asyncio.Queue[FleetEvent] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send_forever(), name="fleet-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[FleetEvent]) -> None:
        self._subscribers.discard(queue)

    async def _send_forever(self) -> None:
        while self._subscribers:
            await asyncio.sleep(self.interval_s)
            try:
                self.flush()
            except Exception:  # a bad row must not end the feed for every page
                log.exception("fleet feed: a batch failed")
        self._task = None

    def flush(self) -> str | None:
        """Send one batch of the longest-waiting changes (at most max_rows); its text, or None."""
        if not self._changed or not self._subscribers:
            return None
        rows = []
        for cushion in list(self._changed)[: self.max_rows]:
            del self._changed[cushion]
            row = self._rows[cushion]
            row.sent_key = row.key()
            rows.append(row_json(cushion, row))
        self.seq += 1
        text = json.dumps({"seq": self.seq, "rows": rows, "more": len(self._changed)}, separators=(",", ":"))
        self.sent["events"] += 1
        self.sent["rows"] += len(rows)
        self.sent["bytes"] += len(text)
        for queue in list(self._subscribers):
            if queue.full():  # the page stopped reading: it reloads the snapshot when it catches up
                self._resync(queue)
                continue
            queue.put_nowait(("fleet", text))
        return text
