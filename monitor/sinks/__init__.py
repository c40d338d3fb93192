"""Sinks: where each step goes — the store, MQTT, desktop notifications, raw recordings, the
dashboard's live stream.

base.py (Sink, the interface every sink implements, and CushionStep, what each is handed),
store/ (SQLite persistence), mqtt_publisher.py (state and reminders to a broker, with
ha_discovery.py for Home Assistant), desktop_notify.py (notify-send), recorder.py (the raw
frames as a recording), broadcast.py (SseBroadcaster: the steps to /api/stream), fleet.py
(FleetFeed: a compact row per cushion to /api/fleet/stream, in bounded batches). The sinks
are imported on first use (PEP 562): the daemon loads only those its settings switch on,
and `sitwell report` only the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from monitor.sinks.base import CushionStep, Sink

if TYPE_CHECKING:
    from monitor.sinks.broadcast import SseBroadcaster
    from monitor.sinks.desktop_notify import DesktopNotifier
    from monitor.sinks.fleet import FleetFeed
    from monitor.sinks.mqtt_publisher import MqttPublisher
    from monitor.sinks.recorder import RawRecorder
    from monitor.sinks.store import Store

__all__ = ["CushionStep", "DesktopNotifier", "FleetFeed", "MqttPublisher", "RawRecorder", "Sink", "SseBroadcaster",
           "Store"]

_LAZY = {
    "DesktopNotifier": "monitor.sinks.desktop_notify",
    "FleetFeed": "monitor.sinks.fleet",
    "MqttPublisher": "monitor.sinks.mqtt_publisher",
    "RawRecorder": "monitor.sinks.recorder",
    "SseBroadcaster": "monitor.sinks.broadcast",
    "Store": "monitor.sinks.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
