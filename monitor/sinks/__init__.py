"""Sinks: where each step goes — the store, MQTT, desktop notifications, raw recordings.

store/ (SQLite persistence), mqtt_publisher.py (state and reminders to a broker, with
ha_discovery.py for Home Assistant), desktop_notify.py (notify-send), recorder.py (the raw
frames as a recording). Imported on first use (PEP 562): the daemon loads only the sinks
its settings switch on, and `sitwell report` only the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.sinks.desktop_notify import DesktopNotifier
    from monitor.sinks.mqtt_publisher import MqttPublisher
    from monitor.sinks.recorder import RawRecorder
    from monitor.sinks.store import Store

__all__ = ["DesktopNotifier", "MqttPublisher", "RawRecorder", "Store"]

_LAZY = {
    "DesktopNotifier": "monitor.sinks.desktop_notify",
    "MqttPublisher": "monitor.sinks.mqtt_publisher",
    "RawRecorder": "monitor.sinks.recorder",
    "Store": "monitor.sinks.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
