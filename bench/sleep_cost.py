#!/usr/bin/env python3
"""What this machine charges a thread for sleeping: CPU time per sleep of a given length.

On a bare machine a sleep costs a few microseconds of CPU (the system call and the wake-up),
whatever its length. Some virtual machines charge the sleeping thread for part of the time
it sleeps (seen here: a Firecracker guest charged ~1 ms of CPU per 50 ms sleep). Every
mostly idle process then shows a CPU share of about that ratio per waking thread, whatever
its own code does, so figures like "one serial cushion at 50 Hz: 1 % of a core" say as much
about the machine as about sitwell. Run this beside such figures and report both.

Measures, for each sleep length, `time.sleep` and an `Event.wait` with that timeout (what
sitwell's threads wait on) for --seconds each: this thread's CPU time (CLOCK_THREAD_CPUTIME_ID)
per sleep, and as a share of the time slept. Median of --runs runs.

    .venv/bin/python bench/sleep_cost.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable

LENGTHS_S = (0.001, 0.01, 0.05, 0.25)


def cost_of(wait: Callable[[float], object], length: float, seconds: float) -> tuple[float, float]:
    """(CPU µs per sleep, CPU share of the time slept) over `seconds` of sleeps of `length`."""
    cpu0, wall0, n = time.thread_time(), time.monotonic(), 0
    while time.monotonic() - wall0 < seconds:
        wait(length)
        n += 1
    cpu = time.thread_time() - cpu0
    return 1e6 * cpu / n, cpu / (time.monotonic() - wall0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="per sleep length and kind (default 2)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    event = threading.Event()
    kinds: dict[str, Callable[[float], object]] = {"time.sleep": time.sleep, "Event.wait": event.wait}
    rows = []
    for kind, wait in kinds.items():
        for length in LENGTHS_S:
            runs = [cost_of(wait, length, args.seconds) for _ in range(args.runs)]
            rows.append({"kind": kind, "sleep_ms": 1000 * length,
                         "cpu_us_per_sleep": statistics.median(r[0] for r in runs),
                         "cpu_share_of_sleep": statistics.median(r[1] for r in runs),
                         "runs": [list(r) for r in runs]})
    print("| wait | sleep ms | CPU µs a sleep | CPU % of the time slept |")
    print("|---|---|---|---|")
    for r in rows:
        share = 100 * r["cpu_share_of_sleep"]
        print(f"| {r['kind']} | {r['sleep_ms']:g} | {r['cpu_us_per_sleep']:.0f} | {share:.2f} |")
    print(f"\nmedian of {args.runs} runs of {args.seconds:g} s each")
    if args.json:
        text = json.dumps(rows, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
