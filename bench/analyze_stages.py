#!/usr/bin/env python3
"""Where `sitwell analyze`'s time goes: CPU per frame of each stage, in one process.

The stages as the three processes of `sitwell analyze` run them (monitor/offline/): the
reader (gunzip, then the cells from the bytes: `RecordingReader.batches`), the calibrator
(`calibrated_front`: calibration, features, sit-bone loads) and this process (`decide_front`:
occupancy and posture steps; `CushionTracker.step`; the output lines). Each stage is timed
with the CPU clock on the same batches, in one process, the minimum of `--runs` runs (the
machine is shared: the minimum is the least disturbed). Three stages on two cores take about
half their sum in wall time, if none is more than half of it.

Examples:
    python bench/analyze_stages.py                 # the cached 1-hour workday (bench/analyze_long.py)
    python bench/analyze_stages.py --hours 8 --runs 1
"""

from __future__ import annotations

import argparse
import logging
import time

from analyze_long import recording
from common import dump_json, loadavg, machine, table

from monitor.codec.recording import RecordingReader
from monitor.config.settings import Settings
from monitor.offline.analyze_decide import calibrated_front, decide_front
from monitor.offline.analyze_feed import keep_freed_memory, make_engine

log = logging.getLogger("bench.analyze_stages")


def stages_once(path: str, settings: Settings) -> tuple[int, dict[str, float]]:
    """CPU seconds of each stage over the whole recording."""
    clock = time.process_time
    cpu = dict.fromkeys(("gunzip", "read", "calibrate", "decide", "track"), 0.0)
    with RecordingReader(path) as reader:
        start = clock()
        for _ in reader._chunks():  # noqa: SLF001 - the gunzip alone, for scale
            pass
        cpu["gunzip"] = clock() - start
    frames = 0
    with RecordingReader(path) as reader:
        front_engine, engine = make_engine(reader, settings), make_engine(reader, settings)
        step, max_value = engine.tracker.step, reader.header.max_value
        a = clock()
        for t, cells in reader.batches(512):
            b = clock()
            front, sitbone = calibrated_front(front_engine, t, cells, max_value)
            c = clock()
            ts, present, postures, left_shares, sitbones = decide_front(engine, front, sitbone)
            d = clock()
            for args in zip(ts, present, postures, left_shares, sitbones, strict=True):
                step(*args)
            e = clock()
            cpu["read"] += b - a
            cpu["calibrate"] += c - b
            cpu["decide"] += d - c
            cpu["track"] += e - d
            frames += len(ts)
            a = clock()
    return frames, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0, help="recording length (default 1)")
    ap.add_argument("--runs", type=int, default=3, help="runs; the minimum per stage is reported")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("monitor").setLevel(logging.WARNING)  # not every reminder the tracker sends
    path = recording(args.hours, plain=False)
    settings = Settings(input="sim")
    keep_freed_memory()  # as `sitwell analyze` does
    load0 = loadavg()[0]
    best: dict[str, float] = {}
    frames = 0
    for i in range(max(1, args.runs)):
        frames, cpu = stages_once(str(path), settings)
        log.info("run %d: %s", i + 1, ", ".join(f"{k} {v:.2f} s" for k, v in cpu.items()))
        best = {k: min(v, best.get(k, v)) for k, v in cpu.items()}
    rows = [
        ["reader: gunzip (part of read)", best["gunzip"]],
        ["reader: read (gunzip + cells from the bytes)", best["read"]],
        ["calibrator: calibration, features, sit-bone loads", best["calibrate"]],
        ["this process: occupancy and posture steps", best["decide"]],
        ["this process: tracker", best["track"]],
    ]
    total = best["read"] + best["calibrate"] + best["decide"] + best["track"]
    print(table(["stage", "CPU s", "us a frame"],
                [[name, round(s, 2), round(s / frames * 1e6, 1)] for name, s in rows]
                + [["all (without the output lines)", round(total, 2), round(total / frames * 1e6, 1)]]))
    m = machine()
    print(f"\n{frames} frames; minimum of {args.runs} runs; {m['cpus']} CPUs ({m['cpu_model']}), "
          f"load average {load0:.2f} -> {loadavg()[0]:.2f}")
    dump_json({"machine": m, "loadavg_start": round(load0, 2), "frames": frames, "cpu_s": best}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
