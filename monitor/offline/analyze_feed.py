"""The first half of `sitwell analyze`, in other processes: read, calibrate, compute features.

Reading a recording (gunzip, cells from the bytes: `RecordingReader.batches`), calibrating and
the features (`CushionEngine.calibrate_arrays`) need nothing from what follows them, so child
processes do them and hand each batch on, while this process runs the decision step, the
tracker and the output (`CushionEngine.read_arrays`).

With `processes` 3 (the default where there are two cores or more) it is a pipeline of three:
one child reads, a second calibrates and computes the features, this process decides. Three
stages on two cores balance themselves: the scheduler gives each what it needs, so the wall
time is about half the CPU time whatever the stages cost, where with two processes it was the
longer half's. With 2, one child reads and calibrates; with 1, the same happens in turn here.

The children are forked, so they start at once and get the settings as they are; bounded
queues keep a few batches in flight, so memory stays flat whatever the recording's length.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import queue
import signal
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from monitor.analysis.features import FEATURE_NAMES, FeatureBatch
from monitor.codec.recording import RecordingReader
from monitor.config.settings import Settings
from monitor.model import CalibratedBatch, DropCounter
from monitor.offline.analyze_decide import calibrated_front
from monitor.offline.array_channel import ArrayChannel
from monitor.runtime.engine import CalibratedFront, CushionEngine
from monitor.runtime.mounting_notices import mounting_for

log = logging.getLogger(__name__)

Front = tuple[CalibratedFront, np.ndarray]  # what `calibrated_front` gives
IN_FLIGHT = 4  # batches between two processes: ~1 MB each for 512 frames of 16x16
WATCH_S = 1.0  # how often a parent waiting for a batch looks whether its children still run
CHILD_EXIT_S = 5.0  # how long a told-to-stop child gets before it is killed


def default_processes() -> int:
    """Three (a reader, a calibrator and this process) where there are two cores to share
    and fork to start the children cheaply; else one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 3 if cores > 1 and "fork" in mp.get_all_start_methods() else 1


def keep_freed_memory() -> None:
    """Let this process (and the children it forks after) reuse freed memory instead of
    mapping it afresh.

    A batch's arrays and numpy's temporaries (~0.1-1 MB each) lie above glibc's mmap
    threshold, so each was mapped anew, its pages faulted in and zeroed, and unmapped: ~4 page
    faults a frame, a sixth of `sitwell analyze`'s CPU spent in the kernel. With higher
    thresholds freed blocks stay in the heap for the next batch; memory stays flat (the same
    few batches' worth is reused). A no-op where the C library has no mallopt (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # malloc.h
    mallopt(m_mmap_threshold, 16 << 20)  # at most 32 MB on 64-bit glibc
    mallopt(m_trim_threshold, 64 << 20)
    mallopt(m_top_pad, 16 << 20)


def make_engine(reader: RecordingReader, settings: Settings) -> CushionEngine:
    h = reader.header
    return CushionEngine(reader.cushion, h.device, settings.rules, settings.analysis, epoch=h.start,
                         mounting=mounting_for(settings.mounting, reader.cushion))


class FrontFeed:
    """Iterate the recording's batches as `calibrated_front` gives them (a `CalibratedFront`
    and the sit-bone loads of its frames); after the end, `drops` and
    `lines` are the reader's. `position()` is how far into the file reading has got."""

    def __init__(self, path: str | Path, settings: Settings, size: int, processes: int):
        self.path, self.settings, self.size, self.processes = Path(path), settings, size, processes
        self.drops = DropCounter()
        self.lines = 0
        self._position = 0

    def position(self) -> int:
        return self._position

    def __iter__(self) -> Iterator[Front]:
        if self.processes < 2:
            yield from self._here()
        else:
            yield from self._children()

    def _here(self) -> Iterator[Front]:
        with RecordingReader(self.path) as reader:
            engine = make_engine(reader, self.settings)
            max_value = reader.header.max_value
            for t, cells in reader.batches(self.size):
                self._position = reader.bytes_read()
                yield calibrated_front(engine, t, cells, max_value)
            self.drops, self.lines = reader.drops, reader.lines

    def _children(self) -> Iterator[Front]:
        ctx = mp.get_context("fork")
        with RecordingReader(self.path) as reader:
            h = reader.header
        cells = h.rows * h.cols  # the mounting may turn the grid, never change its size
        # per frame: t, cells (uint16), load (float32), noise, the features (float64 at most)
        fronts = ArrayChannel(ctx, IN_FLIGHT, self.size * (8 + 6 * cells + 4 + 16 + 8 * len(FEATURE_NAMES)) + 4096)
        channels = [fronts]
        if self.processes >= 3:
            raw = ArrayChannel(ctx, IN_FLIGHT, self.size * (8 + 2 * cells) + 1024)
            channels.append(raw)
            children = [
                ctx.Process(target=_read, args=(self.path, self.size, raw), daemon=True, name="sitwell-analyze-reader"),
                ctx.Process(target=_calibrate, args=(self.path, self.settings, raw, fronts), daemon=True,
                            name="sitwell-analyze-calibrator"),
            ]
        else:
            children = [ctx.Process(target=_feed, args=(self.path, self.settings, self.size, fronts), daemon=True,
                                    name="sitwell-analyze-reader")]
        for child in children:
            child.start()
        try:
            while True:
                try:
                    arrays, (kind, payload, position) = fronts.get(timeout=WATCH_S)
                except queue.Empty:  # slow, or a child killed before it could say so
                    dead = [c.name for c in children if not c.is_alive() and c.exitcode != 0]
                    if dead:
                        raise RuntimeError(f"reading {self.path}: {', '.join(dead)} stopped") from None
                    continue
                self._position = position
                if kind == "front":
                    yield _unpack(arrays, payload)
                elif kind == "end":
                    self.drops, self.lines = payload
                    return
                else:
                    raise RuntimeError(f"reading {self.path} failed in a reader process:\n{payload}")
        finally:
            for child in children:
                if child.is_alive():  # stopped early (an error, a closed pipe): the child is ours to end
                    child.terminate()
                child.join(CHILD_EXIT_S)
                if child.is_alive():  # stuck (e.g. waiting on a channel whose other end died)
                    child.kill()
                    child.join()
            for channel in channels:
                channel.close()


