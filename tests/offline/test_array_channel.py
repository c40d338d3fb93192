"""Batches of arrays between forked processes (monitor/offline/array_channel.py), and what
`sitwell analyze` does when one of its processes dies."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading

import numpy as np
import pytest

from monitor.config.settings import load_settings
from monitor.offline.analyze import analyze_recording
from monitor.offline.array_channel import ArrayChannel


def _send(channel: ArrayChannel, n: int) -> None:
    for k in range(n):
        channel.put([np.arange(k, k + 100, dtype=np.float64), np.full((3, 4), k, np.uint16),
                     np.array([k % 2 == 0, True]), np.empty((0, 5), np.float32)], ("batch", k))
    channel.put([np.zeros(10_000)], ("too big for a slot", n))
    channel.put_message(("end", n))


def test_arrays_arrive_whole_in_order_and_copied_out_of_the_slots():
    ctx = mp.get_context("fork")
    channel = ArrayChannel(ctx, slots=2, slot_bytes=4096)  # fewer slots than batches: the sender waits
    child = ctx.Process(target=_send, args=(channel, 20), daemon=True)
    child.start()
    got = []
    while True:
        arrays, message = channel.get(timeout=30)
        if message[0] == "end":
            break
        got.append((arrays, message))
    child.join(10)
    channel.close()
    assert [m for _, m in got[:20]] == [("batch", k) for k in range(20)]
    for k, (arrays, _) in enumerate(got[:20]):
        vals, grid, flags, empty = arrays
        np.testing.assert_array_equal(vals, np.arange(k, k + 100, dtype=np.float64))
        assert grid.dtype == np.uint16 and grid.shape == (3, 4) and (grid == k).all()
        assert flags.tolist() == [k % 2 == 0, True]
        assert empty.shape == (0, 5) and empty.dtype == np.float32
        assert vals.base is None or not isinstance(vals.base, type(channel._buf))  # a copy, not a view
    (big,), message = got[20]
    assert message == ("too big for a slot", 20) and big.shape == (10_000,)


def test_get_times_out_when_nothing_comes():
    channel = ArrayChannel(mp.get_context("fork"), slots=1, slot_bytes=64)
    with pytest.raises(queue.Empty):
        channel.get(timeout=0.05)
    channel.close()


def test_analyze_says_so_when_its_calibrator_process_is_killed(tmp_path):
    from firmware_sim import Simulator, load_scenario, write_recording

    rec = tmp_path / "rec.jsonl"
    write_recording(Simulator(load_scenario("workday"), rows=16, cols=16, rate_hz=10, seed=2, duration_s=600),
                    rec, cushion="c1", gz=False)
    killed = threading.Event()

    def kill_the_calibrator() -> None:
        while not killed.is_set():
            for child in mp.active_children():
                if child.name == "sitwell-analyze-calibrator" and child.pid:
                    os.kill(child.pid, signal.SIGKILL)
                    killed.set()
            killed.wait(0.005)

    watcher = threading.Thread(target=kill_the_calibrator, daemon=True)
    watcher.start()
    with pytest.raises(RuntimeError, match="sitwell-analyze-calibrator stopped"):
        analyze_recording(rec, load_settings(overrides={"input": "sim"}), lambda line: None, processes=3)
    killed.set()
    watcher.join(5)
    assert not [c for c in mp.active_children() if c.name.startswith("sitwell-analyze")]
