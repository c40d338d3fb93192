#!/usr/bin/env python3
"""`sitwell analyze` on long recordings: wall time, CPU time and peak memory.

Generates (once, cached under $SITWELL_BENCH_CACHE, default /tmp/sitwell-bench-cache) a
16x16, 10 Hz recording of firmware_sim's `workday` scenario, 8 hours long (288,000 frames),
and a 1-hour one cut from the same day, then runs `sitwell analyze FILE --jsonl` on each as a
separate process, output to /dev/null. Peak RSS comes from the child's rusage (ru_maxrss):
if memory is flat, the 8-hour file peaks where the 1-hour one does.

Targets: 8 hours in under 30 s; memory flat.

Examples:
    python bench/analyze_long.py                 # 1 h and 8 h, gzipped, 3 runs each
    python bench/analyze_long.py --hours 1 --runs 5
    python bench/analyze_long.py --plain         # uncompressed .jsonl files instead
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common
from common import CACHE_DIR, dump_json, loadavg, machine, table

from firmware_sim import Simulator, load_scenario, write_recording

log = logging.getLogger("bench.analyze_long")

ROWS = COLS = 16
RATE_HZ = 10.0
SEED = 1


def recording(hours: float, plain: bool) -> Path:
    """The cached recording of the first `hours` of the workday; made if missing."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    name = f"workday-{ROWS}x{COLS}-{RATE_HZ:g}hz-seed{SEED}-{hours:g}h.jsonl" + ("" if plain else ".gz")
    path = CACHE_DIR / name
    if path.exists():
        return path
    sim = Simulator(load_scenario("workday"), ROWS, COLS, RATE_HZ, SEED, duration_s=hours * 3600.0)
    tmp = path.with_name(path.name + ".part" + ("" if plain else ".gz"))
    log.info("writing %s (once; cached) ...", path)
    t0 = time.perf_counter()
    n = write_recording(sim, tmp, cushion="bench-1", gz=not plain)
    tmp.rename(path)
    log.info("  %d frames, %.0f MB, %.0f s", n, path.stat().st_size / 1e6, time.perf_counter() - t0)
    return path


def sitwell_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("sitwell")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "monitor.cli"]


def analyze_once(path: Path) -> dict:
    """One `sitwell analyze` run: wall s, CPU s, peak RSS MB and the summary it printed."""
    out_path = CACHE_DIR / "analyze-out.jsonl"
    t0 = time.perf_counter()
    with open(out_path, "w") as out:
        proc = subprocess.Popen([*sitwell_cmd(), "analyze", str(path), "--jsonl"], stdout=out,
                                stderr=subprocess.PIPE, cwd=common.REPO)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"sitwell analyze exited {proc.returncode}: {err[-2000:]}")
    with open(out_path, "rb") as fh:
        fh.seek(max(0, out_path.stat().st_size - 65536))
        summary = json.loads(fh.read().splitlines()[-1])
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024.0,
            "frames": summary.get("frames"), "summary": summary}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", default="1,8", help="recording lengths in hours, comma-separated (default 1,8)")
    ap.add_argument("--runs", type=int, default=3, help="runs per file; the median is reported")
    ap.add_argument("--plain", action="store_true", help="uncompressed .jsonl instead of .jsonl.gz")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hours = [float(h) for h in args.hours.split(",") if h.strip()]
    files = {h: recording(h, args.plain) for h in hours}
    load0 = loadavg()[0]
    results = []
    for h, path in files.items():
        runs = []
        for i in range(max(1, args.runs)):
            r = analyze_once(path)
            log.info(
                "%gh run %d: %.1f s wall, %.1f s CPU, %.0f MB peak", h, i + 1, r["wall_s"], r["cpu_s"], r["peak_rss_mb"]
            )
            runs.append(r)
        frames = runs[0]["frames"]
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        results.append({
            "hours": h, "file": str(path), "file_mb": round(path.stat().st_size / 1e6, 1), "frames": frames,
            **med, "frames_per_cpu_s": frames / med["cpu_s"], "frames_per_wall_s": frames / med["wall_s"],
            "runs": [{k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")} for r in runs],
        })
    print(table(
        ["recording", "frames", "file MB", "wall s", "CPU s", "frames/CPU s", "peak RSS MB"],
        [[f"{r['hours']:g} h", r["frames"], r["file_mb"], r["wall_s"], r["cpu_s"], r["frames_per_cpu_s"],
          r["peak_rss_mb"]] for r in results],
    ))
    m = machine()
    print(f"\nmedian of {args.runs} runs; {m['cpus']} CPUs ({m['cpu_model']}), "
          f"load average {load0:.2f} -> {loadavg()[0]:.2f}")
    dump_json({"machine": m, "loadavg_start": round(load0, 2), "plain": args.plain, "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
