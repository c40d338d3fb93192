"""Garbage collection for a daemon whose heap is large and long-lived.

CPython's cyclic collector scans every container object alive in a full (generation 2)
collection, and starts one whenever the objects that survived into generation 2 since the
last grew by a quarter. A daemon with 1,000 cushions keeps millions of objects (engines,
trackers, frames queued for their batch), most of them for its whole life, and its full
collections came every ~2 s and took ~0.25 s each: 14 % of a core, and a quarter of a
second in which nothing was analysed (bench/fleet.py; docs/performance.md, issue 16's
fourth round).

While the daemon runs, CPython starts no full collection of its own (generation 2's
threshold is set out of reach); the young generations are collected as always, which is
where nearly all reference cycles die. The heap is collected in full once every
FULL_EVERY_S from the daemon's 5-second snapshot loop (which runs whether frames come or
not), so a cycle that lived long enough to reach generation 2 waits about that long.
Reference counting frees everything else at once, as always.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FULL_EVERY_S = 300.0
YOUNG_THRESHOLD = 5_000  # allocations between young collections (CPython's default: 700)
MIDDLE_THRESHOLD = 20  # young collections between collections of generation 1 (default 10)
NO_AUTOMATIC_FULL = 1 << 30  # generation 1 collections before a full one: never, in practice


class HeapKeeper:
    """`start()` with the daemon, `tick()` every few seconds, `close()` when it stops."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._collected_at = clock()
        self._saved: tuple[int, int, int] | None = None
        self.full_collections = 0
        self.freed = 0  # unreachable objects those collections found
        self.last_full_ms = 0.0

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, NO_AUTOMATIC_FULL)
        self._collected_at = self._clock()

    def tick(self) -> None:
        now = self._clock()
        if self._saved is None or now - self._collected_at < FULL_EVERY_S:
            return
        self._collected_at = now
        t0 = time.perf_counter()
        found = gc.collect()
        self.last_full_ms = 1000.0 * (time.perf_counter() - t0)
        self.full_collections += 1
        self.freed += found
        log.debug("heap: full collection found %d unreachable objects in %.0f ms", found, self.last_full_ms)

    def close(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
