"""Publishes what the monitor concludes to MQTT (CONTRACT §3).

- `<prefix>/<cushion>/state`: retained, QoS 0, `{"cushion","t","occupied","posture","left_share","spell_s"}`;
  at most one per MIN_INTERVAL_S per cushion (its newest after each run of steps the daemon
  analysed), but at once on every change of occupied or posture; a suppressed update is sent
  when its interval is over (so the retained state is never stale by more than that), and the
  latest state of every cushion is sent again after a reconnect (QoS 0 published while the
  broker is away is lost).
- `<prefix>/<cushion>/reminders`: QoS 1, the reminder JSON (CONTRACT §6); queued by paho while
  the broker is away and delivered after the reconnect.
- `<prefix>/status`: `online` (retained) on connect, `offline` as the last will (see mqtt_client).
- Home Assistant discovery configs per cushion when `mqtt.ha_discovery` is on.

Shares one connection with `MqttInput` (`MqttConnection.shared`). All methods are thread-safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from monitor.config.settings import MqttConfig
from monitor.model import CushionState, Reminder
from monitor.mqtt.connection import MqttConnection
from monitor.mqtt.topics import reminders_topic, state_topic
from monitor.sinks import ha_discovery
from monitor.sinks.base import CushionStep

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.5  # ~2 state messages per second per cushion
# tick() sends a held state once this share of the interval is over: batches come about one
# interval apart, and one that comes a little early must not wait for the flusher
TICK_SHARE = 0.8


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


class _Last:
    __slots__ = ("mono", "occupied", "posture", "payload", "pending")

    def __init__(self) -> None:
        self.mono = 0.0
        self.occupied: bool | None = None
        self.posture: str | None = None
        self.payload: str | None = None  # last sent (or to be re-sent after a reconnect)
        # held back by the rate limit, sent by the flusher (serialised only then: most
        # states at 50 frames/s are never sent)
        self.pending: CushionState | None = None


class MqttPublisher:
    """A sink (monitor.sinks.base.Sink): each step's reminders, then its state."""

    name = "mqtt"

    def __init__(self, config: MqttConfig, min_interval_s: float = MIN_INTERVAL_S) -> None:
        if not config.host:
            raise ValueError("mqtt.host is not set")
        self.config = config
        self.prefix = config.topic_prefix
        self.min_interval_s = min_interval_s
        self.conn = MqttConnection.shared(config)
        self._lock = threading.Lock()
        self._cushions: dict[str, _Last] = {}
        self._discovered: set[str] = set()  # cushions whose discovery went out on this connection
        self._held: dict[str, None] = {}  # cushions with a state held by handle() for tick()
        self.counts: Counter[str] = Counter()  # states, reminders, suppressed, lost_reminders, discovery
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._started = False

    # ---- lifetime -------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stop.clear()
        self.conn.add_listener(self._on_connection)
        self.conn.acquire()
        self._flusher = threading.Thread(target=self._flush_forever, name="mqtt-state-flush", daemon=True)
        self._flusher.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=1.0)
        self._flush(force=True)
        self.conn.remove_listener(self._on_connection)
        self.conn.release()

    # ---- Sink -----------------------------------------------------------------------
    def handle(self, step: CushionStep) -> None:
        """Reminders at once; the state at once if occupied or posture changed, else held for
        tick(), which sends each cushion's newest after a run of steps (the daemon analyses a
        cushion's frames in batches: the batch's last state, not its first, is the fresh one)."""
        for reminder in step.reminders:
            self.publish_reminder(reminder)
        self.publish_state(step.state, hold=True)

    def tick(self) -> None:
        """The newest held state of each cushion whose interval is (about) over; the rest go
        out from the flusher thread, on the publisher's own clock."""
        if not self._held:
            return
        now = time.monotonic()
        due: list[tuple[str, str]] = []
        with self._lock:
            held, self._held = self._held, {}
            for cushion in held:
                last = self._cushions[cushion]
                if last.pending is None:
                    continue
                if now - last.mono < TICK_SHARE * self.min_interval_s:
                    self._held[cushion] = None
                    continue
                payload = _dumps(last.pending.as_json())
                due.append((cushion, payload))
                last.mono, last.payload, last.pending = now, payload, None
        for cushion, payload in due:
            self._send_state(cushion, payload)

    def close(self) -> None:
        self.stop()

    def health(self) -> dict[str, Any]:
        return dict(self.counts)

    # ---- publishing -----------------------------------------------------------------
    def publish_state(self, state: CushionState, hold: bool = False) -> None:
        """Sent now if occupied or posture changed or the interval is over; else kept as the
        cushion's pending state (`hold`: kept for tick() even when the interval is over)."""
        now = time.monotonic()
        with self._lock:
            last = self._cushions.get(state.cushion)
            if last is None:
                last = self._cushions[state.cushion] = _Last()
            changed = state.occupied != last.occupied or state.posture != last.posture
            if not changed and (hold or now - last.mono < self.min_interval_s):
                last.pending = state
                self.counts["suppressed"] += 1
                if hold:
                    self._held[state.cushion] = None
                return
            payload = _dumps(state.as_json())
            last.mono, last.occupied, last.posture = now, state.occupied, state.posture
            last.payload, last.pending = payload, None
            discover = self.config.ha_discovery and state.cushion not in self._discovered
            if discover:
                self._discovered.add(state.cushion)
        if discover:
            self._publish_discovery(state.cushion)
        self._send_state(state.cushion, payload)

    def publish_reminder(self, reminder: Reminder) -> None:
        info = self.conn.publish(
            reminders_topic(self.prefix, reminder.cushion), _dumps(reminder.as_json()), qos=1, retain=False
        )
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self.counts["lost_reminders"] += 1
            log.warning("mqtt: outgoing queue full, reminder %s not sent", reminder.id)
        else:
            # MQTT_ERR_NO_CONN is fine for QoS 1: paho keeps it and sends it after the reconnect
            self.counts["reminders"] += 1

    def _send_state(self, cushion: str, payload: str) -> None:
        self.conn.publish(state_topic(self.prefix, cushion), payload, qos=0, retain=True)
        self.counts["states"] += 1

    def _publish_discovery(self, cushion: str) -> None:
        for topic, payload in ha_discovery.discovery_messages(self.config, cushion):
            self.conn.publish(topic, ha_discovery.encode(payload), qos=1, retain=True)
            self.counts["discovery"] += 1

    # ---- background -----------------------------------------------------------------
    def _flush_forever(self) -> None:
        while not self._stop.wait(self.min_interval_s / 2):
            try:
                self._flush()
            except Exception:  # keep flushing whatever one bad cycle did
                log.exception("mqtt: state flush failed")

    def _flush(self, force: bool = False) -> None:
        now = time.monotonic()
        due: list[tuple[str, str]] = []
        with self._lock:
            for cushion, last in self._cushions.items():
                if last.pending is not None and (force or now - last.mono >= self.min_interval_s):
                    payload = _dumps(last.pending.as_json())
                    due.append((cushion, payload))
                    last.mono, last.payload, last.pending = now, payload, None
        for cushion, payload in due:
            self._send_state(cushion, payload)

    def _on_connection(self, connected: bool, _error: str | None) -> None:
        """After a (re)connect: discovery again (a broker may have lost it) and the latest states."""
        if not connected:
            return
        with self._lock:
            latest = [
                (c, _dumps(last.pending.as_json()) if last.pending is not None else last.payload)
                for c, last in self._cushions.items()
            ]
            self._discovered = {c for c, _ in latest} if self.config.ha_discovery else set()
        for cushion, payload in latest:
            if self.config.ha_discovery:
                self._publish_discovery(cushion)
            if payload is not None:
                self._send_state(cushion, payload)
