"""`sitwell status` and `sitwell dnd on|off`: talk to the running daemon over its HTTP API.

Plain urllib (no client library needed for two GETs and a PUT). The daemon's address
comes from --url, else $SITWELL_URL, else the configured dashboard host and port; the
token (needed for `dnd` when the dashboard listens beyond loopback) from --token, else
$SITWELL_DASHBOARD__TOKEN or the config file.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

import click

from monitor.config.settings import ConfigError, load_settings

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 3.0
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
# The daemon is on this machine or the LAN: an http_proxy from the environment must not
# carry these requests off somewhere else.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DaemonUnreachable(Exception):
    """No sitwell daemon answered; str() says where we looked and what to do."""


class DaemonError(Exception):
    """The daemon answered with an error; str() is the message for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def default_url(config_file: str | None = None) -> tuple[str, str | None]:
    """(url, token) from the configuration; the built-in default when it cannot be read."""
    try:
        settings = load_settings(config_file, {"input": "sim"})
    except ConfigError:
        return DEFAULT_URL, None
    host = settings.dashboard.host
    host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    port = settings.dashboard.port or 8000  # port 0 is "pick one": nothing to guess, try the default
    return f"http://{host}:{port}", settings.dashboard.token


def request_json(base: str, path: str, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    """One JSON request to the daemon at `base` (e.g. http://127.0.0.1:8000)."""
    url = base + path
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(req, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise DaemonError(exc.code, _error_message(exc)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DaemonUnreachable(f"no sitwell daemon answers at {base} ({reason})") from None
    except ValueError:
        raise DaemonUnreachable(f"{url} did not answer with JSON: is a sitwell daemon listening at {base}?") from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None
    if exc.code == 401:
        return "the daemon needs a token for this: use --token T (or SITWELL_DASHBOARD__TOKEN)"
    if exc.code == 404:
        return f"{exc.url} not found: is a sitwell daemon listening there?"
    if exc.code == 403:
        return f"the daemon refused: {detail or 'wrong token'}"
    return f"HTTP {exc.code}: {detail or exc.reason}"


# ---- formatting ------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    if not seconds:
        return "0:00"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


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


def _resolve(url: str | None, token: str | None, config_file: str | None) -> tuple[str, str | None]:
    cfg_url, cfg_token = default_url(config_file)
    return (url or cfg_url).rstrip("/"), token or cfg_token


_url_option = click.option(
    "--url", envvar="SITWELL_URL", help="The daemon's dashboard address (default: from the config, else http://127.0.0.1:8000)."
)
_config_option = click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")


@click.command("status")
@_url_option
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's answers as JSON instead.")
def status_command(url: str | None, config_file: str | None, as_json: bool) -> None:
    """Ask the running daemon how you sit: posture, balance, spell, input health."""
    url, _ = _resolve(url, None, config_file)
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
    extra = extras(url)
    if extra:
        click.echo(extra)


def extras(url: str) -> str:
    """Do-not-disturb, a timed pause and the latest reminder: nice to know, so any failure just
    leaves them out."""
    lines = []
    try:
        rules = (request_json(url, "/api/settings") or {}).get("rules") or {}
        if rules.get("do_not_disturb"):
            lines.append("  do not disturb: on (reminders held; `sitwell dnd off`)")
    except (DaemonUnreachable, DaemonError, AttributeError):
        pass
    try:
        pause = request_json(url, "/api/pause") or {}
        if pause.get("paused"):
            lines.append(f"  reminders paused until {pause.get('until')} ({format_duration(pause.get('remaining_s'))}"
                         " left; `sitwell pause off`)")
    except (DaemonUnreachable, DaemonError, AttributeError):
        pass
    try:
        # today's only: without `since` the daemon would send every reminder it ever stored
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        reminders = request_json(url, "/api/reminders?since=" + urllib.parse.quote(midnight.isoformat())) or []
    except (DaemonUnreachable, DaemonError):
        reminders = []
    if reminders and isinstance(reminders[0], dict):
        r = reminders[0]  # newest first
        state = "acknowledged" if r.get("acknowledged") else "not acknowledged"
        lines.append(
            f"  last reminder: {r.get('kind')} at {r.get('at')} on {r.get('cushion')} ({state}): {r.get('message')}"
        )
    return "\n".join(lines)


@click.command("dnd")
@click.argument("state", type=click.Choice(["on", "off", "show"]), default="show")
@_url_option
@_config_option
@click.option(
    "--token", envvar="SITWELL_DASHBOARD__TOKEN", help="The dashboard token, when it listens beyond loopback."
)
def dnd_command(state: str, url: str | None, config_file: str | None, token: str | None) -> None:
    """Do not disturb: `on` holds every reminder, `off` lets them through again."""
    url, token = _resolve(url, token, config_file)
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
