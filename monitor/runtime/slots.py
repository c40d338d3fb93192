"""The daemon's cushions: one slot each (engine, frame queue, drop counts), and how a slot's
queued frames become a batch of steps.

Frames at another full scale under a cushion's id (a late hello, or readings above the scale:
codec/fullscale.py) start its analysis afresh at once, its tracker carrying on.

Frames of another grid under a cushion's id for REGRID_S (frame time) and REGRID_FRAMES are
another cushion plugged in in its place: analysis starts afresh for its grid (calibration is
learnt again); spells, breaks and reminders carry on. Fewer are strays, dropped as `wrong_grid`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator

from monitor.model import DeviceInfo, Frame
from monitor.runtime.engine import CushionEngine
from monitor.sinks.base import CushionStep
from monitor.tracker.tracker import CushionTracker

log = logging.getLogger(__name__)

BATCH_MAX = 32  # queued frames analysed in one vectorised call
MAX_CUSHIONS = 2000  # the default of mqtt.max_cushions
REGRID_S = 2.0
REGRID_FRAMES = 5

# (the new grid's device, the tracker that carries on) -> the engine for it
NewEngine = Callable[[DeviceInfo, CushionTracker], CushionEngine]


class CushionSlot:
    """Everything the daemon keeps for one cushion."""

    def __init__(self, cushion: str, engine: CushionEngine):
        self.cushion = cushion
        self.engine = engine
        self.queue: collections.deque[Frame] = collections.deque()
        self.drops: collections.Counter[str] = collections.Counter()  # frames the daemon dropped, by reason
        self.last_step: CushionStep | None = None
        self.last_frame_wall: float | None = None
        self.due_wall = 0.0  # when the frames queued now are to be analysed (analysis.max_delay_ms)
        self.other_grid: tuple[tuple[int, int], float, int] | None = None  # shape, since (t), frames
        # the frame flow (intake thread writes received/shed, the loop analysed): /healthz
        self.received = 0  # frames handed to the daemon for this cushion
        self.analysed = 0  # frames analysed (a step made)
        self.keep_every = 1  # thinning when the queue backs up: see admit()
        self._since_kept = 0

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def drop(self, reason: str) -> bool:
        """Count one dropped frame; True when it deserves a log line (1st, 10th, 100th, every 1000th)."""
        self.drops[reason] += 1
        n = self.drops[reason]
        return n in (1, 10, 100) or n % 1000 == 0

    def admit(self, capacity: int) -> bool:
        """Whether the frame arriving now is queued (intake thread); False: shed, and counted.

        The stated way of shedding load: when analysis cannot keep up, the cushion's frames
        are thinned evenly, every k-th kept, with k = capacity // (capacity - backlog):
        1 while the queue is under half full, 2 from half, 3 from two thirds, ... and none at
        all when it is full. The kept frames stay evenly spaced in time (the spell and posture
        timing stay right, only coarser), never a random loss and never a hole of seconds."""
        self.received += 1
        backlog = len(self.queue)
        if backlog >= capacity:
            self.keep_every = capacity
            self.drop("shed")
            return False
        self.keep_every = k = capacity // (capacity - backlog)
        self._since_kept += 1
        if self._since_kept >= k:
            self._since_kept = 0
            return True
        self.drop("shed")
        return False

    def flow(self) -> dict[str, int]:
        """Received, analysed, shed, queued (and the thinning now): received = analysed + shed
        + queued + the frames dropped for another reason (wrong_grid, analysis_error)."""
        return {"received": self.received, "analysed": self.analysed, "shed": self.drops.get("shed", 0),
                "queued": len(self.queue), "keep_every": self.keep_every}

    def process_some(self, new_engine: NewEngine) -> list[CushionStep]:
        """Up to BATCH_MAX queued frames through the engine in one vectorised call.

        Same results as one frame at a time (CushionEngine.process_batch), at a fraction of
        the per-frame cost when frames queue up (many cushions, a burst, a fast simulation).
        `new_engine(device, tracker)` makes the engine of another cushion plugged in under this id."""
        batch = self.take_batch(new_engine)
        if not batch:
            return []
        try:
            steps = self.engine.process_batch(batch)
        except Exception:
            return self.process_frames_one_by_one(batch)  # find the frame at fault
        self.last_step = steps[-1]
        self.analysed += len(steps)
        return steps

    def process_frames_one_by_one(self, batch: list[Frame]) -> list[CushionStep]:
        """A batch whose vectorised call failed: frame by frame, the failing ones dropped and counted."""
        done: list[CushionStep] = []
        for frame in batch:
            try:
                done.append(self.engine.process(frame))
            except Exception:
                if self.drop("analysis_error"):
                    log.exception("cushion %s: analysis failed on a frame (%d so far); dropped", self.cushion,
                                  self.drops["analysis_error"])
        if done:
            self.last_step = done[-1]
            self.analysed += len(done)
        return done

    def take_batch(self, new_engine: NewEngine) -> list[Frame]:
        """Up to BATCH_MAX queued frames of this cushion's grid and full scale (another grid
        or scale plugged in: the engine is made anew first, see the module docstring)."""
        device = self.engine.device
        batch: list[Frame] = []
        while self.queue and len(batch) < BATCH_MAX:
            frame = self.queue.popleft()
            if frame.shape == (device.rows, device.cols):
                self.other_grid = None
                if frame.max_value != device.max_value:
                    # the full scale changed (a late hello, or readings above it: codec/fullscale.py)
                    self.queue.appendleft(frame)
                    if batch:
                        break
                    self._regrid(frame, new_engine)
                    device = self.engine.device
                    continue
                batch.append(frame)
                continue
            # Another grid under this id: a stray frame, or another cushion plugged in.
            if self.other_grid is None or self.other_grid[0] != frame.shape:
                self.other_grid = (frame.shape, frame.t, 0)
            shape, since, n = self.other_grid
            self.other_grid = (shape, since, n + 1)
            if n + 1 >= REGRID_FRAMES and frame.t - since >= REGRID_S:
                self.queue.appendleft(frame)  # the first frame of the new cushion
                if batch:
                    break  # the old cushion's frames first
                self._regrid(frame, new_engine)
                device = self.engine.device
                continue
            if self.drop("wrong_grid"):
                log.warning("cushion %s: dropped %d frame(s) of %dx%d; this cushion is %dx%d (taken as a new"
                            " cushion if they go on for %.0f s)", self.cushion, self.drops["wrong_grid"],
                            *frame.shape, device.rows, device.cols, REGRID_S)
        return batch

    def _regrid(self, frame: Frame, new_engine: NewEngine) -> None:
        """Another cushion (another grid) under this id: analysis starts afresh for its grid
        (calibration is learnt again); spells, breaks and reminders carry on."""
        old = self.engine
        rows, cols = frame.shape
        device = DeviceInfo(device=frame.cushion, rows=rows, cols=cols, max_value=frame.max_value)
        self.engine = new_engine(device, old.tracker)
        self.other_grid = None
        if (rows, cols) == (old.device.rows, old.device.cols):
            log.warning("cushion %s: now read at full scale %d (was %d); calibration starts afresh, the sitting"
                        " spell and reminders carry on", self.cushion, frame.max_value, old.device.max_value)
            return
        log.warning("cushion %s: now a %dx%d cushion (was %dx%d); calibration starts afresh, the sitting"
                    " spell and reminders carry on", self.cushion, rows, cols, old.device.rows, old.device.cols)


class Cushions:
    """The slots by cushion id, at most `limit` (mqtt.max_cushions). Read from any thread; added under a lock.

    At the limit, cushions silent for `expiry_s` (mqtt.cushion_expiry_s; never those in
    `keep`, the configured ones) are forgotten to make room, `forget(slot)` called first (the
    daemon saves its state); at most one scan a second, so a flood of new ids stays cheap."""

    def __init__(self, expiry_s: float | None = None, keep: frozenset[str] = frozenset(),
                 forget: Callable[[CushionSlot], None] | None = None, limit: int = MAX_CUSHIONS) -> None:
        self.limit = limit
        self._slots: dict[str, CushionSlot] = {}
        self._lock = threading.Lock()
        self.refused = 0  # cushions turned away: `limit` were known already
        self.expired = 0  # forgotten after expiry_s of silence
        self.expiry_s = expiry_s
        self.keep = keep
        self._forget = forget
        self._last_scan = -1e9

    def get(self, cushion: str) -> CushionSlot | None:
        return self._slots.get(cushion)

    def __getitem__(self, cushion: str) -> CushionSlot:
        return self._slots[cushion]

    def __contains__(self, cushion: object) -> bool:
        return cushion in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._slots))

    def values(self) -> list[CushionSlot]:
        return list(self._slots.values())

    def items(self) -> list[tuple[str, CushionSlot]]:
        return list(self._slots.items())

    def add(self, cushion: str, make: Callable[[], CushionSlot]) -> CushionSlot | None:
        """The cushion's slot, made by `make()` if it is new; None when there is no room."""
        with self._lock:
            slot = self._slots.get(cushion)
            if slot is not None:
                return slot
            if len(self._slots) >= self.limit and not self._expire():
                self.refused += 1
                return None
            slot = self._slots[cushion] = make()
            return slot

    def _expire(self) -> bool:
        """Forget the silent cushions (lock held); True if there is room now."""
        now = time.monotonic()
        if self.expiry_s is None or now - self._last_scan < 1.0:
            return False
        self._last_scan = now
        silent = [s for s in self._slots.values() if s.cushion not in self.keep and not s.queue
                  and s.last_frame_wall is not None and now - s.last_frame_wall >= self.expiry_s]
        for slot in silent:
            if self._forget is not None:
                try:
                    self._forget(slot)
                except Exception:  # forgetting it must not fail on its snapshot
                    log.exception("could not save the state of %s", slot.cushion)
            del self._slots[slot.cushion]
        if silent:
            self.expired += len(silent)
            log.info("%d cushions silent for %g s forgotten (mqtt.cushion_expiry_s)", len(silent), self.expiry_s)
        return len(self._slots) < self.limit
