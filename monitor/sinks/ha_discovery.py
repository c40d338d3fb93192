"""Home Assistant MQTT discovery for each cushion (off unless `mqtt.ha_discovery`).

Per cushion, four retained config messages under `<ha_prefix>/<component>/<node>/<object>/config`
describe entities that all read the cushion's retained state topic `<prefix>/<cushion>/state`:

- `sensor` posture (enum of CONTRACT §5 names)
- `sensor` spell time (duration, seconds)
- `sensor` balance: the left share in % (50 % = even; unknown while the seat is empty)
- `binary_sensor` occupied (occupancy)

Availability follows the monitor's own `<prefix>/status` (online, offline as its last will).
"""

from __future__ import annotations

import json
import re
from typing import Any

from monitor.config.settings import MqttConfig
from monitor.model import POSTURES
from monitor.mqtt.topics import monitor_status_topic, state_topic

ORIGIN = {"name": "sitwell", "support_url": "https://github.com/sitwell/sitwell"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def discovery_messages(config: MqttConfig, cushion: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) for every discovery config of one cushion."""
    # the node id also makes the unique ids: two monitors with different prefixes must not clash
    prefix = "" if config.topic_prefix == "sitwell" else f"{_slug(config.topic_prefix)}_"
    node = f"sitwell_{prefix}{cushion}"
    common: dict[str, Any] = {
        "state_topic": state_topic(config.topic_prefix, cushion),
        "availability_topic": monitor_status_topic(config),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [node],
            "name": f"Cushion {cushion}",
            "manufacturer": "sitwell",
            "model": "pressure cushion",
        },
        "origin": ORIGIN,
    }
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "sensor",
            "posture",
            {
                "name": "Posture",
                "device_class": "enum",
                "options": list(POSTURES),
                "value_template": "{{ value_json.posture }}",
                "icon": "mdi:seat-recline-normal",
            },
        ),
        (
            "sensor",
            "spell",
            {
                "name": "Sitting time",
                "device_class": "duration",
                "unit_of_measurement": "s",
                "state_class": "measurement",
                "value_template": "{{ value_json.spell_s }}",
                "icon": "mdi:timer-sand",
            },
        ),
        (
            "sensor",
            "balance",
            {
                "name": "Left share",
                "unit_of_measurement": "%",
                "state_class": "measurement",
                # "None" makes Home Assistant show the sensor as unknown (empty seat)
                "value_template": (
                    "{{ (value_json.left_share * 100) | round(1) "
                    "if value_json.left_share is not none else None }}"
                ),
                "icon": "mdi:scale-balance",
            },
        ),
        (
            "binary_sensor",
            "occupied",
            {
                "name": "Occupied",
                "device_class": "occupancy",
                "value_template": "{{ 'ON' if value_json.occupied else 'OFF' }}",
            },
        ),
    ]
    out = []
    for component, obj, extra in entities:
        payload = {**common, **extra, "unique_id": f"{node}_{obj}"}
        out.append((f"{config.ha_prefix}/{component}/{node}/{obj}/config", payload))
    return out


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def journal_topics(config: MqttConfig) -> tuple[str, str]:
    """(command topic, state topic) of the pain journal's number entity (docs/journal.md)."""
    return f"{config.topic_prefix}/journal/pain/set", f"{config.topic_prefix}/journal/pain"


def journal_discovery(config: MqttConfig) -> tuple[str, dict[str, Any]]:
    """The retained discovery config of a Home Assistant `number` that logs pain 0-10."""
    from monitor.mqtt.connection import monitor_status_topic

    prefix = "" if config.topic_prefix == "sitwell" else f"{_slug(config.topic_prefix)}_"
    node = f"sitwell_{prefix}journal"
    command, state = journal_topics(config)
    payload = {
        "name": "Pain now",
        "command_topic": command,
        "state_topic": state,
        "min": 0, "max": 10, "step": 1, "mode": "slider",
        "icon": "mdi:emoticon-sick-outline",
        "availability_topic": monitor_status_topic(config),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {"identifiers": [node], "name": "sitwell pain journal", "manufacturer": "sitwell",
                   "model": "pain and progress journal"},
        "origin": ORIGIN,
        "unique_id": f"{node}_pain",
    }
    return f"{config.ha_prefix}/number/{node}/pain/config", payload
