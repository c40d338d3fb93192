"""The daemon's frame input, built from the settings (serial, MQTT or the simulated cushion)."""

from __future__ import annotations

from pathlib import Path

from monitor.config.settings import Settings
from monitor.transport.base import FrameInput


def build_input(settings: Settings) -> FrameInput:
    if settings.input == "serial":
        from monitor.transport.serial_port import SerialInput

        s = settings.serial
        assert s.port is not None  # Settings refuses input "serial" without serial.port
        return SerialInput(
            port=s.port,
            baud=s.baud,
            codec=s.codec,
            rows=s.rows,
            cols=s.cols,
            max_value=s.max_value,
            max_value_set="max_value" in s.model_fields_set,
            cushion=settings.cushion,
            reconnect_max_s=s.reconnect_max_s,
            gather_s=driver_gather_s(settings),
        )
    if settings.input == "mqtt":
        from monitor.transport.mqtt_input import MqttInput

        return MqttInput(settings.mqtt)
    from monitor.transport.simulated import SimulatedInput

    return SimulatedInput(settings.sim, cushion=settings.cushion,
                          gather_s=driver_gather_s(settings))


def driver_gather_s(settings: Settings) -> float:
    """How long a reader thread lets bytes gather between reads. Frames wait up to
    max_delay_ms for analysis anyway: two fifths of it in the driver, at most 0.1 s (10 reads
    a second at the default rather than 20: one serial cushion at 50 Hz cost 1.03 % of a core
    instead of 1.20, docs/performance.md's fifth round)."""
    return min(0.1, settings.analysis.max_delay_ms / 1000.0 * 0.4)


def with_own_client_id(settings: Settings) -> Settings:
    """No mqtt.client_id set: one of this daemon's own, stable across restarts (it keys the
    broker's persistent session) and different for another daemon (another database)."""
    if settings.mqtt.client_id is not None or not (settings.input == "mqtt" or settings.mqtt.host):
        return settings
    from monitor.mqtt.connection import default_client_id

    own = default_client_id(settings.mqtt, identity=str(Path(settings.store.db).expanduser().resolve()))
    return settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": own})})


def time_scale(settings: Settings) -> float:
    """Frame seconds per wall second: the simulation's speed, else 1."""
    return settings.sim.speed if settings.input == "sim" else 1.0
