"""Pain logged over MQTT: the journal's command topic, and the Home Assistant number entity
(discovery when `mqtt.ha_discovery`). Only when MQTT is configured and `journal.mqtt_entity`
is on; otherwise nothing of the journal goes near the network.

`<prefix>/journal/pain/set` takes `4` (plain 0-10) or JSON {"pain": 4, "where": [...],
"note": "..."}, at most MAX_PAYLOAD bytes. Retained messages there are ignored (a retained
command would log the same pain again on every reconnect). Bad payloads are logged and
counted, never raised. `<prefix>/journal/pain` (retained) carries the latest pain logged.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from monitor.config.settings import MqttConfig
from monitor.journal.entries import JournalError
from monitor.mqtt.connection import MqttConnection
from monitor.sinks import ha_discovery

log = logging.getLogger(__name__)

MAX_PAYLOAD = 1024


def parse_command(payload: bytes) -> dict[str, Any]:
    """{"pain", "where", "note"} from a command payload; raises JournalError."""
    if len(payload) > MAX_PAYLOAD:
        raise JournalError(f"payload of {len(payload)} bytes; at most {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise JournalError("payload is not UTF-8 text") from None
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            raise JournalError("payload is not valid JSON") from None
        unknown = sorted(set(body) - {"pain", "where", "note"})
        if unknown:
            raise JournalError(f"unknown keys {', '.join(unknown)}: use pain, where, note")
        if "pain" not in body:
            raise JournalError("no pain in the payload")
        return {"pain": body["pain"], "where": body.get("where"), "note": body.get("note")}
    return {"pain": text, "where": None, "note": None}


class JournalMqtt:
    """Subscribes to the command topic, logs to the book, publishes state and discovery."""

    def __init__(self, config: MqttConfig, book: Any):
        self.config = config
        self.book = book
        self.command_topic, self.state_topic = ha_discovery.journal_topics(config)
        self.conn = MqttConnection.shared(config)
        self.counts: Counter[str] = Counter()  # logged, rejected, retained_ignored

    def start(self) -> None:
        self.conn.add_listener(self._on_connection)
        self.conn.subscribe(self.command_topic, 1, self._on_message)
        self.conn.acquire()

    def stop(self) -> None:
        self.conn.unsubscribe(self.command_topic)
        self.conn.remove_listener(self._on_connection)
        self.conn.release()

    def _on_connection(self, connected: bool, _error: str | None) -> None:
        if not connected:
            return
        if self.config.ha_discovery:
            topic, payload = ha_discovery.journal_discovery(self.config)
            self.conn.publish(topic, ha_discovery.encode(payload), qos=1, retain=True)
        latest = self.book.entries(limit=1)
        if latest:
            self.conn.publish(self.state_topic, str(latest[0].pain), qos=1, retain=True)

    def _on_message(self, msg: Any) -> None:
        if msg.retain:
            self.counts["retained_ignored"] += 1
            log.warning("journal mqtt: a retained message on %s ignored (it would log again on every "
                        "reconnect); clear it with an empty retained message", msg.topic)
            return
        try:
            command = parse_command(bytes(msg.payload))
            entry = self.book.add(command["pain"], where=command["where"], note=command["note"], source="mqtt")
        except JournalError as exc:
            self.counts["rejected"] += 1
            log.warning("journal mqtt: %s refused: %s", msg.topic, exc)
            return
        except Exception:  # the database: logged loudly, the daemon goes on
            self.counts["rejected"] += 1
            log.exception("journal mqtt: could not store the entry")
            return
        self.counts["logged"] += 1
        self.conn.publish(self.state_topic, str(entry.pain), qos=1, retain=True)
