"""The `sitwell` command line (CONTRACT section 7)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
from typing import Any

import click

from monitor.cli.options import DurationParam, HostPortParam, mqtt_overrides
from monitor.config.settings import ConfigError, Settings, load_settings

log = logging.getLogger("sitwell")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def settings_or_exit(config: str | None, overrides: dict[str, Any]) -> Settings:
    try:
        return load_settings(config, overrides)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def exit_on_unknown_scenario(scenario: str) -> None:
    """A config error in the words of the others, not the simulator's traceback (the config
    model cannot check it: the simulator is an independent package the config does not import)."""
    from monitor.transport.simulated import scenario_problem

    problem = scenario_problem(scenario)
    if problem:
        click.echo(f"config error: sim.scenario = {scenario!r}: {problem}", err=True)
        sys.exit(2)


class LazyGroup(click.Group):
    """Subcommands that live with their own layer, imported only when used (fast start-up)."""

    lazy: dict[str, str] = {
        "sim": "firmware_sim.cli:sim",
        "report": "monitor.offline.report:report_command",
        "service": "monitor.cli.service:service_group",
        "config": "monitor.cli.config:config_group",
        "doctor": "monitor.cli.doctor:doctor_command",
        "status": "monitor.cli.status:status_command",
        "dnd": "monitor.cli.status:dnd_command",
        "pause": "monitor.cli.pause:pause_command",
        "calibrate": "monitor.cli.calibrate:calibrate_command",
        "setup": "monitor.cli.setup:setup_command",
        "log": "monitor.cli.journal:log_group",
        "journal": "monitor.cli.journal:journal_group",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sitwell")
def main() -> None:
    """sitwell: watches how you sit on a pressure cushion and tells you, in time,
    to sit evenly and to get up."""


@main.command()
@click.option("--serial", "serial_port", metavar="PORT", help="Read a cushion on a serial port, pty or pyserial URL.")
@click.option("--codec", type=click.Choice(["binary", "text", "detect"]), help="Serial codec (default: detect).")
@click.option("--rows", type=int, help="Grid rows, where the wire does not say it (text codec).")
@click.option("--cols", type=int, help="Grid columns, where the wire does not say it (text codec).")
@click.option("--max-value", type=int, help="Sensor full scale for the text codec (default 4095).")
@click.option("--baud", type=int, help="Serial speed (default 115200).")
@click.option("--mqtt", "mqtt_host", type=HostPortParam(),
              help="Read cushions from an MQTT broker (default port 1883).")
@click.option("--cushion", help="Cushion id for serial and simulated input (default cushion-1).")
@click.option("--host", help="Where the dashboard listens (default 127.0.0.1).")
@click.option("--port", type=int, help="Dashboard port (default 8000; 0 picks a free one).")
@click.option("--db", type=click.Path(dir_okay=False), help="The SQLite file (default: the user's data directory).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")
@click.option("--speed", type=float, help="Simulated input only: play the simulation X times faster.")
@click.option("--scenario", help="Simulated input only: scenario name or file (default workday).")
@click.option("--record", type=click.Path(dir_okay=False), help="Also keep the raw frames in this recording file.")
@click.option("--token", help="Token required for state changes when listening beyond loopback.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--orientation", type=click.Choice(["normal", "rotate90", "rotate180", "rotate270"]),
              help="How the cushion lies: rotate180 turned round, rotate90/rotate270 a quarter turn.")
@click.option("--mirror/--no-mirror", default=None, help="The cushion's left and right are swapped.")
@click.option("--invert/--no-invert", default=None, help="The cushion reads lower for more pressure.")
def run(serial_port: str | None, codec: str | None, rows: int | None, cols: int | None, max_value: int | None,
        baud: int | None, mqtt_host: str | None, cushion: str | None, host: str | None, port: int | None,
        db: str | None, config_file: str | None, speed: float | None, scenario: str | None, record: str | None,
        token: str | None, log_level: str | None, orientation: str | None, mirror: bool | None,
        invert: bool | None) -> None:
    """Run the daemon and the dashboard (simulated cushion unless --serial or --mqtt)."""
    overrides: dict[str, Any] = {
        "serial.port": serial_port,
        "serial.codec": codec,
        "serial.rows": rows,
        "serial.cols": cols,
        "serial.max_value": max_value,
        "serial.baud": baud,
        "cushion": cushion,
        "dashboard.host": host,
        "dashboard.port": port,
        "dashboard.token": token,
        "store.db": db,
        "store.record": record,
        "sim.speed": speed,
        "sim.scenario": scenario,
        "log_level": log_level.upper() if log_level else None,
        "mounting.orientation": orientation,
        "mounting.mirror": mirror,
        "mounting.invert": invert,
    }
    if rows is not None:
        overrides["sim.rows"] = rows
    if cols is not None:
        overrides["sim.cols"] = cols
    if serial_port:
        overrides["input"] = "serial"
    overrides.update(mqtt_overrides(mqtt_host))
    settings = settings_or_exit(config_file, overrides)
    if settings.input == "sim":
        exit_on_unknown_scenario(settings.sim.scenario)
    setup_logging(settings.log_level)
    host_ = settings.dashboard.host
    if host_ not in ("127.0.0.1", "localhost", "::1") and not settings.dashboard.token:
        click.echo(
            f"config error: dashboard.token is required when the dashboard listens on {host_} "
            "(use --token or SITWELL_DASHBOARD__TOKEN)",
            err=True,
        )
        sys.exit(2)
    from monitor.cli.preflight import listen_problem

    problem = listen_problem(host_, settings.dashboard.port)  # before the database is opened or migrated
    if problem:
        click.echo(problem, err=True)
        sys.exit(2)
    from monitor.runtime.server import serve

    def announce(url: str) -> None:
        click.echo(f"sitwell dashboard: {url}", err=False)
        if settings.dashboard.token and host_ not in ("127.0.0.1", "localhost", "::1"):
            # the token itself is not printed: logs outlive terminals
            click.echo(f"log in once per browser with {url}?token=<your dashboard token>")
        sys.stdout.flush()
        log.info("input: %s; database: %s", settings.input, settings.store.db)

    try:
        asyncio.run(serve(settings, announce=announce, reload_settings=lambda: load_settings(config_file, overrides)))
    except KeyboardInterrupt:
        pass
    except (RuntimeError, OSError) as exc:
        log.error("%s", exc)
        sys.exit(1)
    except sqlite3.DatabaseError as exc:  # a damaged or foreign file: say which, and leave it as it is
        log.error("database %s: %s (damaged, or not sitwell's? move it aside or choose another --db)",
                  settings.store.db, exc)
        sys.exit(1)


@main.command()
@click.argument("recording", type=click.Path(exists=True, dir_okay=False))
@click.option("--jsonl", is_flag=True, help="Write JSON Lines to stdout (the default, and the only format).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file (rules, analysis).")
@click.option("--sit-limit", type=DurationParam("min"),
              help="How long before sit_too_long: minutes, or e.g. 30m, 1h (default 25 minutes).")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal)."
)
def analyze(
    recording: str, jsonl: bool, config_file: str | None, sit_limit: float | None, progress: bool | None
) -> None:
    """Analyse a recording (CONTRACT section 4) as the daemon would, writing JSON Lines."""
    from monitor.codec.recording import RecordingError
    from monitor.offline.analyze import analyze_recording, jsonl_writer

    sit_limit_min = None if sit_limit is None else sit_limit / 60.0  # DurationParam gives seconds
    settings = settings_or_exit(config_file, {"rules.sit_limit_min": sit_limit_min, "input": "sim"})
    setup_logging("WARNING")
    show = sys.stderr.isatty() if progress is None else progress
    out = sys.stdout
    try:
        analyze_recording(recording, settings, jsonl_writer(out), progress=show)
    except RecordingError as exc:
        click.echo(f"error: {recording}: {exc}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.stderr.close()
    out.flush()


if __name__ == "__main__":
    main()
