"""The running daemon: input -> engines -> sinks, in one process, with the dashboard's runtime.

The input runs in its own thread(s) and hands frames to `_intake` (thread-safe, bounded per
cushion at analysis.queue_per_cushion; when analysis falls behind, a cushion's frames are
thinned evenly and counted as `shed`: CushionSlot.admit). The asyncio loop drains the
queues through one CushionEngine per cushion (monitor/runtime/slots.py) and hands every step
to the sinks in order (the store, the dashboard's SSE feed, the desktop notifier, MQTT, the
recorder: monitor/sinks/base.py).
The daemon does intake and scheduling only; what the dashboard may ask is
`daemon.runtime` (monitor/runtime/service.py), settings changes are monitor/runtime/live_settings.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from monitor.config.settings import Settings
from monitor.journal.wiring import open_journal, start_journal_mqtt
from monitor.model import DeviceInfo, Frame
from monitor.runtime.controls import ReminderControls
from monitor.runtime.engine import CushionEngine
from monitor.runtime.fleet import process_fleet
from monitor.runtime.heap import HeapKeeper
from monitor.runtime.inputs import build_input, time_scale, with_own_client_id
from monitor.runtime.live_settings import LiveSettings
from monitor.runtime.mounting_notices import mounting_for
from monitor.runtime.service import RuntimeService
from monitor.runtime.slots import (
    BATCH_MAX,
    MAX_CUSHIONS,
    REGRID_FRAMES,
    REGRID_S,
    Cushions,
    CushionSlot,
)
from monitor.sinks.base import CushionStep, Sink
from monitor.sinks.broadcast import SseBroadcaster
from monitor.sinks.desktop_notify import DesktopNotifier
from monitor.sinks.fleet import FleetFeed
from monitor.sinks.recorder import RawRecorder
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker
from monitor.transport.base import FrameInput

__all__ = ["BATCH_MAX", "MAX_CUSHIONS", "PASS_CUSHIONS", "QUEUE_PER_CUSHION", "REGRID_FRAMES", "REGRID_S",
           "SILENT_AFTER_S", "Daemon"]

log = logging.getLogger(__name__)

QUEUE_PER_CUSHION = 256  # the default of analysis.queue_per_cushion (frames)
PROCESS_SLICE_S = 0.01  # wall time analysis may hold the event loop per cushion before yielding
# A batch is analysed when the first frame after its due time arrives, or this long after its
# due time if none does (the cushion stopped or is slower than this).
SILENT_AFTER_S = 0.1
# This many cushions sending at once is load: batches gather for max_delay_under_load_ms,
# and a pass starts at most every UNDER_LOAD_PASS_S
UNDER_LOAD_CUSHIONS = 32
UNDER_LOAD_PASS_S = 0.05
# A pass analyses at most this many cushions, those due longest first; the rest wait for the
# next pass, after the loop has served the API and the timers. One pass over every cushion due
# held the loop for up to 0.45 s at 1,000 cushions, and the passes clumped: the cushions one
# long pass took all came due again together. Vectorised analysis gains little past ~100
# cushions a call (monitor/runtime/fleet.py).
PASS_CUSHIONS = 128
SNAPSHOT_EVERY_S = 5.0  # trackers saved, drops logged, sinks ticked
CALIBRATION_EVERY_S = 30.0  # calibration saved


class Daemon:
    """Intake and scheduling; `runtime` is what the dashboard talks to."""

    def __init__(self, settings: Settings, frame_input: FrameInput | None = None, store: Store | None = None):
        settings = with_own_client_id(settings)
        self.config = settings
        self.input = frame_input or build_input(settings)
        self.store = store if store is not None else Store(settings.store.db)
        self.slots = Cushions(settings.mqtt.cushion_expiry_s, frozenset(settings.mqtt.cushions),
                              forget=self._forget_cushion, limit=settings.mqtt.max_cushions)
        self.time_scale = time_scale(settings)
        self.live_settings = LiveSettings(settings, self.store, self.slots)
        self.live_settings.apply_saved()
        self.controls = ReminderControls(self.slots, self.store, self.time_scale)
        self.broadcaster = SseBroadcaster(lambda cushion: self.runtime.state_event(cushion))
        self.recorder = RawRecorder(settings.store.record) if settings.store.record is not None else None
        # the publisher joins at start(): it connects to the broker
        self.fleet = FleetFeed()  # the fleet overview's compact rows (dashboard /fleet)
        self.sinks: list[Sink] = [self.store, self.broadcaster, self.fleet, DesktopNotifier(settings.notify.desktop)]
        if self.recorder is not None:
            self.sinks.append(self.recorder)
        self.sink_errors: dict[str, int] = {}
        self.runtime = RuntimeService(settings, self.slots, self.input, self.store, self.broadcaster,
                                      self.live_settings, self.controls, self.recorder, self.sinks, self.sink_errors,
                                      fleet=self.fleet)
        # the pain journal (monitor/journal, docs/journal.md): its routes find it on the runtime
        self.journal = open_journal(settings)
        self.runtime.journal = self.journal  # type: ignore[attr-defined]
        self.journal_mqtt: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.heap = HeapKeeper()  # full garbage collections of a large heap (monitor/runtime/heap.py)
        self._drops_logged: dict[tuple, dict[str, int]] = {}  # (input, cushion) -> drops already logged
        self._wake_posted = False  # a wake-up posted by an input thread has not arrived yet
        self._under_load = False  # many cushions sending (_set_load)
        self._gather_s = settings.analysis.max_delay_ms / 1000.0  # how long a batch gathers now

    # ---- frame intake (input threads) -------------------------------------------
    def _intake(self, frame: Frame) -> None:
        slot = self.slots.get(frame.cushion)
        if slot is None:
            slot = self.slots.add(frame.cushion, lambda: self._new_slot(frame))
            if slot is None:
                return
        q = slot.queue
        if not slot.admit(self.config.analysis.queue_per_cushion):
            n = slot.drops["shed"]
            if n in (1, 10, 100) or n % 1000 == 0:
                log.warning("cushion %s: analysis cannot keep up; keeping every %d. frame, %d of %d shed so far",
                            frame.cushion, slot.keep_every, slot.drops["shed"], slot.received)
            return
        q.append(frame)
        now = slot.last_frame_wall = time.monotonic()
        # The loop is told of the first frame after a batch is due (so the batch ends with a
        # fresh frame, which the dashboard then shows) and of a full batch; frames in between
        # only queue up, which is where the CPU is saved. A batch's first frame needs telling
        # only when no timer is set: while frames flow the loop keeps one (`_process_due`), in
        # case the cushion falls silent.
        n = len(q)
        if n == 1:
            delay = self._gather_s
            slot.due_wall = now + delay
            # under load the loop keeps a timer armed after every pass (even while a pass runs)
            if delay and (self._timer is not None or self._under_load):
                return
        elif n < BATCH_MAX and (now < slot.due_wall or self._under_load):
            return
        loop, wake = self._loop, self._wake
        # one wake-up on its way is enough: while the loop is busy with a pass, every full
        # queue would otherwise post its own (a write to the loop's self-pipe each, ~5 % of
        # the daemon at 1,000 cushions); the flag is cleared when the wake-up arrives
        if loop is not None and wake is not None and not wake.is_set() and not self._wake_posted:
            self._wake_posted = True
            loop.call_soon_threadsafe(self._wake_arrived)

    def _wake_arrived(self) -> None:
        self._wake_posted = False
        assert self._wake is not None
        self._wake.set()

    def _new_slot(self, frame: Frame) -> CushionSlot:
        """A cushion's first frame: its engine, with what the store kept of it."""
        rows, cols = frame.shape
        device = DeviceInfo(device=frame.cushion, rows=rows, cols=cols, max_value=frame.max_value)
        # frame time 0 of this cushion is "now minus the first frame's time"
        epoch = datetime.fromtimestamp(time.time() - frame.t / self.time_scale, tz=UTC)
        tracker = self._restore_tracker(frame.cushion, epoch)
        engine = CushionEngine(frame.cushion, device, self.config.rules, self.config.analysis, epoch, tracker=tracker,
                               mounting=mounting_for(self.config.mounting, frame.cushion),
                               profile=self.runtime.sitter_profile(frame.cushion))
        self.controls.apply_pending_pause(engine.tracker, frame.t)
        self._restore_calibration(engine)
        log.info("cushion %s: %dx%d, max_value %d", frame.cushion, rows, cols, frame.max_value)
        return CushionSlot(frame.cushion, engine)

    def _restore_calibration(self, engine: CushionEngine) -> None:
        saved = self.store.load_calibration(engine.cushion)
        if not saved:
            return
        try:
            engine.analyzer.load_state(saved)
            log.info("cushion %s: calibration restored", engine.cushion)
        except Exception as exc:  # another grid or an older format: learn afresh
            log.warning("cushion %s: saved calibration not usable (%s); learning afresh", engine.cushion, exc)

    def _restore_tracker(self, cushion: str, epoch: datetime) -> CushionTracker | None:
        if self.config.input == "sim":
            return None  # every run plays its scenario from the start: a new sitting, not a continuation
        snap = self.store.load_snapshot(cushion)
        if snap:
            try:
                sent = self.store.reminders(cushion=cushion)[:50]
                tracker = CushionTracker.restore(snap, self.config.rules, epoch=epoch, cushion=cushion, sent=sent)
                log.info("cushion %s: carried on from the saved tracker state", cushion)
                return tracker
            except Exception:  # a snapshot from an older version must not stop the daemon
                log.exception("cushion %s: could not restore the tracker; starting afresh", cushion)
        return None

    # ---- processing (asyncio loop) ---------------------------------------------
    async def _process_forever(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            self._process_due()
            await asyncio.sleep(0)

    def _process_due(self, flush: bool = False) -> None:
        """Analyse the cushions whose batch is due (full, or its first frame waited the gather
        delay), the features of all of them per grid in one call (monitor/runtime/fleet.py);
        arm a timer for the next one."""
        assert self._wake is not None
        now = time.monotonic()
        next_due = math.inf
        gather_s = self._gather_s
        # under load the timer alone starts a pass (intake wakes only for full batches): a
        # pass per frame that arrives due would go over every cushion each time
        silent_after = 0.0 if self._under_load else SILENT_AFTER_S
        # the next batch's first frame may reach its queue up to the input's own gather late:
        # a timer any earlier than this after a pass fires before that batch can be due
        next_batch_after = gather_s + silent_after + self.input.gather_s
        due: list[CushionSlot] = []
        flowing = 0
        for slot in self.slots.values():
            if slot.last_frame_wall is not None and now - slot.last_frame_wall < 1.0:
                flowing += 1
            if not slot.queue:
                if gather_s and slot.last_frame_wall is not None and now - slot.last_frame_wall < 1.0:
                    # frames flow: the next batch's first frame is due soon after now
                    next_due = min(next_due, now + next_batch_after)
                continue
            # due: the first frame after its due time has come, or none has for silent_after
            # (a timer armed before the batch began may fire before that frame is in, read
            # from a driver that lets bytes gather: the batch would end on an older frame)
            came_after = (slot.last_frame_wall or 0.0) >= slot.due_wall
            if not flush and len(slot.queue) < BATCH_MAX and (
                now < slot.due_wall or (not came_after and now < slot.due_wall + silent_after)
            ):
                next_due = min(next_due, slot.due_wall + silent_after)
                continue
            due.append(slot)
        self._set_load(flowing)
        waiting: list[CushionSlot] = []
        if not flush and len(due) > PASS_CUSHIONS:
            due.sort(key=attrgetter("due_wall"))
            due, waiting = due[:PASS_CUSHIONS], due[PASS_CUSHIONS:]
        handed = False
        slice_end = now + PROCESS_SLICE_S  # a flooding cushion must not starve the API or the others
        while due:
            for slot, steps in process_fleet(due, self.runtime.engine_maker):
                for step in steps:
                    self._hand_on(step)
                    handed = True
                if slot.engine.mounting_check.changed:
                    self.runtime.mounting_found(slot)
            # more rounds only for a backlog (its queue still held frames that were due), in the slice
            due = [s for s in due if s.queue and s.due_wall <= now]
            if not flush and time.monotonic() >= slice_end:
                break
        for slot in due:
            slot.due_wall = now  # overdue: more to do after the loop has served the others
            self._wake.set()
        if waiting:
            self._wake.set()
        if gather_s and next_due < math.inf and self._under_load:
            next_due = max(next_due, now + UNDER_LOAD_PASS_S)
        if handed:
            self._tick_sinks()
        if gather_s and handed:
            next_due = min(next_due, now + next_batch_after)
        self._set_timer(None if self._wake.is_set() else next_due)

    def _set_load(self, flowing: int) -> None:
        """Many cushions sending: gather longer (analysis.max_delay_under_load_ms), so each
        batch is bigger and costs less per frame; never when max_delay_ms is 0."""
        cfg = self.config.analysis
        under = (flowing >= UNDER_LOAD_CUSHIONS and cfg.max_delay_ms > 0
                 and cfg.max_delay_under_load_ms > cfg.max_delay_ms)
        if under != self._under_load:
            log.info("%d cushions sending: batches gather for %d ms", flowing,
                     cfg.max_delay_under_load_ms if under else cfg.max_delay_ms)
        self._under_load = under
        self._gather_s = (cfg.max_delay_under_load_ms if under else cfg.max_delay_ms) / 1000.0

    def _hand_on(self, step: CushionStep) -> None:
        """One step to every sink, in order; a failing sink is logged and counted, never fatal."""
        for reminder in step.reminders:
            log.info("reminder %s for %s: %s", reminder.kind, reminder.cushion, reminder.message)
        for sink in self.sinks:
            try:
                sink.handle(step)
            except Exception:
                self._sink_failed(sink, "handle")
        if self.runtime.setups:  # a guided set-up follows this cushion (runtime/sitter.py)
            try:
                self.runtime.feed_setup(step)
            except Exception:
                log.exception("cushion %s: the guided set-up failed on a frame; stopped", step.cushion)
                self.runtime.setups.pop(step.cushion, None)

    def _tick_sinks(self) -> None:
        for sink in self.sinks:
            try:
                sink.tick()
            except Exception:
                self._sink_failed(sink, "tick")

    def _sink_failed(self, sink: Sink, what: str) -> None:
        n = self.sink_errors[sink.name] = self.sink_errors.get(sink.name, 0) + 1
        if n in (1, 10, 100) or n % 1000 == 0:
            log.exception("sink %s: %s failed (%d so far); analysis goes on", sink.name, what, n)

    def _set_timer(self, when: float | None) -> None:
        """The one timer, for the earliest batch due (`when` on time.monotonic()), or none.
        Moved, not added to: a timer that is not needed is a wake-up saved."""
        if self._timer is not None:
            if when is not None and self._timer_when == when:
                return
            self._timer.cancel()
            self._timer = None
        if when is None or when == math.inf:
            return
        assert self._loop is not None
        self._timer_when = when
        self._timer = self._loop.call_later(max(0.0, when - time.monotonic()), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        assert self._wake is not None
        self._wake.set()

    # ---- periodic work ----------------------------------------------------------------
    def _forget_cushion(self, slot: CushionSlot) -> None:
        """A silent cushion is forgotten (an input thread, Cushions' lock held): its state saved,
        its fleet tile removed on the loop (the feed lives there)."""
        self.store.save_snapshot(slot.cushion, slot.engine.tracker.snapshot())
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.fleet.forget, slot.cushion)
        else:
            self.fleet.forget(slot.cushion)

    def _snapshot_all(self, calibration: bool = True) -> None:
        for slot in self.slots.values():
            try:
                self.store.save_snapshot(slot.cushion, slot.engine.tracker.snapshot())
                if calibration:
                    self.store.save_calibration(slot.cushion, slot.engine.analyzer.state_dict())
            except Exception:
                log.exception("could not save the state of %s", slot.cushion)

    async def _snapshot_forever(self, every_s: float = SNAPSHOT_EVERY_S) -> None:
        # calibration (a cushion's offsets and noise, learnt over minutes) every
        # CALIBRATION_EVERY_S and at stop: a JSON of every cell per cushion every 5 s cost
        # more than the trackers' snapshots with many cushions
        saved_calibration = time.monotonic()
        while not self._stopping:
            await asyncio.sleep(every_s)
            calibration = time.monotonic() - saved_calibration >= CALIBRATION_EVERY_S
            if calibration:
                saved_calibration = time.monotonic()
            self._snapshot_all(calibration)
            self._log_new_drops()
            self._tick_sinks()
            self.heap.tick()  # here, not per pass: it runs while no frames come too

    def _log_new_drops(self) -> None:
        """Bad input is counted by the decoders at DEBUG level; say it at WARNING, at most every 5 s."""
        seen = self._drops_logged
        try:
            inputs = self.runtime.health()["inputs"]
        except Exception:
            log.exception("health failed")
            return
        unattributed = {"input": self.config.input, "cushion": "(no cushion)",
                        "drops": self.runtime.unattributed_drops()}
        for h in [*inputs, unattributed]:
            key = (h.get("input"), h.get("cushion"))
            drops = dict(h.get("drops") or {})
            before = seen.get(key, {})
            new = {r: n - before.get(r, 0) for r, n in drops.items() if n > before.get(r, 0)}
            if new:
                log.warning("cushion %s (%s): input dropped since the last report: %s", h.get("cushion"),
                            h.get("input"), ", ".join(f"{r} {n}" for r, n in sorted(new.items())))
            seen[key] = drops

    def reload(self, fresh: Settings) -> None:
        """SIGHUP: take the rules and analysis sections of a freshly loaded config."""
        self.live_settings.reload(fresh)

    # ---- life cycle -----------------------------------------------------------------
    def _start_publisher(self) -> None:
        if not (self.config.input == "mqtt" or self.config.mqtt.host):
            return
        try:
            from monitor.sinks.mqtt_publisher import MqttPublisher
        except ImportError:
            log.warning("MQTT publisher not available")
            return
        publisher = MqttPublisher(self.config.mqtt)
        publisher.start()
        # after the notifier, before the recorder: where the daemon has always published
        self.sinks.insert(self.sinks.index(self.broadcaster) + 3, publisher)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._wake_posted = False
        self._start_publisher()
        self.journal_mqtt = start_journal_mqtt(self.config, self.journal)
        self.heap.start()
        self.input.start(self._intake)
        self._tasks = [
            asyncio.create_task(self._process_forever(), name="process"),
            asyncio.create_task(self._snapshot_forever(), name="snapshot"),
        ]
        log.info("daemon started: input %s", self.config.input)

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self.input.stop()
        if self._wake is not None:
            self._wake.set()
        for task in self._tasks:
            task.cancel()
        if self._wake is not None:
            try:  # frames gathered for a batch are analysed, not lost
                self._process_due(flush=True)
            except Exception:
                log.exception("could not analyse the last frames")
        self._snapshot_all()
        for sink in self.sinks:  # the store last: the others may still have written to it
            if sink is not self.store:
                try:
                    sink.close()
                except Exception:
                    self._sink_failed(sink, "close")
        if self.journal_mqtt is not None:
            self.journal_mqtt.stop()
        if self.journal is not None:
            self.journal.close()
        self.store.close()
        self.heap.close()
        log.info("daemon stopped")
