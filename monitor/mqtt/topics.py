"""The MQTT topics of CONTRACT section 3, in one place: what the input subscribes to and what
the publisher and Home Assistant discovery publish on (`prefix` is `mqtt.topic_prefix`).

    <prefix>/<cushion>/frames     cushion -> monitor: binary packets (or JSON frames)
    <prefix>/<cushion>/status     cushion -> monitor: online / offline (retained, last will)
    <prefix>/<cushion>/state      monitor -> anyone: the cushion's state (retained)
    <prefix>/<cushion>/reminders  monitor -> anyone: reminders (QoS 1)
    <prefix>/status               the monitor's own online / offline
"""

from __future__ import annotations

from monitor.config.settings import MqttConfig

ANY_CUSHION = "+"  # the single-level wildcard, for subscribing to every cushion


def frames_topic(prefix: str, cushion: str) -> str:
    return f"{prefix}/{cushion}/frames"


def cushion_status_topic(prefix: str, cushion: str) -> str:
    return f"{prefix}/{cushion}/status"


def state_topic(prefix: str, cushion: str) -> str:
    return f"{prefix}/{cushion}/state"


def reminders_topic(prefix: str, cushion: str) -> str:
    return f"{prefix}/{cushion}/reminders"


def cushion_in(prefix: str, topic: str) -> str:
    """The cushion id a `<prefix>/<cushion>/...` topic names (not checked for validity)."""
    return topic[len(prefix) + 1 :].split("/", 1)[0]


def monitor_status_topic(config: MqttConfig) -> str:
    """The monitor's own online/offline topic.

    Two levels (`sitwell/status`), so it never matches the cushions' `sitwell/+/status`
    and no cushion id can collide with it. A daemon of a partition (mqtt.partition "i/n")
    has its own, `sitwell/status/partition-i-of-n`, so one dying is told from the others."""
    if config.partition:
        i, n = config.partition.split("/")
        return f"{config.topic_prefix}/status/partition-{i}-of-{n}"
    return f"{config.topic_prefix}/status"
