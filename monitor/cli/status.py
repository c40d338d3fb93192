"""`sitwell status` and `sitwell dnd on|off`: ask the running daemon (monitor.cli.client) and
print its answers for people.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
from datetime import datetime
from typing import Any

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

log = logging.getLogger(__name__)

# ---- formatting ------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    if not seconds:
        return "0:00"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def format_when(iso: str | None, now: datetime | None = None) -> str:
    """An ISO-8601 time as a person reads it, in local time: "14:35" today, "tomorrow 00:00",
    "yesterday 17:10", else "Mon 30 Nov 09:05". Unreadable input is shown as it came."""
    if not iso:
        return "-"
    try:
        when = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    if when.tzinfo is None:
        when = when.astimezone()  # a naive time is the machine's local time
    when = when.astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    clock = when.strftime("%H:%M")
    days = (when.date() - today).days
    if days == 0:
        return clock
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    return f"{when.strftime('%a')} {when.day} {when.strftime('%b')} {clock}"


def format_balance(left_share: float | None) -> str:
    if left_share is None:
        return "-"
    left = round(left_share * 100)
    return f"left {left}% / right {100 - left}%"


def format_drops(drops: dict[str, int] | None) -> str:
    drops = {k: v for k, v in (drops or {}).items() if v}
    if not drops:
        return "0"
    total = sum(drops.values())
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in sorted(drops.items())) + ")"


def summary(url: str, health: dict[str, Any], cushions: list[dict[str, Any]]) -> str:
    """The terminal summary: one block per cushion, then inputs no cushion has spoken on yet."""
    inputs = list(health.get("inputs") or [])
    lines = [f"sitwell at {url}: {health.get('status', '?')}"]
    if not cushions:
        lines.append("  no cushion has sent a frame yet")
    for c in cushions:
        name = c.get("cushion", "?")
        lines.append(f"  {name}")
        lines.append(f"    occupied   {'yes' if c.get('occupied') else 'no'}")
        lines.append(f"    posture    {c.get('posture', '-')}")
        lines.append(f"    balance    {format_balance(c.get('left_share'))}")
        lines.append(f"    spell      {format_duration(c.get('spell_s'))}")
        mine = [i for i in inputs if i.get("cushion") in (name, None)]
        connected = c.get("connected")
        if connected is None and mine:
            connected = any(i.get("connected") for i in mine)
        age = c.get("last_frame_age_s")
        age_txt = "" if age is None else f", last frame {age:.1f} s ago"
        lines.append(f"    input      {'connected' if connected else 'NOT connected'}{age_txt}")
        for i in mine:
            lines.append(_input_line(i))
    seen = {c.get("cushion") for c in cushions}
    for i in inputs:
        if i.get("cushion") is not None and i.get("cushion") in seen:
            continue
        if not cushions or i.get("cushion") is not None:
            lines.append(_input_line(i, show_cushion=True))
    return "\n".join(lines)


def _input_line(i: dict[str, Any], show_cushion: bool = False) -> str:
    who = f" {i.get('cushion')}" if show_cushion and i.get("cushion") else ""
    state = "connected" if i.get("connected") else "NOT connected"
    indent = "    " if show_cushion else " " * 15  # under the value column of its cushion's block
    text = (f"{indent}{i.get('input', 'input')}{who}: {state}, frames {i.get('frames', 0)}, "
            f"drops {format_drops(i.get('drops'))}")
    if i.get("error"):
        text += f", error: {i['error']}"
    return text


# ---- commands ----------------------------------------------------------------------------------


@click.command("status")
@url_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's answers as JSON instead.")
def status_command(url: str | None, config_file: str | None, as_json: bool) -> None:
    """Ask the running daemon how you sit: posture, balance, spell, input health."""
    url, _ = daemon_address(url, None, config_file)
    try:
        health = request_json(url, "/healthz")
        cushions = request_json(url, "/api/status")
    except DaemonUnreachable as exc:
        click.echo(f"{exc}\nstart it with `sitwell run` (or `sitwell service install`), or pass --url", err=True)
        sys.exit(1)
    except DaemonError as exc:
        click.echo(f"{url}: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"healthz": health, "status": cushions}, indent=2))
        return
    click.echo(summary(url, health or {}, cushions or []))
    extra = extras(url, health or {})
    if extra:
        click.echo(extra)


def daemon_now(health: dict[str, Any]) -> datetime:
    """Now on the daemon's clock (reminders and pauses are on it; simulated at --speed X)."""
    clock = health.get("clock") if isinstance(health, dict) else None
    try:
        if isinstance(clock, dict):
            return datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00")).astimezone()
    except (KeyError, ValueError):
        pass
    return datetime.now().astimezone()


