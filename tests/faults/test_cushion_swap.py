"""Fault: another cushion, with another grid, is plugged in under the same id (same port).

A stray frame of another grid is dropped and counted (`wrong_grid`); frames of the new grid
that go on for REGRID_S are a new cushion: analysis starts afresh for its grid, while the
sitting spell and the reminders (the person did not change) carry on. No restart needed.
"""

from __future__ import annotations

import asyncio

from monitor.runtime.daemon import REGRID_S
from tests.runtime.test_daemon_batching import analysed_t, running, wait_for


def test_a_new_cushion_of_another_grid_is_taken_without_a_restart(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=0) as (daemon, cushion):
            last = cushion.push(200)  # 4 s of the 16x16 cushion
            await wait_for(lambda: analysed_t(daemon) == last, timeout=5.0)
            slot = daemon.slots["hand-1"]
            tracker = slot.engine.tracker

            cushion.plug(8, 8)
            last = cushion.push(int(50 * (REGRID_S + 1)))  # frames of the new grid, 1 s beyond REGRID_S
            await wait_for(lambda: analysed_t(daemon) == last, timeout=5.0)
            assert (slot.engine.device.rows, slot.engine.device.cols) == (8, 8)
            assert slot.engine.tracker is tracker  # spells and reminders carry on
            dropped = slot.drops["wrong_grid"]
            assert 0 < dropped <= 50 * REGRID_S + 1  # the frames before it counted as a new cushion

    asyncio.run(main())


def test_a_stray_frame_of_another_grid_is_dropped_and_counted(tmp_path):
    async def main() -> None:
        async with running(tmp_path, max_delay_ms=0) as (daemon, cushion):
            cushion.push(50)
            cushion.plug(8, 8)
            cushion.push(2)  # two stray frames
            cushion.plug(16, 16)
            last = cushion.push(50)
            await wait_for(lambda: analysed_t(daemon) == last, timeout=5.0)
            slot = daemon.slots["hand-1"]
            assert (slot.engine.device.rows, slot.engine.device.cols) == (16, 16)
            assert slot.drops["wrong_grid"] == 2

    asyncio.run(main())
