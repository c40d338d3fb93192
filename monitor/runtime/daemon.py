"""The running daemon: inputs -> engines -> sinks, and the dashboard, in one process.

Inputs run in their own threads and hand frames to `_intake` (thread-safe, bounded per
cushion, newest wins). The asyncio loop drains the queues through one CushionEngine per
cushion and fans the results out to the store, the MQTT publisher and SSE subscribers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config.settings import AnalysisConfig, RulesConfig, Settings
from monitor.model import DeviceInfo, Frame, Reminder
from monitor.runtime.controls import ReminderControls
from monitor.runtime.engine import CushionEngine, EngineStep
from monitor.sinks.recorder import RawRecorder
from monitor.transport.base import FrameInput

log = logging.getLogger(__name__)

BATCH_MAX = 32  # queued frames analysed in one vectorised call
QUEUE_PER_CUSHION = 256  # frames; beyond this the oldest are dropped (newest wins)
STATE_EVENT_INTERVAL_S = 0.25  # wall time between SSE state events per cushion
SUBSCRIBER_QUEUE = 256
PROCESS_SLICE_S = 0.01  # wall time analysis may hold the event loop per cushion before yielding
MAX_CUSHIONS = 256
# Frames of another grid under a cushion's id for this long (frame time) and this many are
# another cushion plugged in in its place; fewer are strays, dropped as `wrong_grid`.
REGRID_S = 2.0
REGRID_FRAMES = 5
# A batch is analysed when the first frame after its due time arrives, or this long after its
# due time if none does (the cushion stopped or is slower than this).
SILENT_AFTER_S = 0.1


HEATMAP_MIN_PEAK = 0.08  # full-scale units; about a light sitter's sit-bone peak


def _heatmap(calibrator: Any, frame: Frame) -> np.ndarray:
    """The frame as calibration sees it (tare removed, masked cells filled), without learning from it."""
    from monitor.calibration.cells import fill_masked

    load = frame.cells.astype(np.float64) * calibrator.scale - calibrator.offset
    load = fill_masked(load, calibrator.mask)
    return np.clip(load, 0.0, None)


class CushionSlot:
    """Everything the daemon keeps for one cushion."""

    def __init__(self, cushion: str, engine: CushionEngine):
        self.cushion = cushion
        self.engine = engine
        self.queue: collections.deque[Frame] = collections.deque()
        self.drops: collections.Counter[str] = collections.Counter()  # frames the daemon dropped, by reason
        self.last_step: EngineStep | None = None
        self.last_frame_wall: float | None = None
        self.due_wall = 0.0  # when the frames queued now are to be analysed (analysis.max_delay_ms)
        self.other_grid: tuple[tuple[int, int], float, int] | None = None  # shape, since (t), frames
        self.last_event_wall = 0.0
        self.last_posture: str | None = None
        self.last_occupied: bool | None = None

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def drop(self, reason: str) -> bool:
        """Count one dropped frame; True when it deserves a log line (1st, 10th, 100th, every 1000th)."""
        self.drops[reason] += 1
        n = self.drops[reason]
        return n in (1, 10, 100) or n % 1000 == 0


def build_input(settings: Settings) -> FrameInput:
    if settings.input == "serial":
        from monitor.transport.serial_port import SerialInput

        s = settings.serial
        return SerialInput(
            port=s.port,
            baud=s.baud,
            codec=s.codec,
            rows=s.rows,
            cols=s.cols,
            max_value=s.max_value,
            max_value_set="max_value" in s.model_fields_set,
            cushion=settings.cushion,
            reconnect_max_s=s.reconnect_max_s,
            # frames wait up to max_delay_ms for analysis anyway; a fifth of it in the driver
            gather_s=min(0.05, settings.analysis.max_delay_ms / 1000.0 / 5),
        )
    if settings.input == "mqtt":
        from monitor.transport.mqtt_input import MqttInput

        return MqttInput(settings.mqtt)
    from monitor.transport.simulated import SimulatedInput

    return SimulatedInput(settings.sim, cushion=settings.cushion)


def _with_own_client_id(settings: Settings) -> Settings:
    """No mqtt.client_id set: one of this daemon's own, stable across restarts (it keys the
    broker's persistent session) and different for another daemon (another database)."""
    if settings.mqtt.client_id is not None or not (settings.input == "mqtt" or settings.mqtt.host):
        return settings
    from monitor.mqtt.connection import default_client_id

    own = default_client_id(settings.mqtt, identity=str(Path(settings.store.db).expanduser().resolve()))
    return settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": own})})