def clock_line(health: dict[str, Any]) -> str | None:
    clock = health.get("clock") if isinstance(health, dict) else None
    if not isinstance(clock, dict) or not clock.get("simulated"):
        return None
    now = daemon_now(health)
    return (f"  clock: simulated, {clock.get('speed', 1):g}x faster than the wall; it says"
            f" {format_when(now.isoformat(), now)} (reminder and pause times are on it)")


def extras(url: str, health: dict[str, Any] | None = None) -> str:
    """Do-not-disturb, a timed pause and the latest reminder: nice to know, so any failure just
    leaves them out."""
    health = health or {}
    now = daemon_now(health)
    lines = [line for line in [clock_line(health)] if line]
    try:
        rules = (request_json(url, "/api/settings") or {}).get("rules") or {}
        if rules.get("do_not_disturb"):
            lines.append("  do not disturb: on (reminders held; `sitwell dnd off`)")
    except (DaemonUnreachable, DaemonError, AttributeError):
        pass
    try:
        pause = request_json(url, "/api/pause") or {}
        if pause.get("paused"):
            lines.append(f"  reminders paused until {format_when(pause.get('until'), now)}"
                         f" ({format_duration(pause.get('remaining_s'))} left; `sitwell pause off`)")
    except (DaemonUnreachable, DaemonError, AttributeError):
        pass
    try:
        # today's only: without `since` the daemon would send every reminder it ever stored
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        reminders = request_json(url, "/api/reminders?since=" + urllib.parse.quote(midnight.isoformat())) or []
    except (DaemonUnreachable, DaemonError):
        reminders = []
    # newest first; one stamped after the daemon's now is another run's (a faster simulation's)
    # clock, not the last thing that happened here
    past = [r for r in reminders if isinstance(r, dict) and not _after(r.get("at"), now)]
    if past:
        r = past[0]
        state = "acknowledged" if r.get("acknowledged") else "not acknowledged"
        lines.append(f"  last reminder: {r.get('kind')} at {format_when(r.get('at'), now)} on {r.get('cushion')}"
                     f" ({state}): {r.get('message')}")
    return "\n".join(lines)


def _after(iso: Any, now: datetime, slack_s: float = 1.0) -> bool:
    try:
        when = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.astimezone()
    return (when - now).total_seconds() > slack_s


@click.command("dnd")
@click.argument("state", type=click.Choice(["on", "off", "show"]), default="show")
@url_option
@config_option
@token_option
def dnd_command(state: str, url: str | None, config_file: str | None, token: str | None) -> None:
    """Do not disturb: `on` holds every reminder, `off` lets them through again."""
    url, token = daemon_address(url, token, config_file)
    try:
        if state == "show":
            current = request_json(url, "/api/settings", token=token)
        else:
            patch = {"rules": {"do_not_disturb": state == "on"}}
            current = request_json(url, "/api/settings", method="PUT", body=patch, token=token)
    except DaemonUnreachable as exc:
        click.echo(f"{exc}\nstart it with `sitwell run`, or pass --url", err=True)
        sys.exit(1)
    except DaemonError as exc:
        click.echo(f"{url}: {exc}", err=True)
        sys.exit(1)
    dnd = bool(((current or {}).get("rules") or {}).get("do_not_disturb"))
    click.echo(f"do not disturb: {'on (reminders held)' if dnd else 'off'}")
