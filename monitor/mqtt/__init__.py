"""The one MQTT connection that the MQTT input and the MQTT publisher share (paho-mqtt 2.x), and the topics they use."""

from monitor.mqtt.connection import MqttConnection, default_client_id
from monitor.mqtt.topics import (
    cushion_in,
    cushion_status_topic,
    frames_topic,
    monitor_status_topic,
    reminders_topic,
    state_topic,
)

__all__ = [
    "MqttConnection",
    "cushion_in",
    "cushion_status_topic",
    "default_client_id",
    "frames_topic",
    "monitor_status_topic",
    "reminders_topic",
    "state_topic",
]
