"""What `sitwell run` checks before it touches anything (the database, the inputs): can the
dashboard listen where it is told to? One line with the fix instead of uvicorn's errno after
a migrated database."""

from __future__ import annotations

import errno
import json
import socket
import urllib.error
import urllib.request

__all__ = ["listen_problem", "sitwell_answers"]

PROBE_TIMEOUT_S = 2.0


def sitwell_answers(host: str, port: int) -> bool:
    """Is it a sitwell daemon that answers on host:port?"""
    name = f"[{host}]" if ":" in host else host
    name = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else name
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{name}:{port}/healthz", timeout=PROBE_TIMEOUT_S) as resp:
            body = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and "inputs" in body


def listen_problem(host: str, port: int) -> str | None:
    """Why the dashboard cannot listen on host:port, with the fix, in one line; None if it can."""
    if port == 0:
        return None  # any free port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind((host, port))
        return None
    except OSError as exc:
        code = exc.errno
        reason = exc.strerror or str(exc)
    where = f"{host}:{port}"
    if code == errno.EADDRINUSE:
        who = "a sitwell is already running there (`sitwell status` shows it)" if sitwell_answers(host, port) \
            else "another program uses it"
        other = port + 1 if port < 65535 else 8001
        return (f"error: the dashboard cannot listen on {where}: the port is in use, {who}; start with another"
                f" one, e.g. --port {other} (or --port 0 for any free port)")
    if code == errno.EACCES:
        return (f"error: the dashboard may not listen on {where} ({reason}): ports below 1024 need root;"
                " use e.g. --port 8000")
    return (f"error: the dashboard cannot listen on {where} ({reason}): check --host (an address of this"
            " machine, e.g. 127.0.0.1)")
