"""The fleet feed's batching (monitor/sinks/fleet.py), on its own: real steps, the real feed."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from monitor.model import CushionState, Frame, Reminder, SeatReading
from monitor.sinks.base import CushionStep
from monitor.sinks.fleet import FLEET_MAX_ROWS, FleetFeed
from monitor.tracker.events import TrackerUpdate


def step(cushion: str, t: float, occupied: bool = True, posture: str = "upright", spell_s: float = 0.0,
         spell_start: float | None = 0.0, reminders: list[Reminder] | None = None) -> CushionStep:
    cells = np.zeros((4, 4), dtype=np.uint16)
    state = CushionState(cushion, t, occupied, posture, 0.5 if occupied else None, spell_s,
                         spell_start if occupied or spell_s else None)
    reading = SeatReading(t=t, present=occupied, posture=posture, left_share=state.left_share)
    return CushionStep(Frame(cushion, t, cells, 4095), cells.astype(np.float32), reading,
                       TrackerUpdate(state, reminders or []))


def reminder(cushion: str, rid: str) -> Reminder:
    return Reminder(rid, cushion, "slouching", 1.0, "2026-01-01T00:00:00Z", "Sit up", 60.0)


def test_a_storm_of_changes_goes_out_in_capped_batches_oldest_first():
    async def main() -> None:
        feed = FleetFeed(interval_s=3600)  # flushed by hand below
        queue = feed.subscribe()
        names = [f"c{i:04d}" for i in range(1000)]
        for n in names:
            feed.handle(step(n, 1.0, posture="upright"))
        texts = [feed.flush() for _ in range(4)]
        assert feed.flush() is None  # nothing changed since
        batches = [json.loads(t) for t in texts if t]
        assert [len(b["rows"]) for b in batches] == [FLEET_MAX_ROWS] * 4
        assert [b["seq"] for b in batches] == [1, 2, 3, 4]
        assert [r[0] for b in batches for r in b["rows"]] == names  # oldest change first, none lost
        assert batches[0]["more"] == 750 and batches[-1]["more"] == 0
        assert queue.qsize() == 4
        # a spell growing by seconds is not a change of its tile; by a whole minute it is
        feed.handle(step("c0001", 2.0, spell_s=30.0))
        assert feed.flush() is None
        feed.handle(step("c0001", 3.0, spell_s=61.0))
        assert json.loads(feed.flush() or "{}")["rows"] == [["c0001", 1, "upright", 61, 0]]
        feed.close()

    asyncio.run(main())


def test_open_reminders_close_on_ack_snooze_and_a_new_spell():
    async def main() -> None:
        feed = FleetFeed(interval_s=3600)
        feed.subscribe()
        feed.handle(step("a", 1.0, spell_s=10.0, reminders=[reminder("a", "r1"), reminder("a", "r2")]))
        assert feed.snapshot()["rows"] == [["a", 1, "upright", 10, 2]]
        feed.reminder_update({"id": "r1", "cushion": "a", "acknowledged": True})
        feed.reminder_update({"id": "r2", "cushion": "a", "acknowledged": False})  # an update, not closed
        assert feed.snapshot()["rows"][0][4] == 1
        feed.reminder_update({"id": "r2", "cushion": "a", "acknowledged": False, "snoozed_min": 15})
        assert feed.snapshot()["rows"][0][4] == 0
        feed.handle(step("a", 2.0, spell_s=20.0, reminders=[reminder("a", "r3")]))
        assert feed.snapshot()["rows"][0][4] == 1
        feed.handle(step("a", 3.0, occupied=False, posture="empty", spell_s=0.0, spell_start=None))  # spell over
        assert feed.snapshot()["rows"] == [["a", 0, "empty", 0, 0]]
        feed.close()

    asyncio.run(main())


def test_a_page_that_stops_reading_is_told_to_resync():
    async def main() -> None:
        feed = FleetFeed(interval_s=3600)
        stuck = feed.subscribe()
        for k in range(40):
            feed.handle(step("a", float(k), posture="upright" if k % 2 else "slouch"))
            feed.flush()
        events = []
        while not stuck.empty():
            events.append(stuck.get_nowait()[0])
        assert "resync" in events and len(events) <= 16
        assert feed.health()["sent"]["resyncs"] >= 1
        feed.close()

    asyncio.run(main())


def test_the_timer_sends_while_a_page_is_open_and_stops_after():
    async def main() -> None:
        feed = FleetFeed(interval_s=0.05)
        queue = feed.subscribe()
        assert feed.running
        feed.handle(step("a", 1.0))
        name, text = await asyncio.wait_for(queue.get(), 1.0)
        assert name == "fleet" and json.loads(text)["rows"][0][0] == "a"
        feed.unsubscribe(queue)
        await asyncio.sleep(0.2)
        assert not feed.running  # the timer ended with its last page

    asyncio.run(main())


def test_a_forgotten_cushion_leaves_the_snapshot_and_open_pages_reload_it():
    async def main() -> None:
        feed = FleetFeed(interval_s=3600)
        page = feed.subscribe()
        for name in ("a", "b", "c"):
            feed.handle(step(name, 1.0))
        feed.flush()
        feed.handle(step("b", 2.0, posture="slouch"))  # a change still waiting when b is forgotten
        feed.forget("b")
        assert [r[0] for r in feed.snapshot()["rows"]] == ["a", "c"]
        events = [page.get_nowait()[0] for _ in range(page.qsize())]
        assert events == ["resync"]  # the earlier batch is superseded by the snapshot the page reloads
        assert feed.flush() is None  # b's waiting change went with it
        feed.forget("no-such-cushion")  # unknown: nothing to tell
        assert page.empty() and feed.health()["cushions"] == 2
        feed.close()

    asyncio.run(main())
