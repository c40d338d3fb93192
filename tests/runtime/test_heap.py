"""The daemon's garbage-collection policy (monitor/runtime/heap.py): no automatic full
collections while it runs, one of its own every FULL_EVERY_S, CPython's settings back at stop."""

from __future__ import annotations

import gc
import weakref

from monitor.runtime.heap import FULL_EVERY_S, NO_AUTOMATIC_FULL, HeapKeeper


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle_in_generation_2() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    gc.collect(1)  # survives the young collections (it is still referenced) ...
    gc.collect(1)
    del a, b  # ... and is garbage now, reachable only from itself
    return ref


def test_cycles_wait_for_the_keepers_own_full_collection_and_settings_come_back():
    before = gc.get_threshold()
    now = [0.0]
    keeper = HeapKeeper(clock=lambda: now[0])
    keeper.start()
    try:
        assert gc.get_threshold()[2] == NO_AUTOMATIC_FULL
        ref = _cycle_in_generation_2()
        for _ in range(50):  # young collections do not look at generation 2
            gc.collect(1)
        assert ref() is not None
        now[0] = FULL_EVERY_S - 1
        keeper.tick()
        assert ref() is not None and keeper.full_collections == 0
        now[0] = FULL_EVERY_S
        keeper.tick()
        assert ref() is None
        assert keeper.full_collections == 1 and keeper.freed >= 2
    finally:
        keeper.close()
    assert gc.get_threshold() == before
