"""Inputs: where frames come from — a serial port or pty, an MQTT broker, or the simulator.

base.py (FrameInput, the interface every input implements; InputHealth), serial_port.py
(SerialInput and the device clock), mqtt_input.py (MqttInput), simulated.py (SimulatedInput).
The inputs are imported on first use (PEP 562): the daemon builds only the one it is told
to, so a serial set-up never loads paho, nor an MQTT one pyserial.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from monitor.transport.base import Emit, FrameInput, InputHealth

if TYPE_CHECKING:
    from monitor.transport.mqtt_input import MqttInput
    from monitor.transport.serial_port import DeviceClock, SerialInput
    from monitor.transport.simulated import SimulatedInput

__all__ = ["DeviceClock", "Emit", "FrameInput", "InputHealth", "MqttInput", "SerialInput", "SimulatedInput"]

_LAZY = {
    "DeviceClock": "monitor.transport.serial_port",
    "MqttInput": "monitor.transport.mqtt_input",
    "SerialInput": "monitor.transport.serial_port",
    "SimulatedInput": "monitor.transport.simulated",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