def _open_journal(settings: Settings) -> Any:
    if not settings.journal.enabled or str(settings.store.db) == ":memory:":
        return None
    from monitor.journal import JournalBook

    return JournalBook(settings.store.db)


def _start_journal_mqtt(settings: Settings, journal: Any) -> Any:
    """Pain over MQTT / Home Assistant (monitor/journal/mqtt_entity.py): only with a broker configured."""
    if journal is None or not settings.mqtt.host or not settings.journal.mqtt_entity:
        return None
    from monitor.journal.mqtt_entity import JournalMqtt

    entity = JournalMqtt(settings.mqtt, journal)
    entity.start()
    return entity


class Daemon(ReminderControls):
    """Implements monitor.runtime.Runtime for the dashboard (pause etc.: ReminderControls)."""

    def __init__(self, settings: Settings, frame_input: FrameInput | None = None, store: Any = None):
        from monitor.sinks.store import Store

        settings = _with_own_client_id(settings)
        self.config = settings
        self.input = frame_input or build_input(settings)
        self.store = store if store is not None else Store(settings.store.db)
        self._apply_saved_settings()
        self.journal = _open_journal(settings)  # pain journal (monitor/journal); None when off
        self.slots: dict[str, CushionSlot] = {}
        self._slots_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._subscribers: set[asyncio.Queue] = set()
        self._publisher = None
        from monitor.sinks.desktop_notify import DesktopNotifier

        self._notifier = DesktopNotifier(settings.notify.desktop)
        self._recorder = RawRecorder(settings.store.record) if settings.store.record is not None else None
        self._stopping = False
        self.started_wall = time.time()
        self.refused_cushions = 0
        self._drops_logged: dict[tuple, dict[str, int]] = {}  # (input, cushion) -> drops already logged

    # ---- settings -------------------------------------------------------------
    def _apply_saved_settings(self) -> None:
        saved = self.store.load_settings()
        if saved:
            try:
                self._validate_patch(saved, apply=True)
                log.info("applied settings saved from the dashboard: %s", saved)
            except ValueError as exc:
                log.warning("ignoring saved dashboard settings: %s", exc)

    def _validate_patch(self, patch: dict[str, Any], apply: bool) -> dict[str, Any]:
        unknown = set(patch) - {"rules", "analysis", "mounting"}
        if unknown:
            raise ValueError(f"unknown settings section(s): {', '.join(sorted(unknown))}")
        from pydantic import ValidationError

        from monitor.config.settings import format_validation_error

        from monitor.config.settings import MountingConfig

        try:
            rules = RulesConfig(**{**self.config.rules.model_dump(), **(patch.get("rules") or {})})
            analysis = AnalysisConfig(**{**self.config.analysis.model_dump(), **(patch.get("analysis") or {})})
            mounting_patch = patch.get("mounting") or {}
            current = self.config.mounting.model_dump()
            mounting = MountingConfig(**{**current, **mounting_patch,
                                         "cushions": {**current["cushions"], **(mounting_patch.get("cushions") or {})}})
        except ValidationError as exc:
            raise ValueError(format_validation_error(exc).replace("config error: ", "")) from None
        if apply:
            self.config.rules = rules
            self.config.analysis = analysis
            self.config.mounting = mounting
        return {"rules": rules.model_dump(), "analysis": analysis.model_dump()}

    # ---- frame intake (input threads) -------------------------------------------
    def _intake(self, frame: Frame) -> None:
        slot = self.slots.get(frame.cushion)
        if slot is None:
            slot = self._new_slot(frame)
            if slot is None:
                return
        q = slot.queue
        if len(q) >= QUEUE_PER_CUSHION:
            q.popleft()
            if slot.drop("queue_full"):
                log.warning("cushion %s: analysis cannot keep up; %d frames dropped so far (oldest first, newest kept)",
                            frame.cushion, slot.drops["queue_full"])
        q.append(frame)
        now = slot.last_frame_wall = time.monotonic()
        # The loop is told of the first frame after a batch is due (so the batch ends with a
        # fresh frame, which the dashboard then shows) and of a full batch; frames in between
        # only queue up, which is where the CPU is saved. A batch's first frame needs telling
        # only when no timer is set: while frames flow the loop keeps one (`_process_due`), in
        # case the cushion falls silent.
        n = len(q)
        if n == 1:
            delay = self.config.analysis.max_delay_ms / 1000.0
            slot.due_wall = now + delay
            if delay and self._timer is not None:
                return
        elif n < BATCH_MAX and now < slot.due_wall:
            return
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not wake.is_set():
            loop.call_soon_threadsafe(wake.set)

    def _new_slot(self, frame: Frame) -> CushionSlot | None:
        with self._slots_lock:
            slot = self.slots.get(frame.cushion)
            if slot is not None:
                return slot
            if len(self.slots) >= MAX_CUSHIONS:
                self.refused_cushions += 1
                return None
            rows, cols = frame.shape
            device = DeviceInfo(device=frame.cushion, rows=rows, cols=cols, max_value=frame.max_value)
            # frame time 0 of this cushion is "now minus the first frame's time"
            epoch = datetime.fromtimestamp(time.time() - frame.t / self._time_scale(), tz=UTC)
            tracker = self._restore_tracker(frame.cushion, epoch)
            engine = CushionEngine(frame.cushion, device, self.config.rules, self.config.analysis, epoch, tracker=tracker,
                                   mounting=self._mounting_for(frame.cushion))
            self.apply_pending_pause(engine.tracker, frame.t)
            self._restore_calibration(engine)
            slot = CushionSlot(frame.cushion, engine)
            self.slots[frame.cushion] = slot
            log.info("cushion %s: %dx%d, max_value %d", frame.cushion, rows, cols, frame.max_value)
            return slot

    def _restore_calibration(self, engine: CushionEngine) -> None:
        saved = self.store.load_calibration(engine.cushion)
        if not saved:
            return
        try:
            engine.analyzer.load_state(saved)
            log.info("cushion %s: calibration restored", engine.cushion)
        except Exception as exc:  # another grid or an older format: learn afresh
            log.warning("cushion %s: saved calibration not usable (%s); learning afresh", engine.cushion, exc)

    def _time_scale(self) -> float:
        return self.config.sim.speed if self.config.input == "sim" else 1.0

    def _restore_tracker(self, cushion: str, epoch: datetime):
        from monitor.tracker.tracker import CushionTracker

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
        """Analyse the cushions whose batch is due (full, or its first frame waited max_delay_ms);
        arm a timer for the next one."""
        assert self._wake is not None
        now = time.monotonic()
        next_due = math.inf
        gather_s = self.config.analysis.max_delay_ms / 1000.0
        for slot in list(self.slots.values()):
            if not slot.queue:
                if gather_s and slot.last_frame_wall is not None and now - slot.last_frame_wall < 1.0:
                    # frames flow: the next batch's first frame is due soon after now
                    next_due = min(next_due, now + gather_s + SILENT_AFTER_S)
                continue
            if not flush and len(slot.queue) < BATCH_MAX and now < slot.due_wall:
                next_due = min(next_due, slot.due_wall + SILENT_AFTER_S)
                continue
            # a time slice per cushion: a flooding cushion must not starve the API or the others
            slice_end = now + PROCESS_SLICE_S
            while slot.queue and (flush or time.monotonic() < slice_end):
                for frame, step in self._process_some(slot):
                    self._handle_step(slot, step)
                    if self._recorder is not None:
                        self._recorder.write(frame)
            if slot.engine.mounting_check.changed:
                self._mounting_found(slot)
            self._maybe_emit_state(slot)
            if slot.queue:
                slot.due_wall = now  # overdue: more to do after the loop has served the others
                self._wake.set()
            elif gather_s:
                next_due = min(next_due, now + gather_s + SILENT_AFTER_S)
        self._set_timer(None if self._wake.is_set() else next_due)

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

    def _process_some(self, slot: CushionSlot) -> list[tuple[Frame, EngineStep]]:
        """Up to BATCH_MAX queued frames through the engine in one vectorised call.

        Same results as one frame at a time (CushionEngine.process_batch), at a fraction of
        the per-frame cost when frames queue up (many cushions, a burst, a fast simulation)."""
        device = slot.engine.device
        batch: list[Frame] = []
        while slot.queue and len(batch) < BATCH_MAX:
            frame = slot.queue.popleft()
            if frame.shape == (device.rows, device.cols):
                slot.other_grid = None
                if frame.max_value != device.max_value:
                    # the full scale changed (a late hello, or readings above it: codec/fullscale.py)
                    slot.queue.appendleft(frame)
                    if batch:
                        break
                    self._regrid(slot, frame)
                    device = slot.engine.device
                    continue
                batch.append(frame)
                continue
            # Another grid under this id: a stray frame, or another cushion plugged in.
            if slot.other_grid is None or slot.other_grid[0] != frame.shape:
                slot.other_grid = (frame.shape, frame.t, 0)
            shape, since, n = slot.other_grid
            slot.other_grid = (shape, since, n + 1)
            if n + 1 >= REGRID_FRAMES and frame.t - since >= REGRID_S:
                slot.queue.appendleft(frame)  # the first frame of the new cushion
                if batch:
                    break  # the old cushion's frames first
                self._regrid(slot, frame)
                device = slot.engine.device
                continue
            if slot.drop("wrong_grid"):
                log.warning("cushion %s: dropped %d frame(s) of %dx%d; this cushion is %dx%d (taken as a new"
                            " cushion if they go on for %.0f s)", slot.cushion, slot.drops["wrong_grid"],
                            *frame.shape, device.rows, device.cols, REGRID_S)
        if not batch:
            return []
        try:
            # the raw frames (what the recorder keeps), with what analysis made of them
            return list(zip(batch, slot.engine.process_batch(batch)))
        except Exception:
            pass  # find the frame at fault: one at a time
        done: list[tuple[Frame, EngineStep]] = []
        for frame in batch:
            try:
                done.append((frame, slot.engine.process(frame)))
            except Exception:
                if slot.drop("analysis_error"):
                    log.exception("cushion %s: analysis failed on a frame (%d so far); dropped", slot.cushion,
                                  slot.drops["analysis_error"])
        return done

    def _regrid(self, slot: CushionSlot, frame: Frame) -> None:
        """Another cushion (another grid) under this id: analysis starts afresh for its grid
        (calibration is learnt again); spells, breaks and reminders carry on."""
        old = slot.engine
        rows, cols = frame.shape
        device = DeviceInfo(device=frame.cushion, rows=rows, cols=cols, max_value=frame.max_value)
        slot.engine = CushionEngine(slot.cushion, device, self.config.rules, self.config.analysis,
                                    old.tracker.epoch, tracker=old.tracker, mounting=self._mounting_for(slot.cushion))
        slot.other_grid = None
        if (rows, cols) == (old.device.rows, old.device.cols):
            log.warning("cushion %s: now read at full scale %d (was %d); calibration starts afresh, the sitting"
                        " spell and reminders carry on", slot.cushion, frame.max_value, old.device.max_value)
            return
        log.warning("cushion %s: now a %dx%d cushion (was %dx%d); calibration starts afresh, the sitting"
                    " spell and reminders carry on", slot.cushion, rows, cols, old.device.rows, old.device.cols)

    def _handle_step(self, slot: CushionSlot, step: EngineStep) -> None:
        slot.last_step = step
        upd = step.update
        try:
            self.store.record(slot.cushion, step.reading, upd)
        except Exception:
            log.exception("store: could not record an update (analysis goes on)")
        for reminder in upd.reminders:
            self._announce_reminder(reminder)
        state = upd.state
        if state.posture != slot.last_posture or state.occupied != slot.last_occupied:
            slot.last_posture, slot.last_occupied = state.posture, state.occupied
            slot.last_event_wall = 0.0  # publish the change at once
        if self._publisher is not None:
            self._publisher.publish_state(state)

    def _announce_reminder(self, reminder: Reminder) -> None:
        log.info("reminder %s for %s: %s", reminder.kind, reminder.cushion, reminder.message)
        payload = reminder.as_json()
        self._broadcast("reminder", payload)
        self._notifier.notify(reminder)
        if self._publisher is not None:
            self._publisher.publish_reminder(reminder)

    def _maybe_emit_state(self, slot: CushionSlot) -> None:
        now = time.monotonic()
        if slot.last_step is None or now - slot.last_event_wall < STATE_EVENT_INTERVAL_S:
            return
        slot.last_event_wall = now
        self._broadcast("state", self._state_event(slot))

    def _state_event(self, slot: CushionSlot) -> dict[str, Any]:
        event = self._status_entry(slot)
        event["t"] = round(slot.last_step.update.state.t, 3) if slot.last_step else None
        event["sit_limit_s"] = self.config.rules.sit_limit_min * 60
        event["frame"] = self.latest_frame(slot.cushion)
        event["dropped"] = slot.dropped
        return event

    # ---- fan-out ------------------------------------------------------------------
    def _broadcast(self, kind: str, payload: dict[str, Any]) -> None:
        for q in list(self._subscribers):
            if q.full():
                if kind == "state":
                    continue  # a slow page skips states, never reminders
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait((kind, payload))

    # ---- Runtime protocol ---------------------------------------------------------
    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(q)
        for slot in list(self.slots.values()):
            if slot.last_step is not None:
                q.put_nowait(("state", self._state_event(slot)))
        return q

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def _input_health(self) -> dict[str, dict[str, Any]]:
        try:
            return {h["cushion"]: h for h in self.input.health()}
        except Exception:
            log.exception("input health failed")
            return {}

    def _status_entry(self, slot: CushionSlot, health: dict[str, Any] | None = None) -> dict[str, Any]:
        if health is None:
            health = self._input_health().get(slot.cushion, {})
        state = slot.last_step.update.state if slot.last_step else None
        age = None if slot.last_frame_wall is None else round(time.monotonic() - slot.last_frame_wall, 3)
        return {
            "cushion": slot.cushion,
            "occupied": bool(state and state.occupied),
            "posture": state.posture if state else "empty",
            "left_share": None if state is None or state.left_share is None else round(state.left_share, 4),
            "spell_s": round(state.spell_s, 1) if state else 0.0,
            "connected": bool(health.get("connected", False)),
            "last_frame_age_s": age,
        }

    def status(self) -> list[dict[str, Any]]:
        health = self._input_health()
        entries = [self._status_entry(s, health.get(s.cushion, {})) for s in list(self.slots.values())]
        for cushion, h in health.items():  # a configured cushion that has sent nothing yet
            if cushion not in self.slots:
                entries.append(
                    {"cushion": cushion, "occupied": False, "posture": "empty", "left_share": None, "spell_s": 0.0,
                     "connected": bool(h.get("connected")), "last_frame_age_s": None}
                )
        return sorted(entries, key=lambda e: e["cushion"])

    def health(self) -> dict[str, Any]:
        inputs = list(self._input_health().values())
        for h in inputs:
            slot = self.slots.get(h["cushion"])
            if slot is not None and slot.drops:
                h["drops"] = {**h.get("drops", {}), **slot.drops}
        store_health = self.store.health()
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started_wall, 1),
            "input": self.config.input,
            "inputs": inputs,
            # input refused before it belonged to any cushion (a bad cushion id, too many cushions)
            "unattributed_drops": self._unattributed_drops(),
            "store": store_health,
            "refused_cushions": self.refused_cushions,
            "record_errors": self._recorder.lost_frames if self._recorder is not None else 0,
            "notices": self.notices(inputs),
        }

    def reminders(self, since: datetime | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        return self.store.reminders(since=since, cushion=cushion)

    # ---- mounting and full scale (runtime/mounting_notices.py) -------------------------
    def _mounting_for(self, cushion: str):
        from monitor.runtime.mounting_notices import mounting_for

        return mounting_for(self.config.mounting, cushion)

    def _mounting_found(self, slot: CushionSlot) -> None:
        from monitor.runtime.mounting_notices import announce_finding

        announce_finding(slot.cushion, slot.engine)
        self._broadcast("notice", {"cushion": slot.cushion, "notices": self.notices()})

    def notices(self, inputs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """What a person must know about the set-up: mounting findings and full-scale warnings."""
        from monitor.runtime.mounting_notices import collect_notices

        if inputs is None:
            inputs = list(self._input_health().values())
        return collect_notices({c: s.engine for c, s in list(self.slots.items())}, inputs)

    def set_mounting(self, cushion: str, mounting: dict[str, Any]) -> dict[str, Any]:
        """Set how one cushion lies and is wired (dashboard "Apply"); analysis starts afresh for it,
        the spell and reminders carry on. Raises ValueError with a user message."""
        from monitor.model import valid_cushion_id

        if not valid_cushion_id(cushion):
            raise ValueError(f"{cushion!r} is not a cushion id")
        patch = {"mounting": {"cushions": {cushion: mounting}}}
        self._validate_patch(patch, apply=True)
        self.store.save_settings(patch)
        entry = self.config.mounting.for_cushion(cushion)
        slot = self.slots.get(cushion)
        if slot is not None:
            old = slot.engine
            slot.engine = CushionEngine(cushion, old.device, self.config.rules, self.config.analysis, old.tracker.epoch,
                                        tracker=old.tracker, mounting=self._mounting_for(cushion))
            slot.last_step = None
        log.warning("cushion %s: mounting set to orientation %s, mirror %s, invert %s; calibration starts afresh",
                    cushion, entry.orientation, entry.mirror, entry.invert)
        return {"cushion": cushion, **entry.model_dump()}

    def _find_reminder(self, reminder_id: str) -> dict[str, Any] | None:
        return self.store.get_reminder(reminder_id)

    def acknowledge(self, reminder_id: str) -> dict[str, Any] | None:
        found = self._find_reminder(reminder_id)
        if found is None:
            return None
        slot = self.slots.get(found["cushion"])
        if slot is not None:
            slot.engine.tracker.acknowledge(reminder_id)
        updated = self.store.ack_reminder(reminder_id)
        if updated is not None:
            self._broadcast("reminder_update", updated)
        return updated

    def snooze(self, reminder_id: str, minutes: float) -> dict[str, Any] | None:
        found = self._find_reminder(reminder_id)
        if found is None:
            return None
        slot = self.slots.get(found["cushion"])
        until_t = None
        if slot is not None:
            until_t = slot.engine.tracker.snooze(found["kind"], minutes)
            # the snooze lives in the tracker snapshot: save it now, not at the next periodic
            # snapshot, so a crash a moment later does not bring the reminder back
            self.store.save_snapshot(slot.cushion, slot.engine.tracker.snapshot())
        self.store.snooze_reminder(reminder_id, minutes)  # written at once, with the snapshot queued above
        self._broadcast("reminder_update", {**found, "snoozed_min": minutes})
        return {"reminder": found, "kind": found["kind"], "minutes": minutes, "until_t": until_t}

    def daily_stats(self, days: int, cushion: str | None = None) -> list[dict[str, Any]]:
        return self.store.daily_stats(days, cushion=cushion)

    def timeline(self, cushion: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
        return self.store.timeline(cushion=cushion, day=day)

    def latest_frame(self, cushion: str) -> dict[str, Any] | None:
        slot = self.slots.get(cushion)
        if slot is None or slot.last_step is None:
            return None
        reading = slot.last_step.reading
        load = _heatmap(slot.engine.analyzer.calibrator, slot.last_step.frame)
        peak = float(load.max()) if load.size else 0.0
        # an empty seat is drawn dark, not as its noise stretched to full colour
        scaled = np.clip(load / max(peak, HEATMAP_MIN_PEAK), 0, 1)
        rows, cols = scaled.shape
        return {
            "rows": rows,
            "cols": cols,
            "load": np.round(scaled, 3).tolist(),
            "peaks": reading.features.get("peaks") or [],
            "midline_col": reading.features.get("midline_col"),
            "cop": reading.features.get("cop"),
        }

    def settings(self) -> dict[str, Any]:
        return {"rules": self.config.rules.model_dump(), "analysis": self.config.analysis.model_dump()}

    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        result = self._validate_patch(patch, apply=True)
        self._apply_to_engines()
        self.store.save_settings(patch)
        log.info("settings changed from the dashboard: %s", patch)
        return result

    def _apply_to_engines(self) -> None:
        for slot in list(self.slots.values()):
            slot.engine.tracker.update_rules(self.config.rules)
            slot.engine.analyzer.update_config(self.config.analysis)

    def reload(self, fresh: Settings) -> None:
        """SIGHUP: take the rules and analysis sections of a freshly loaded config."""
        patch = {"rules": fresh.rules.model_dump(), "analysis": fresh.analysis.model_dump()}
        self._validate_patch(patch, apply=True)
        self._apply_to_engines()
        logging.getLogger().setLevel(fresh.log_level)
        log.info("configuration reloaded (rules, analysis, log level)")

    # ---- life cycle -----------------------------------------------------------------
    def _snapshot_all(self) -> None:
        for slot in list(self.slots.values()):
            try:
                self.store.save_snapshot(slot.cushion, slot.engine.tracker.snapshot())
                self.store.save_calibration(slot.cushion, slot.engine.analyzer.state_dict())
            except Exception:
                log.exception("could not save the state of %s", slot.cushion)

    async def _snapshot_forever(self, every_s: float = 5.0) -> None:
        while not self._stopping:
            await asyncio.sleep(every_s)
            self._snapshot_all()
            self._log_new_drops()
            if self._recorder is not None:
                self._recorder.flush()

    def _unattributed_drops(self) -> dict[str, int]:
        drops = getattr(self.input, "drops", None)
        return drops.snapshot() if drops is not None else {}

    def _log_new_drops(self) -> None:
        """Bad input is counted by the decoders at DEBUG level; say it at WARNING, at most every 5 s."""
        seen = self._drops_logged
        try:
            inputs = self.health()["inputs"]
        except Exception:
            log.exception("health failed")
            return
        inputs = [*inputs, {"input": self.config.input, "cushion": "(no cushion)", "drops": self._unattributed_drops()}]
        for h in inputs:
            key = (h.get("input"), h.get("cushion"))
            drops = dict(h.get("drops") or {})
            before = seen.get(key, {})
            new = {r: n - before.get(r, 0) for r, n in drops.items() if n > before.get(r, 0)}
            if new:
                log.warning("cushion %s (%s): input dropped since the last report: %s", h.get("cushion"), h.get("input"),
                            ", ".join(f"{r} {n}" for r, n in sorted(new.items())))
            seen[key] = drops

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.config.input == "mqtt" or self.config.mqtt.host:
            try:
                from monitor.sinks.mqtt_publisher import MqttPublisher

                self._publisher = MqttPublisher(self.config.mqtt)
                self._publisher.start()
            except ImportError:
                log.warning("MQTT publisher not available")
        self._journal_mqtt = _start_journal_mqtt(self.config, self.journal)
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
        for task in getattr(self, "_tasks", []):
            task.cancel()
        if self._wake is not None:
            try:  # frames gathered for a batch are analysed, not lost
                self._process_due(flush=True)
            except Exception:
                log.exception("could not analyse the last frames")
        self._snapshot_all()
        if self._publisher is not None:
            self._publisher.stop()
        if getattr(self, "_journal_mqtt", None) is not None:
            self._journal_mqtt.stop()
        if self._recorder is not None:
            self._recorder.close()
        self.store.close()
        if self.journal is not None:
            self.journal.close()
        log.info("daemon stopped")
