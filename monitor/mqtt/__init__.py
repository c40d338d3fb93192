"""The one MQTT connection that the MQTT input and the MQTT publisher share (paho-mqtt 2.x)."""

from monitor.mqtt.connection import MqttConnection, default_client_id, monitor_status_topic

__all__ = ["MqttConnection", "default_client_id", "monitor_status_topic"]
