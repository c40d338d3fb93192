"""`sitwell pause 30m|1h|2h|tomorrow|off`: pause the running daemon's reminders.

Talks to the daemon's HTTP API like `sitwell status` (same --url / --token / config rules).
Without an argument it shows whether reminders are paused and for how long.
"""

from __future__ import annotations

import sys

import click

from monitor.cli.status import (
    DaemonError,
    DaemonUnreachable,
    _config_option,
    _resolve,
    _url_option,
    format_duration,
    request_json,
)


def describe(status: dict) -> str:
    if not status.get("paused"):
        return "reminders: on (not paused)"
    return f"reminders paused until {status.get('until')} ({format_duration(status.get('remaining_s'))} left)"


@click.command("pause")
@click.argument("duration", required=False, metavar="[30m|1h|2h|tomorrow|off]")
@_url_option
@_config_option
@click.option(
    "--token", envvar="SITWELL_DASHBOARD__TOKEN", help="The dashboard token, when it listens beyond loopback."
)
def pause_command(duration: str | None, url: str | None, config_file: str | None, token: str | None) -> None:
    """Pause reminders for 30m, 1h, 2h or until tomorrow; `off` resumes. They resume by themselves."""
    from monitor.runtime.controls import parse_pause

    url, token = _resolve(url, token, config_file)
    if duration is not None:
        try:
            parse_pause(duration)  # a typo is reported here, without a round trip
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="DURATION") from None
    try:
        if duration is None:
            status = request_json(url, "/api/pause")
        elif parse_pause(duration) is None:
            status = request_json(url, "/api/pause", method="DELETE", token=token)
        else:
            status = request_json(url, "/api/pause", method="POST", body={"for": duration}, token=token)
    except DaemonUnreachable as exc:
        click.echo(f"{exc}\nstart it with `sitwell run`, or pass --url", err=True)
        sys.exit(1)
    except DaemonError as exc:
        click.echo(f"{url}: {exc}", err=True)
        sys.exit(1)
    click.echo(describe(status or {}))
