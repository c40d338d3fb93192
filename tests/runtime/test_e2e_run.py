"""End to end: `sitwell run` on the simulated cushion, a reminder arrives over SSE."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SITWELL_CONFIG": ""}
    env.pop("SITWELL_CONFIG")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--port", str(port), "--db", str(tmp_path / "e2e.db"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sitwell run exited: {proc.stderr.read()}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("sitwell run did not come up within 20 s")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("sitwell run did not stop within 5 s of SIGTERM") from None
    return out + err


def sse_events(response: httpx.Response):
    event, data = None, []
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event or "message", json.loads("\n".join(data))
            event, data = None, []


@pytest.mark.slow
def test_run_prints_address_and_raises_sit_too_long_over_sse(tmp_path):
    proc, base = _start(tmp_path, "--speed", "150", "--scenario", "long-spell")
    try:
        status = httpx.get(base + "/api/status").json()
        assert [c["cushion"] for c in status] in ([], ["cushion-1"])
        kinds_seen: set[str] = set()
        reminder = None
        deadline = time.monotonic() + 60
        with httpx.stream("GET", base + "/api/stream", timeout=httpx.Timeout(10, read=30)) as r:
            assert r.status_code == 200
            for event, payload in sse_events(r):
                kinds_seen.add(event)
                if event == "reminder" and payload["kind"] == "sit_too_long":
                    reminder = payload
                    break
                if time.monotonic() > deadline:
                    break
        assert reminder is not None, f"no sit_too_long within 60 s; events seen: {kinds_seen}"
        assert "state" in kinds_seen
        assert set(reminder) >= {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}
        assert reminder["spell_s"] >= 25 * 60
        assert reminder["acknowledged"] is False
        listed = httpx.get(base + "/api/reminders").json()
        assert any(r["id"] == reminder["id"] for r in listed)
        ack = httpx.post(base + f"/api/reminders/{reminder['id']}/ack")
        assert ack.status_code == 200 and ack.json()["acknowledged"] is True
    finally:
        output = _stop(proc)
    assert f"sitwell dashboard: {base}/" in output
