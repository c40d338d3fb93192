"""Batches of arrays from one forked process to another, through shared memory.

`sitwell analyze`'s processes hand each other ~1 MB a batch (cells, calibrated load,
features). Through a `multiprocessing.Queue` that is pickled, written down a pipe in 64 KB
pieces, read and unpickled: ~4 us of CPU a frame on each side (16x16), a sixth of what a
frame costs in all. Here the arrays are copied into one of a few slots of a shared anonymous
mapping (made before the fork, so parent and children see the same pages) and only their
layout and a small message go down the queue; the receiver copies them out and frees the
slot at once, so nothing it keeps points into memory the sender will write again.

A batch too large for a slot, or holding Python objects, goes down the queue pickled, as before.
"""

from __future__ import annotations

import contextlib
import mmap
from typing import Any

import numpy as np

ALIGN = 64  # each array starts on a cache line


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class ArrayChannel:
    """One sender, one receiver: `put(arrays, message)` blocks while all `slots` are taken
    (the receiver has not read them yet); `get()` returns copies of the arrays and the message.

    Create it before forking the process that sends or receives."""

    def __init__(self, ctx: Any, slots: int, slot_bytes: int):
        self.slot_bytes = _aligned(max(ALIGN, slot_bytes))
        self._buf = mmap.mmap(-1, slots * self.slot_bytes)  # MAP_SHARED | MAP_ANONYMOUS: kept over fork
        self._free = ctx.SimpleQueue()  # slot numbers the sender may write
        self._full = ctx.Queue()  # (slot or None, layout or the arrays themselves, message)
        for slot in range(slots):
            self._free.put(slot)

    def put(self, arrays: list[np.ndarray], message: Any) -> None:
        arrays = [np.ascontiguousarray(a) for a in arrays]
        if sum(_aligned(a.nbytes) for a in arrays) > self.slot_bytes or any(a.dtype.hasobject for a in arrays):
            self._full.put((None, arrays, message))
            return
        slot = self._free.get()
        offset = slot * self.slot_bytes
        layout = []
        for a in arrays:
            np.copyto(np.ndarray(a.shape, a.dtype, self._buf, offset), a)
            layout.append((a.dtype.str, a.shape, offset))
            offset += _aligned(a.nbytes)
        self._full.put((slot, layout, message))

    def put_message(self, message: Any) -> None:
        """A message without arrays (the end, an error)."""
        self._full.put((None, [], message))

    def get(self, timeout: float | None = None) -> tuple[list[np.ndarray], Any]:
        """The next batch; raises queue.Empty if none came within `timeout` seconds."""
        slot, layout, message = self._full.get(timeout=timeout)
        if slot is None:
            return layout, message
        arrays = [np.ndarray(shape, np.dtype(dtype), self._buf, offset).copy() for dtype, shape, offset in layout]
        self._free.put(slot)
        return arrays, message

    def close(self) -> None:
        self._full.close()
        self._free.close()
        # a view still open somewhere (an error on the way): the mapping goes with the process
        with contextlib.suppress(BufferError):
            self._buf.close()
