"""The first half of `sitwell analyze`, in a second process: read, calibrate, compute features.

Reading a recording (gunzip, cells from the bytes: `RecordingReader.batches`), calibrating and
the features (`CushionEngine.calibrate_arrays`) need nothing from what follows them, so a child
process does them and hands each batch on, while this process runs the decision step, the
tracker and the output (`CushionEngine.read_arrays`). The child is forked, so it starts at once
and gets the settings as they are; a bounded queue keeps a few batches in flight, so memory
stays flat whatever the recording's length. With one process, the same happens in turn.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor.codec.recording import RecordingReader
from monitor.config.settings import Settings
from monitor.model import DropCounter
from monitor.runtime.engine import CalibratedFront, CushionEngine
from monitor.runtime.mounting_notices import mounting_for

log = logging.getLogger(__name__)

IN_FLIGHT = 4  # batches between the processes: ~1 MB each for 512 frames of 16x16


def default_processes() -> int:
    """Two where there are two cores to use (and fork to start a child cheaply)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores > 1 and "fork" in mp.get_all_start_methods() else 1


def make_engine(reader: RecordingReader, settings: Settings) -> CushionEngine:
    h = reader.header
    return CushionEngine(reader.cushion, h.device, settings.rules, settings.analysis, epoch=h.start,
                         mounting=mounting_for(settings.mounting, reader.cushion))


class FrontFeed:
    """Iterate the recording's batches as `CalibratedFront`s; after the end, `drops` and
    `lines` are the reader's. `position()` is how far into the file reading has got."""

    def __init__(self, path: str | Path, settings: Settings, size: int, processes: int):
        self.path, self.settings, self.size, self.processes = Path(path), settings, size, processes
        self.drops = DropCounter()
        self.lines = 0
        self._position = 0

    def position(self) -> int:
        return self._position

    def __iter__(self) -> Iterator[CalibratedFront]:
        if self.processes < 2:
            yield from self._here()
        else:
            yield from self._child()

    def _here(self) -> Iterator[CalibratedFront]:
        with RecordingReader(self.path) as reader:
            engine = make_engine(reader, self.settings)
            max_value = reader.header.max_value
            for t, cells in reader.batches(self.size):
                self._position = reader.bytes_read()
                yield engine.calibrate_arrays(t, cells, max_value)
            self.drops, self.lines = reader.drops, reader.lines

    def _child(self) -> Iterator[CalibratedFront]:
        ctx = mp.get_context("fork")
        queue: Any = ctx.Queue(maxsize=IN_FLIGHT)
        child = ctx.Process(target=_feed, args=(self.path, self.settings, self.size, queue), daemon=True,
                            name="sitwell-analyze-reader")
        child.start()
        try:
            while True:
                kind, payload, position = queue.get()
                self._position = position
                if kind == "front":
                    yield payload
                elif kind == "end":
                    self.drops, self.lines = payload
                    return
                else:
                    raise RuntimeError(f"reading {self.path} failed in the reader process:\n{payload}")
        finally:
            if child.is_alive():  # stopped early (an error, a closed pipe): the child is ours to end
                child.terminate()
            child.join()
            queue.close()


def _feed(path: Path, settings: Settings, size: int, queue: Any) -> None:
    """The child: read and calibrate, put each batch on the queue, then the reader's counts."""
    try:
        feed = FrontFeed(path, settings, size, 1)
        for front in feed:
            queue.put(("front", front, feed.position()))
        queue.put(("end", (feed.drops, feed.lines), feed.position()))
    except BaseException:  # noqa: BLE001 - told to the parent, which raises it
        queue.put(("error", traceback.format_exc(), 0))
