"""Click parameter types for what people type on the command line, read by the one parser
each (monitor.config.parse): a broker address and a duration."""

from __future__ import annotations

from typing import Any

import click

from monitor.config.parse import Unit, parse_duration, parse_host_port

__all__ = ["DurationParam", "HostPortParam", "mqtt_overrides"]

MQTT_DEFAULT_PORT = 1883


class HostPortParam(click.ParamType):
    """HOST[:PORT] -> (host, port); a bare host gets `default_port`; IPv6 in brackets."""

    name = "HOST[:PORT]"

    def __init__(self, default_port: int = MQTT_DEFAULT_PORT) -> None:
        self.default_port = default_port

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_host_port(str(value), self.default_port)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DurationParam(click.ParamType):
    """A duration as people write it ("90 s", "2 min", "1h30") -> seconds; a bare number in `unit`."""

    name = "DURATION"

    def __init__(self, unit: Unit = "s", minimum_s: float | None = None, maximum_s: float | None = None) -> None:
        self.unit, self.minimum_s, self.maximum_s = unit, minimum_s, maximum_s

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(str(value), default_unit=self.unit)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if self.minimum_s is not None and seconds < self.minimum_s:
            self.fail(f"{value!r} is shorter than {self.minimum_s:g} s", param, ctx)
        if self.maximum_s is not None and seconds > self.maximum_s:
            self.fail(f"{value!r} is longer than {self.maximum_s:g} s", param, ctx)
        return seconds


def mqtt_overrides(broker: tuple[str, int] | str | None) -> dict[str, Any]:
    """The settings a --mqtt HOST[:PORT] flag stands for (nothing when not given).

    Raises click.BadParameter for an address that cannot be read."""
    if not broker:
        return {}
    if isinstance(broker, str):
        try:
            broker = parse_host_port(broker, MQTT_DEFAULT_PORT)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--mqtt") from None
    host, port = broker
    return {"mqtt.host": host, "mqtt.port": port, "input": "mqtt"}


def cushion_input_options(serial_help: str, mqtt_help: str) -> Any:
    """The options that name one cushion to read (serial port or broker, its codec and grid),
    shared by the commands that read a cushion for themselves (calibrate, setup)."""
    options = [
        click.option("--serial", "serial_port", metavar="PORT", help=serial_help),
        click.option("--codec", type=click.Choice(["binary", "text", "detect"])),
        click.option("--rows", type=int),
        click.option("--cols", type=int),
        click.option("--max-value", type=int),
        click.option("--baud", type=int),
        click.option("--mqtt", "mqtt_host", type=HostPortParam(), help=mqtt_help),
        click.option("--cushion", help="Which cushion (default cushion-1; with --mqtt: the first one heard)."),
    ]

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
