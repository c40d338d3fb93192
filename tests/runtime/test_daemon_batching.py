"""The daemon gathers each cushion's frames and analyses them in batches.

A cushion at 50 Hz woken for every frame cost the daemon ~8 % of a core; gathered for up to
`analysis.max_delay_ms` (default 250 ms, the dashboard's state-event period) and analysed in
one vectorised call, it costs a fraction of that (docs/performance.md). These tests pin the
rules: a batch ends with the first frame after max_delay_ms (or SILENT_AFTER_S later if the
cushion falls silent), a full batch does not wait at all, 0 means every frame at once, and
frames still gathered at shutdown are analysed, not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import numpy as np
import pytest

from firmware_sim import Simulator, load_scenario
from monitor.config.settings import Settings
from monitor.model import Frame
from monitor.runtime.daemon import BATCH_MAX, PASS_CUSHIONS, QUEUE_PER_CUSHION, SILENT_AFTER_S, Daemon
from monitor.runtime.service import frame_flow
from monitor.transport.base import FrameInput


class HandFedInput(FrameInput):
    """A cushion the test holds in its hand: `push` hands frames to the daemon as an input thread would."""

    kind = "hand"

    def __init__(self) -> None:
        self.emit = None
        self.last_t = 0.0
        self.plug(16, 16)

    def plug(self, rows: int, cols: int) -> None:
        """Another cushion (another grid) under the same id, its clock going on."""
        start = self.last_t
        sim = Simulator(load_scenario("tour"), rows, cols, 50.0, 1)
        self._frames = ((start + f.t, f.cells) for f in sim.frames())

    def start(self, emit) -> None:
        self.emit = emit

    def stop(self) -> None:
        pass

    def health(self) -> list[dict]:
        return []

    def push(self, n: int) -> float:
        """n frames of the cushion; returns the frame time of the last."""
        for _ in range(n):
            t, cells = next(self._frames)
            self.emit(Frame(cushion="hand-1", t=t, cells=cells, max_value=4095))
            self.last_t = t
        return t


def analysed_t(daemon: Daemon) -> float | None:
    slot = daemon.slots.get("hand-1")
    return None if slot is None or slot.last_step is None else slot.last_step.frame.t


async def started(tmp_path, max_delay_ms: int) -> tuple[Daemon, HandFedInput]:
    settings = Settings(
        input="serial",
        serial={"port": "/dev/null"},
        store={"db": tmp_path / "sitwell.db"},
        analysis={"max_delay_ms": max_delay_ms},
    )
    cushion = HandFedInput()
    daemon = Daemon(settings, frame_input=cushion)
    await daemon.start()
    return daemon, cushion


@contextlib.asynccontextmanager
async def running(tmp_path, max_delay_ms: int):
    """A started daemon and its hand-fed cushion, stopped on the way out."""
    daemon, cushion = await started(tmp_path, max_delay_ms)
    try:
        yield daemon, cushion
    finally:
        await daemon.stop()


async def wait_for(predicate, timeout: float) -> float:
    """Seconds until predicate() holds (fails after timeout)."""
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, "timed out"
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


def test_frames_wait_at_most_max_delay_and_are_analysed_together(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=400) as (daemon, cushion):
            last = cushion.push(5)
            await asyncio.sleep(0.1)
            assert analysed_t(daemon) is None  # still gathering
            waited = await wait_for(lambda: analysed_t(daemon) == last, timeout=2.0)
            # due 400 ms after the first frame (100 ms of which had passed); a cushion that
            # fell silent is not waited for longer than SILENT_AFTER_S after that
            assert 0.2 < waited < 0.3 + SILENT_AFTER_S + 0.1

    asyncio.run(main())


def test_the_first_frame_after_the_due_time_ends_the_batch_and_is_shown(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=200) as (daemon, cushion):
            events = daemon.runtime.subscribe()
            cushion.push(3)
            await asyncio.sleep(0.25)  # past due, before the silent-cushion timer
            assert analysed_t(daemon) is None
            last = cushion.push(1)
            waited = await wait_for(lambda: analysed_t(daemon) == last, timeout=2.0)
            assert waited < 0.05 + SILENT_AFTER_S / 2
            # the dashboard's state event reports that fresh frame
            kind, event = events.get_nowait()
            assert kind == "state" and event["t"] == pytest.approx(last, abs=1e-3)

    asyncio.run(main())


def test_a_full_batch_does_not_wait(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=1000) as (daemon, cushion):
            last = cushion.push(BATCH_MAX)
            waited = await wait_for(lambda: analysed_t(daemon) == last, timeout=2.0)
            assert waited < 0.5

    asyncio.run(main())


def test_zero_delay_analyses_every_frame_at_once(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=0) as (daemon, cushion):
            for _ in range(3):
                last = cushion.push(1)
                await wait_for(lambda last=last: analysed_t(daemon) == last, timeout=0.05)
                await asyncio.sleep(0.02)

    asyncio.run(main())


def test_frames_still_gathered_at_shutdown_are_analysed(tmp_path):
    async def main() -> None:
        daemon, cushion = await started(tmp_path, max_delay_ms=1000)
        cushion.push(1)
        await wait_for(lambda: analysed_t(daemon) is not None, timeout=2.0)  # the cushion is known
        last = cushion.push(3)
        assert analysed_t(daemon) != last
        await daemon.stop()
        assert analysed_t(daemon) == last

    asyncio.run(main())


def test_a_burst_beyond_the_queue_is_thinned_evenly_and_counted_as_shed(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=0) as (daemon, cushion):
            # pushed from the loop's own thread: nothing is analysed until it yields
            n = QUEUE_PER_CUSHION * 2
            cushion.push(n)
            slot = daemon.slots["hand-1"]
            queued = [f.t for f in slot.queue]
            assert len(queued) < QUEUE_PER_CUSHION  # bounded
            assert slot.received == n and slot.drops["shed"] == n - len(queued)
            # the first half taken whole, then thinned: gaps grow with the backlog, never shrink
            steps = np.diff(queued)
            half = QUEUE_PER_CUSHION // 2
            assert np.allclose(steps[: half - 1], steps[0])
            assert np.all(np.diff(steps) >= -1e-9) and steps[-1] > steps[0]
            await wait_for(lambda: slot.analysed == len(queued), timeout=20.0)
            flow = frame_flow(slot, slot.drops)  # what /healthz shows for it
            assert flow["received"] == flow["analysed"] + flow["shed"] == n, flow
            assert flow["reason"] and "thinned" in flow["reason"]

    asyncio.run(main())


def test_an_input_thread_posts_one_wake_up_while_the_loop_is_busy(tmp_path):
    """Frames that arrive while a pass runs (here: the loop blocked) post one wake-up between
    them, not one each (a write to the loop's self-pipe each: ~5 % of the daemon at 1,000
    cushions); once it has arrived, the next frame posts again, and every frame is analysed."""

    async def main() -> None:
        async with running(tmp_path, max_delay_ms=0) as (daemon, cushion):
            loop = asyncio.get_running_loop()
            posted = []
            real = loop.call_soon_threadsafe

            def counting(callback, *args, **kwargs):
                posted.append(callback)
                return real(callback, *args, **kwargs)

            loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
            feeder = threading.Thread(target=cushion.push, args=(20,))
            feeder.start()
            feeder.join()  # the loop has not run meanwhile: every frame saw no wake-up arrive
            assert len(posted) == 1
            last = cushion.last_t
            await wait_for(lambda: analysed_t(daemon) == last, timeout=2.0)
            feeder = threading.Thread(target=cushion.push, args=(1,))
            feeder.start()
            feeder.join()
            assert len(posted) == 2
            last = cushion.last_t
            await wait_for(lambda: analysed_t(daemon) == last, timeout=2.0)

    asyncio.run(main())


def test_a_pass_takes_the_cushions_due_longest_first_and_leaves_the_rest_for_the_next(tmp_path):
    """At an office floor's load one pass over every cushion due held the loop (the API, the
    timers) for up to half a second, and the cushions it took came due again all together."""
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=1000) as (daemon, cushion):
            # pushed from the loop's own thread: nothing is analysed until it yields
            frames = list(zip(range(PASS_CUSHIONS + 72), Simulator(load_scenario("tour"), 16, 16, 10.0, 2).frames(),
                              strict=False))
            for k, f in frames:
                cushion.emit(Frame(cushion=f"desk-{k:03d}", t=f.t, cells=f.cells, max_value=4095))
            slots = [daemon.slots.get(f"desk-{k:03d}") for k, _ in frames]
            now = time.monotonic()
            for k, slot in enumerate(slots):  # due for a while, the last ones longest
                slot.due_wall = now - 1.0 - 0.01 * k
            daemon._process_due()
            analysed = [slot.analysed for slot in slots]
            assert sum(analysed) == PASS_CUSHIONS
            assert analysed == [0] * 72 + [1] * PASS_CUSHIONS  # longest due first
            daemon._process_due()  # the next pass: the rest
            assert all(slot.analysed == 1 for slot in slots)

    asyncio.run(main())


def test_frames_of_every_cushion_are_analysed_at_shutdown_in_one_go(tmp_path):
    async def main() -> None:
        daemon, cushion = await started(tmp_path, max_delay_ms=1000)
        for k, (_, f) in enumerate(zip(range(PASS_CUSHIONS * 2), Simulator(load_scenario("tour"), 16, 16, 10.0, 3)
                                       .frames(), strict=False)):
            cushion.emit(Frame(cushion=f"desk-{k:03d}", t=f.t, cells=f.cells, max_value=4095))
        await daemon.stop()
        assert all(daemon.slots.get(f"desk-{k:03d}").analysed == 1 for k in range(PASS_CUSHIONS * 2))

    asyncio.run(main())


def test_a_timer_before_the_frame_after_the_due_time_does_not_end_the_batch_on_an_older_frame(tmp_path):
    """A reader that lets bytes gather (0.1 s at the default max_delay_ms) hands over the frame
    after the due time a little late; a timer armed before the batch began may fire first. The
    batch waits for that frame (the one the dashboard then shows), up to SILENT_AFTER_S."""
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=250) as (daemon, cushion):
            # pushed from the loop's own thread: nothing is analysed until it yields
            cushion.push(1)
            await wait_for(lambda: analysed_t(daemon) is not None, timeout=2.0)  # the cushion is known
            slot = daemon.slots.get("hand-1")
            older = cushion.push(4)
            time.sleep(0.02)
            slot.due_wall = slot.last_frame_wall + 0.01  # due a moment ago; every frame came before
            daemon._process_due()  # as the timer would
            assert analysed_t(daemon) != older
            newest = cushion.push(1)  # the first frame after the due time
            daemon._process_due()
            assert analysed_t(daemon) == newest
            # a cushion gone silent: its batch goes SILENT_AFTER_S after the due time
            last = cushion.push(3)
            slot.due_wall = time.monotonic() - SILENT_AFTER_S - 0.01
            daemon._process_due()
            assert analysed_t(daemon) == last

    asyncio.run(main())


def test_after_a_pass_the_timer_allows_for_the_inputs_own_gather(tmp_path):
    """The serial reader hands frames over up to its gather (0.1 s) late: a timer armed for
    max_delay_ms + SILENT_AFTER_S after a pass fired before the next batch could be due, a
    wake-up of the loop for nothing, 2.5 times a second at one serial cushion."""
    async def main() -> None:
        daemon, cushion = await started(tmp_path, max_delay_ms=250)
        cushion.gather_s = 0.1
        try:
            cushion.push(1)
            await wait_for(lambda: analysed_t(daemon) is not None, timeout=2.0)
            cushion.push(3)
            daemon.slots.get("hand-1").due_wall = time.monotonic() - SILENT_AFTER_S - 0.01
            passed = time.monotonic()
            daemon._process_due()
            assert daemon._timer is not None
            assert daemon._timer_when - passed >= 0.25 + SILENT_AFTER_S + 0.1 - 0.005
        finally:
            await daemon.stop()

    asyncio.run(main())
