"""Hostile clients at the dashboard port (issue 19.2): 1,100 TCP connections that send
nothing, and a slow-loris one that trickles its request head. With the usual soft limit of
1,024 open files they used up every descriptor: each request timed out while asyncio logged
`socket.accept() out of system resource` hundreds of thousands of times. Now idle
connections are bounded and closed, the soft limit is raised to the hard one, and repeated
log lines collapse."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.plugins.faults import SitwellProcess, wait_until, write_config


def _idle_sockets(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def _closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _fds(pid: int) -> int:
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.parametrize("nofile", [(1024, 1024), (1024, 8192)], ids=["hard-1024", "soft-below-hard"])
def test_1100_idle_connections_leave_the_dashboard_answering_and_the_log_small(tmp_path, nofile):
    d = SitwellProcess(tmp_path, config=write_config(tmp_path / "sitwell.toml"), nofile=nofile)
    socks: list[socket.socket] = []
    try:
        limits = Path(f"/proc/{d.pid}/limits").read_text().splitlines()
        limit = int(next(line.split()[3] for line in limits if line.startswith("Max open files")))
        assert limit == nofile[1], "the soft limit is raised to the hard one at start"
        socks = _idle_sockets(d.port, 1100)
        assert len(socks) >= 1000
        for _ in range(10):
            t0 = time.monotonic()
            r = httpx.get(d.base + "/healthz", timeout=3.0)
            assert r.status_code == 200 and time.monotonic() - t0 < 1.0
            time.sleep(0.2)
        assert _fds(d.pid) < 400, "idle connections waiting for a request are bounded"
        time.sleep(11)  # past the request-head timeout: the rest are closed too
        assert all(_closed_by_server(s) for s in socks[-50:])
        assert httpx.get(d.base + "/healthz", timeout=3.0).status_code == 200
        assert len(d.log) < 20_000, d.log[-3000:]
        assert "Traceback" not in d.log
    finally:
        for s in socks:
            s.close()
        d.kill()


def test_slow_loris_request_head_is_cut_off(tmp_path):
    d = SitwellProcess(tmp_path, config=write_config(tmp_path / "sitwell.toml"))
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 40
        t0 = time.monotonic()
        closed = False
        for byte in head:
            try:
                s.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if _closed_by_server(s):
                closed = True
                break
            s.setblocking(True)
            s.settimeout(5)
            time.sleep(0.25)
            if time.monotonic() - t0 > 20:
                break
        assert closed and time.monotonic() - t0 < 15, "a head trickled in byte by byte is cut off after 10 s"
        assert wait_until(lambda: httpx.get(d.base + "/healthz", timeout=2).status_code == 200, 5)
    finally:
        s.close()
        d.kill()
