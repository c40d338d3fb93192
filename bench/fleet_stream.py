"""The fleet overview's traffic with many cushions: what one open fleet page receives.

Runs the real daemon and dashboard in this process, reading N cushions played from the tour
scenario (tests/plugins/fleet_input.py: one frame per cushion every --period s, frame time
5x the wall clock per 2 s period), and for --seconds reads /api/fleet/stream and, beside it,
one cushion's /api/stream?cushion=. Prints per run and the median of --runs runs:
fleet events/s, rows/s, bytes/s (whole run, and after the first --settle seconds, when the
catch-up of every row is over), the largest event in rows, one cushion's live stream in
bytes/s, the daemon's CPU share, and how long /api/fleet, /api/status and /healthz take.

    .venv/bin/python bench/fleet_stream.py --cushions 1000 --seconds 20 --runs 3

Say the machine's load (`uptime`) with the figures: the daemon shares the cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.plugins.browser import InProcessDaemon  # noqa: E402
from tests.plugins.fleet_input import FLEET_RULES, FleetInput  # noqa: E402

log = logging.getLogger("bench.fleet_stream")


def read_fleet(url: str, seconds: float, settle: float, out: dict) -> None:
    start = time.monotonic()
    events = rows = received = biggest = 0
    late = {"events": 0, "rows": 0, "bytes": 0}
    with httpx.Client(timeout=seconds + 10) as client, client.stream("GET", url + "/api/fleet/stream") as r:
        buf = b""
        for chunk in r.iter_raw():
            now = time.monotonic() - start
            received += len(chunk)
            if now > settle:
                late["bytes"] += len(chunk)
            buf += chunk.replace(b"\r\n", b"\n")  # sse-starlette ends lines with CRLF
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                text = block.decode()
                if "event: fleet" not in text:
                    continue
                n = len(json.loads(text.split("data: ", 1)[1])["rows"])
                events, rows, biggest = events + 1, rows + n, max(biggest, n)
                if now > settle:
                    late["events"] += 1
                    late["rows"] += n
            if now > seconds:
                break
    took = time.monotonic() - start
    out.update(events_s=events / took, rows_s=rows / took, bytes_s=received / took, biggest=biggest,
               late_events_s=late["events"] / (took - settle), late_rows_s=late["rows"] / (took - settle),
               late_bytes_s=late["bytes"] / (took - settle))


def read_cushion(url: str, cushion: str, seconds: float, out: dict) -> None:
    start = time.monotonic()
    received = 0
    with httpx.Client(timeout=seconds + 10) as client, client.stream(
            "GET", url + "/api/stream", params={"cushion": cushion}) as r:
        for chunk in r.iter_raw():
            received += len(chunk)
            if time.monotonic() - start > seconds:
                break
    out["cushion_bytes_s"] = received / (time.monotonic() - start)


def timed_get(url: str) -> tuple[float, int]:
    t = time.perf_counter()
    r = httpx.get(url, timeout=30)
    return (time.perf_counter() - t) * 1000, len(r.content)


def one_run(n: int, seconds: float, settle: float, period: float) -> dict:
    d = InProcessDaemon(Path(tempfile.mkdtemp(prefix="fleet-bench-")), dict(FLEET_RULES), {},
                        frame_input=FleetInput(n, period_s=period), max_cushions=n)
    try:
        deadline = time.monotonic() + 60
        while len(httpx.get(d.url + "/api/fleet", timeout=10).json()["rows"]) < n:
            if time.monotonic() > deadline:
                raise RuntimeError("the cushions did not come up")
            time.sleep(0.5)
        time.sleep(5)  # calibrated, seated: a fleet in its steady state
        out: dict = {}
        readers = [threading.Thread(target=read_fleet, args=(d.url, seconds, settle, out)),
                   threading.Thread(target=read_cushion, args=(d.url, "desk-0002", seconds, out))]
        cpu0, wall0 = time.process_time(), time.monotonic()
        for t in readers:
            t.start()
        time.sleep(seconds / 2)
        out["snapshot_ms"], out["snapshot_bytes"] = timed_get(d.url + "/api/fleet")
        out["status_ms"], _ = timed_get(d.url + "/api/status")
        out["healthz_ms"], _ = timed_get(d.url + "/healthz")
        for t in readers:
            t.join()
        out["cpu"] = (time.process_time() - cpu0) / (time.monotonic() - wall0)  # this process: daemon and readers
        return out
    finally:
        d.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cushions", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--period", type=float, default=2.0, help="wall seconds between two frames of a cushion")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    runs = []
    for i in range(args.runs):
        r = one_run(args.cushions, args.seconds, args.settle, args.period)
        runs.append(r)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r.items())), flush=True)
    print(f"median of {len(runs)} runs, {args.cushions} cushions, {args.seconds:.0f} s each:")
    for key in sorted(runs[0]):
        print(f"  {key:16s} {statistics.median(r[key] for r in runs):10.1f}")


if __name__ == "__main__":
    main()
