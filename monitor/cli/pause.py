"""`sitwell pause 1h|"1 hour"|90min|1h30|tomorrow|off`: pause the running daemon's reminders.

Talks to the daemon's HTTP API like `sitwell status` (same --url / --token / config rules,
monitor.cli.client). Durations are read by the one duration parser (monitor.config.parse),
the same the daemon uses, so a typo is explained here without a round trip. Without an
argument it shows whether reminders are paused and for how long.
"""

from __future__ import annotations

import sys

import click

from monitor.cli.client import (
    DaemonError,
    DaemonUnreachable,
    config_option,
    daemon_address,
    request_json,
    token_option,
    url_option,
)
from monitor.cli.status import format_duration, format_when
from monitor.config.parse import parse_pause


def describe(status: dict) -> str:
    if not status.get("paused"):
        return "reminders: on (not paused)"
    left = format_duration(status.get("remaining_s"))
    return f"reminders paused until {format_when(status.get('until'))} ({left} left)"


@click.command("pause")
@click.argument("duration", required=False, nargs=-1, metavar='[30m|1h|"1 hour"|90min|1h30|tomorrow|off]')
@url_option
@config_option
@token_option
def pause_command(duration: tuple[str, ...], url: str | None, config_file: str | None, token: str | None) -> None:
    """Pause reminders for a while (30m, 1h, "1 hour", 90 min, 1h30 ...) or until tomorrow;
    `off` resumes. They resume by themselves."""
    spec = " ".join(duration) if duration else None  # `sitwell pause 1 hour` reads as "1 hour"
    url, token = daemon_address(url, token, config_file)
    if spec is not None:
        try:
            what = parse_pause(spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="DURATION") from None
    try:
        if spec is None:
            status = request_json(url, "/api/pause")
        elif what is None:
            status = request_json(url, "/api/pause", method="DELETE", token=token)
        else:
            status = request_json(url, "/api/pause", method="POST", body={"for": spec}, token=token)
    except DaemonUnreachable as exc:
        click.echo(f"{exc}\nstart it with `sitwell run`, or pass --url", err=True)
        sys.exit(1)
    except DaemonError as exc:
        click.echo(f"{url}: {exc}", err=True)
        sys.exit(1)
    click.echo(describe(status or {}))