def _pack(item: Front) -> tuple[list[np.ndarray], int]:
    """A front as arrays (for an ArrayChannel) and its max_value; `_unpack` undoes it."""
    front, sitbone = item
    f = front.features
    arrays = [front.t, front.cells, front.cal.load, front.cal.noise, sitbone, *(getattr(f, n) for n in FEATURE_NAMES)]
    return arrays, front.max_value


def _unpack(arrays: list[np.ndarray], max_value: int) -> Front:
    t, cells, load, noise, sitbone, *features = arrays
    return CalibratedFront(t, cells, max_value, CalibratedBatch(t=t, load=load, noise=noise),
                           FeatureBatch(*features)), sitbone


def _default_signals() -> None:
    """A forked child inherits its parent's handlers (the daemon's, a test runner's): the
    parent's terminate() must end it, not be turned into an exception it handles."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _feed(path: Path, settings: Settings, size: int, fronts: ArrayChannel) -> None:
    """The child of two processes: read and calibrate, send each batch, then the reader's counts."""
    _default_signals()
    try:
        feed = FrontFeed(path, settings, size, 1)
        for front in feed:
            arrays, max_value = _pack(front)
            fronts.put(arrays, ("front", max_value, feed.position()))
        fronts.put_message(("end", (feed.drops, feed.lines), feed.position()))
    except BaseException:  # noqa: BLE001 - told to the parent, which raises it
        fronts.put_message(("error", traceback.format_exc(), 0))


def _read(path: Path, size: int, raw: ArrayChannel) -> None:
    """The first of three processes: read, send each batch's (t, cells), then the reader's counts."""
    _default_signals()
    try:
        with RecordingReader(path) as reader:
            for t, cells in reader.batches(size):
                raw.put([t, cells], ("frames", None, reader.bytes_read()))
            raw.put_message(("end", (reader.drops, reader.lines), reader.bytes_read()))
    except BaseException:  # noqa: BLE001 - told on, to the parent, which raises it
        raw.put_message(("error", traceback.format_exc(), 0))


def _calibrate(path: Path, settings: Settings, raw: ArrayChannel, fronts: ArrayChannel) -> None:
    """The second of three: calibrate and compute the features of what the reader sends;
    its end and errors are passed on as they come."""
    _default_signals()
    try:
        with RecordingReader(path) as reader:  # the header: the engine's device and epoch
            engine = make_engine(reader, settings)
            max_value = reader.header.max_value
        while True:
            arrays, (kind, payload, position) = raw.get()
            if kind != "frames":
                fronts.put_message((kind, payload, position))
                return
            t, cells = arrays
            packed, _ = _pack(calibrated_front(engine, t, cells, max_value))
            fronts.put(packed, ("front", max_value, position))
    except BaseException:  # noqa: BLE001 - told to the parent, which raises it
        fronts.put_message(("error", traceback.format_exc(), 0))
