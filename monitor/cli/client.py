"""How the terminal commands (`status`, `dnd`, `pause`) reach the running daemon: its address,
its token and one JSON request over its HTTP API.

Plain urllib (no client library needed for a few GETs and PUTs). The daemon's address
comes from --url, else $SITWELL_URL, else the configured dashboard host and port; the
token (needed for state changes when the dashboard listens beyond loopback) from --token,
else $SITWELL_DASHBOARD__TOKEN or the config file.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

from monitor.config.settings import ConfigError, load_settings

__all__ = [
    "DaemonError",
    "DaemonUnreachable",
    "config_option",
    "daemon_address",
    "default_url",
    "request_json",
    "token_option",
    "url_option",
]

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
    if exc.code == 422 and isinstance(detail, str):
        return detail  # the daemon's own words on what it could not accept
    return f"HTTP {exc.code}: {detail or exc.reason}"

# ---- the options every daemon command shares ----------------------------------------------


def daemon_address(url: str | None, token: str | None, config_file: str | None) -> tuple[str, str | None]:
    """(url, token): the flags first, else the configuration (see the module doc)."""
    cfg_url, cfg_token = default_url(config_file)
    return (url or cfg_url).rstrip("/"), token or cfg_token


url_option = click.option(
    "--url", envvar="SITWELL_URL", help="The daemon's dashboard address (default: from the config, else http://127.0.0.1:8000)."
)
config_option = click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")
token_option = click.option(
    "--token", envvar="SITWELL_DASHBOARD__TOKEN", help="The dashboard token, when it listens beyond loopback."
)
