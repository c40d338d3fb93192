"""What the dashboard is answered: the daemon's Runtime (monitor/runtime/protocol.py).

`RuntimeService` reads the cushions (their last steps), the input's health and the store, and
passes user actions (acknowledge, snooze, pause, settings) to the trackers and the store. It
never analyses anything: the daemon's loop does that, and the sinks get the results.
All methods run on the daemon's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from monitor.config.settings import Settings
from monitor.model import CushionState, DeviceInfo, valid_cushion_id
from monitor.runtime.controls import ReminderControls
from monitor.runtime.engine import CushionEngine
from monitor.runtime.live_settings import LiveSettings
from monitor.runtime.mounting_notices import announce_finding, collect_notices, mounting_for
from monitor.runtime.sitter import SetupControls, SitterControls
from monitor.runtime.slots import Cushions, CushionSlot, NewEngine
from monitor.sinks.base import Sink
from monitor.sinks.broadcast import Event, SseBroadcaster
from monitor.sinks.fleet import FleetEvent, FleetFeed
from monitor.sinks.recorder import RawRecorder
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker
from monitor.transport.base import FrameInput

log = logging.getLogger(__name__)

HEATMAP_MIN_PEAK = 0.08  # full-scale units; about a light sitter's sit-bone peak


def frame_flow(slot: CushionSlot, drops: Mapping[str, int]) -> dict[str, Any]:
    """A cushion's frames: received, analysed, shed (thinned by the daemon), lost_in_transit
    (seq gaps: dropped by the broker or the network before they reached us), and why."""
    flow: dict[str, Any] = {**slot.flow(), "lost_in_transit": int(drops.get("lost_in_transit", 0))}
    reasons = []
    if flow["shed"]:
        reasons.append(f"analysis could not keep up: frames thinned (now every {flow['keep_every']}. kept)"
                       if flow["keep_every"] > 1 else "analysis could not keep up: frames thinned")
    if flow["lost_in_transit"]:
        reasons.append("frames missing in the sequence: the broker or the network dropped them"
                       " (a subscriber too slow for the broker's queue?)")
    flow["reason"] = "; ".join(reasons) or None
    return flow


class RuntimeService(SitterControls, SetupControls):
    """Implements monitor.runtime.Runtime over the running daemon's parts (the sitter's own
    thresholds, corrections and the guided set-up: runtime/sitter.py)."""

    def __init__(
        self,
        config: Settings,
        cushions: Cushions,
        frame_input: FrameInput,
        store: Store,
        broadcaster: SseBroadcaster,
        live_settings: LiveSettings,
        controls: ReminderControls,
        recorder: RawRecorder | None = None,
        sinks: Sequence[Sink] = (),
        sink_errors: Mapping[str, int] | None = None,
        fleet: FleetFeed | None = None,
    ) -> None:
        self.config = config
        self.cushions = cushions
        self.input = frame_input
        self.store = store
        self.broadcaster = broadcaster
        self.fleet = fleet if fleet is not None else FleetFeed()  # the fleet overview's feed
        self.live_settings = live_settings
        self.controls = controls
        self.recorder = recorder
        self.sinks = sinks  # the daemon's list, in the order steps reach them
        self.sink_errors = sink_errors if sink_errors is not None else {}
        self.started_wall = time.time()
        self.setups: dict[str, Any] = {}  # cushion -> a guided set-up running (runtime/sitter.py)
        self._setup_results: dict[str, dict[str, Any]] = {}

    # ---- live view ------------------------------------------------------------------
    def subscribe(self, cushion: str | None = None) -> asyncio.Queue[Event]:
        return self.broadcaster.subscribe(cushion)

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self.broadcaster.unsubscribe(queue)

    def fleet_snapshot(self) -> dict[str, Any]:
        return self.fleet.snapshot()

    def fleet_subscribe(self) -> asyncio.Queue[FleetEvent]:
        return self.fleet.subscribe()

    def fleet_unsubscribe(self, queue: asyncio.Queue[FleetEvent]) -> None:
        self.fleet.unsubscribe(queue)

    def state_event(self, cushion: str) -> dict[str, Any] | None:
        """The body of an SSE `state` event: the status entry, the frame time, the heatmap frame."""
        slot = self.cushions.get(cushion)
        if slot is None or slot.last_step is None:
            return None
        event = self._status_entry(slot)
        event["t"] = round(slot.last_step.state.t, 3)
        event["sit_limit_s"] = self.config.rules.sit_limit_min * 60
        event["frame"] = self.latest_frame(cushion)
        event["dropped"] = slot.dropped
        return event

    def latest_frame(self, cushion: str) -> dict[str, Any] | None:
        slot = self.cushions.get(cushion)
        if slot is None or slot.last_step is None:
            return None
        step = slot.last_step
        load = step.load  # what analysis saw: tare and drift removed, masked cells filled
        peak = float(load.max()) if load.size else 0.0
        # an empty seat is drawn dark, not as its noise stretched to full colour
        scaled = np.clip(load / np.float32(max(peak, HEATMAP_MIN_PEAK)), 0, 1)
        rows, cols = scaled.shape
        reading = step.reading
        return {
            "rows": rows,
            "cols": cols,
            "load": np.round(scaled.astype(np.float64), 3).tolist(),  # float64: 0.123, not float32's 0.12300000339
            "peaks": reading.peaks.as_json() if reading.peaks is not None else [],
            "midline_col": reading.features.get("midline_col"),
            "cop": reading.features.get("cop"),
        }

    def input_health(self) -> dict[str, dict[str, Any]]:
        try:
            return {h["cushion"]: h for h in self.input.health()}
        except Exception:
            log.exception("input health failed")
            return {}

    def _status_entry(self, slot: CushionSlot, health: dict[str, Any] | None = None) -> dict[str, Any]:
        if health is None:  # one cushion's: building every cushion's made each state event O(cushions)
            try:
                health = self.input.health_of(slot.cushion) or {}
            except Exception:
                log.exception("input health failed")
                health = {}
        state = slot.last_step.state if slot.last_step else CushionState.idle(slot.cushion)
        age = None if slot.last_frame_wall is None else round(time.monotonic() - slot.last_frame_wall, 3)
        return state.status_json(bool(health.get("connected", False)), age)

    def status(self) -> list[dict[str, Any]]:
        health = self.input_health()
        entries = [self._status_entry(s, health.get(s.cushion, {})) for s in self.cushions.values()]
        for cushion, h in health.items():  # a configured cushion that has sent nothing yet
            if cushion not in self.cushions:
                entries.append(CushionState.idle(cushion).status_json(bool(h.get("connected")), None))
        return sorted(entries, key=lambda e: e["cushion"])

    def unattributed_drops(self) -> dict[str, int]:
        """Input refused before it belonged to any cushion (a bad cushion id, too many cushions)."""
        drops = getattr(self.input, "drops", None)  # only inputs that serve many cushions have it
        return drops.snapshot() if drops is not None else {}

    def health(self, cushion: str | None = None) -> dict[str, Any]:
        inputs = list(self.input_health().values())
        for h in inputs:
            slot = self.cushions.get(h["cushion"])
            if slot is not None and slot.drops:
                h["drops"] = {**h.get("drops", {}), **slot.drops}
            if slot is not None:
                h["flow"] = frame_flow(slot, h.get("drops") or {})
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started_wall, 1),
            "input": self.config.input,
            "clock": self.controls.clock(),  # the one clock reminders and pauses are on (controls.py)
            # the page of one cushion polls with `cushion`: the whole list is O(cushions)
            "inputs": inputs if cushion is None else [h for h in inputs if h["cushion"] == cushion],
            "inputs_total": len(inputs),
            "unattributed_drops": self.unattributed_drops(),
            # several daemons on one broker (mqtt.partition): what the others take, not a problem
            "partition": self.config.mqtt.partition if self.config.input == "mqtt" else None,
            "other_partition": {"frames": getattr(self.input, "other_partition", 0),
                                "cushions": self.input.foreign_cushions() if hasattr(self.input, "foreign_cushions")
                                else 0},
            "store": self.store.health(),
            "refused_cushions": self.cushions.refused,
            "expired_cushions": max(self.cushions.expired, getattr(self.input, "expired", 0)),
            "record_errors": self.recorder.lost_frames if self.recorder is not None else 0,
            "sinks": self._sink_health(),
            "notices": self.notices(inputs),
        }

    def _sink_health(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for sink in self.sinks:
            if sink is self.store:
                continue  # in "store" above
            try:
                out[sink.name] = {**sink.health(), "errors": self.sink_errors.get(sink.name, 0)}
            except Exception:  # a health view must not break /healthz
                log.exception("sink %s: health failed", sink.name)
        return out

    # ---- reminders ------------------------------------------------------------------
    def reminders(self, since: datetime | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        return self.store.reminders(since=since, cushion=cushion)

    def acknowledge(self, reminder_id: str) -> dict[str, Any] | None:
        found = self.store.get_reminder(reminder_id)
        if found is None:
            return None
        slot = self.cushions.get(found["cushion"])
        if slot is not None:
            slot.engine.tracker.acknowledge(reminder_id)
        updated = self.store.ack_reminder(reminder_id)
        if updated is not None:
            self.broadcaster.publish("reminder_update", updated)
            self.fleet.reminder_update(updated)
        return updated

    def snooze(self, reminder_id: str, minutes: float) -> dict[str, Any] | None:
        found = self.store.get_reminder(reminder_id)
        if found is None:
            return None
        slot = self.cushions.get(found["cushion"])
        until_t = None
        if slot is not None:
            until_t = slot.engine.tracker.snooze(found["kind"], minutes)
            # the snooze lives in the tracker snapshot: save it now, not at the next periodic
            # snapshot, so a crash a moment later does not bring the reminder back
            self.store.save_snapshot(slot.cushion, slot.engine.tracker.snapshot())
        self.store.snooze_reminder(reminder_id, minutes)  # written at once, with the snapshot queued above
        self.broadcaster.publish("reminder_update", {**found, "snoozed_min": minutes})
        self.fleet.reminder_update({**found, "snoozed_min": minutes})
        return {"reminder": found, "kind": found["kind"], "minutes": minutes, "until_t": until_t}

    def pause(self, spec: str | float | None) -> dict[str, Any]:
        return self.controls.pause(spec)

    def pause_status(self) -> dict[str, Any]:
        return self.controls.pause_status()

    def reminder_extras(self) -> list[dict[str, Any]]:
        return self.controls.reminder_extras()

    def offloads(self, day: str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        return self.controls.offloads(day=day, cushion=cushion)

    # ---- mounting and full scale (runtime/mounting_notices.py) -------------------------
    def notices(self, inputs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """What a person must know about the set-up: mounting findings and full-scale warnings."""
        rows: list[Mapping[str, Any]] = list(self.input_health().values() if inputs is None else inputs)
        return collect_notices({c: s.engine for c, s in self.cushions.items()}, rows)

    def mounting_found(self, slot: CushionSlot) -> None:
        """The mounting check of a cushion has decided: say so in the log and on the pages."""
        announce_finding(slot.cushion, slot.engine)
        self.broadcaster.publish("notice", {"cushion": slot.cushion, "notices": self.notices()})

    def engine_maker(self, cushion: str) -> NewEngine:
        """What makes the engine of another grid under `cushion`'s id: its tracker carries on."""

        def new_engine(device: DeviceInfo, tracker: CushionTracker) -> CushionEngine:
            return CushionEngine(cushion, device, self.config.rules, self.config.analysis, tracker.epoch,
                                 tracker=tracker, mounting=mounting_for(self.config.mounting, cushion),
                                 profile=self.sitter_profile(cushion))

        return new_engine

    def set_mounting(self, cushion: str, mounting: dict[str, Any]) -> dict[str, Any]:
        """Set how one cushion lies and is wired (dashboard "Apply"); analysis starts afresh for it,
        the spell and reminders carry on. Raises ValueError with a user message."""
        if not valid_cushion_id(cushion):
            raise ValueError(f"{cushion!r} is not a cushion id")
        patch = {"mounting": {"cushions": {cushion: mounting}}}
        self.live_settings.validate(patch, apply=True)
        self.store.save_settings(patch)
        entry = self.config.mounting.for_cushion(cushion)
        slot = self.cushions.get(cushion)
        if slot is not None:
            old = slot.engine
            slot.engine = self.engine_maker(cushion)(old.device, old.tracker)
            slot.last_step = None
        log.warning("cushion %s: mounting set to orientation %s, mirror %s, invert %s; calibration starts afresh",
                    cushion, entry.orientation, entry.mirror, entry.invert)
        return {"cushion": cushion, **entry.model_dump()}

    # ---- history --------------------------------------------------------------------
    def daily_stats(self, days: int, cushion: str | None = None) -> list[dict[str, Any]]:
        return self.store.daily_stats(days, cushion=cushion)

    def timeline(self, cushion: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
        return self.store.timeline(cushion=cushion, day=day)

    # ---- settings -------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return self.live_settings.current()

    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        return self.live_settings.update(patch)
