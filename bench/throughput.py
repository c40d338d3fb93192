#!/usr/bin/env python3
"""Decode + analyse throughput (frames/s) against what the serial wire can carry.

For each grid, frames of firmware_sim's `tour` scenario are encoded with the binary codec
(CONTRACT 2.1, 16-bit cells) into one byte stream, then timed through:

* decode only: BinaryDecoder.feed on the stream (in 4 KiB reads, like a serial port);
* per frame (the daemon's path): BinaryDecoder.feed -> Frame -> CushionEngine.process;
* batch (the `sitwell analyze` path): BinaryDecoder.feed -> Frame -> CushionEngine.process_batch
  in batches of monitor.analyze.BATCH frames.

The wire's own limit is baud / 10 (8N1: a start and a stop bit per byte) / bytes per packet
(after COBS, including the 0x00 delimiter). Each figure is the median of --runs runs.

Examples:
    python bench/throughput.py
    python bench/throughput.py --grids 16,32 --frames 1000 --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import common  # noqa: F401  (puts the repo on sys.path)
from common import dump_json, loadavg, machine, table

from firmware_sim import Simulator, load_scenario
from monitor.codec.binary import BinaryDecoder, FramePacket, encode_frame
from monitor.config.settings import Settings
from monitor.model import DeviceInfo, Frame
from monitor.offline.analyze import BATCH
from monitor.runtime.engine import CushionEngine

log = logging.getLogger("bench.throughput")

BAUDS = (115200, 921600)
READ_CHUNK = 4096  # bytes per read, about what pyserial hands over at 921600 baud
MAX_VALUE = 4095


def make_stream(rows: int, cols: int, n: int, rate_hz: float, seed: int) -> tuple[bytes, int]:
    """n frames of the `tour` scenario as one binary-codec byte stream; (stream, frames)."""
    sim = Simulator(load_scenario("tour"), rows, cols, rate_hz, seed)
    parts = []
    for f in sim.frames():
        parts.append(encode_frame(f.cells, f.seq, int(round(f.t * 1000))))
        if len(parts) >= n:
            break
    return b"".join(parts), len(parts)


def _chunks(stream: bytes):
    view = memoryview(stream)
    for i in range(0, len(view), READ_CHUNK):
        yield view[i : i + READ_CHUNK]


def _engine(rows: int, cols: int, settings: Settings) -> CushionEngine:
    device = DeviceInfo(device="bench", rows=rows, cols=cols, max_value=MAX_VALUE)
    return CushionEngine("bench", device, settings.rules, settings.analysis, datetime.now(UTC))


def _frame(p: FramePacket) -> Frame:
    return Frame("bench", p.device_ms / 1000.0, p.cells, MAX_VALUE, p.seq)


class _Clock:
    """CPU time and wall time of one timed section.

    On a shared machine the wall time includes waiting for a core; the CPU time of this
    process is what the work costs when it has a core, so it is the headline figure.
    """

    def __init__(self) -> None:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()

    def stop(self) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0

    def rates(self, n: int) -> tuple[float, float]:
        return n / max(self.cpu, 1e-9), n / max(self.wall, 1e-9)


def _median2(runs: int, fn) -> tuple[float, float, list]:
    """Median CPU-time rate, median wall-time rate, and every (cpu, wall) pair."""
    pairs = [fn() for _ in range(max(1, runs))]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs), pairs


def time_decode(stream: bytes, n: int) -> float:
    dec = BinaryDecoder()
    clock = _Clock()
    got = 0
    for chunk in _chunks(stream):
        got += len(dec.feed(chunk))
    clock.stop()
    assert got == n, (got, n)
    return clock.rates(n)


def time_per_frame(stream: bytes, n: int, rows: int, cols: int, settings: Settings) -> float:
    dec, engine = BinaryDecoder(), _engine(rows, cols, settings)
    clock = _Clock()
    got = 0
    for chunk in _chunks(stream):
        for p in dec.feed(chunk):
            engine.process(_frame(p))
            got += 1
    clock.stop()
    assert got == n, (got, n)
    return clock.rates(n)


def time_batch(stream: bytes, n: int, rows: int, cols: int, settings: Settings) -> float:
    dec, engine = BinaryDecoder(), _engine(rows, cols, settings)
    clock = _Clock()
    batch: list[Frame] = []
    got = 0
    for chunk in _chunks(stream):
        for p in dec.feed(chunk):
            batch.append(_frame(p))
            if len(batch) >= BATCH:
                got += len(engine.process_batch(batch))
                batch = []
    got += len(engine.process_batch(batch))
    clock.stop()
    assert got == n, (got, n)
    return clock.rates(n)


def profile(grid: int, frames: int, rate_hz: float, seed: int, top: int = 25) -> str:
    """cProfile of the per-frame and the batch path on one grid: the `top` functions by
    inclusive time, as shares of the total (how docs/performance.md's tables were made)."""
    import cProfile
    import pstats

    settings = Settings()
    stream, n = make_stream(grid, grid, frames, rate_hz, seed)
    out = []
    for name, fn in (("per frame", time_per_frame), ("batch", time_batch)):
        prof = cProfile.Profile()
        prof.enable()
        fn(stream, n, grid, grid, settings)
        prof.disable()
        stats = pstats.Stats(prof)
        total = stats.total_tt  # type: ignore[attr-defined]
        rows = sorted(
            ((ct, tt, f"{'/'.join(Path(f).parts[-2:])}:{line}({func})") for (f, line, func), (_, _, tt, ct, _) in
             stats.stats.items()),  # type: ignore[attr-defined]
            reverse=True,
        )
        out.append(f"\n{name} path, {grid}x{grid}, {n} frames ({total:.2f} s under the profiler):")
        out.append(table(["function", "inclusive %", "self %"],
                         [[label, 100 * ct / total, 100 * tt / total] for ct, tt, label in rows[:top]]))
    return "\n".join(out)


def run(grids: list[int], frames: int, runs: int, rate_hz: float, seed: int) -> dict:
    settings = Settings()
    results = []
    load0 = loadavg()[0]
    for g in grids:
        stream, n = make_stream(g, g, frames, rate_hz, seed)
        bytes_per_packet = len(stream) / n
        dec, dec_w, dec_all = _median2(runs, lambda stream=stream, n=n: time_decode(stream, n))
        per, per_w, per_all = _median2(runs, lambda stream=stream, n=n, g=g: time_per_frame(stream, n, g, g, settings))
        bat, bat_w, bat_all = _median2(runs, lambda stream=stream, n=n, g=g: time_batch(stream, n, g, g, settings))
        wire = {str(b): b / 10.0 / bytes_per_packet for b in BAUDS}
        results.append({
            "grid": f"{g}x{g}",
            "cells": g * g,
            "frames": n,
            "bytes_per_packet": round(bytes_per_packet, 1),
            "decode_fps": dec,
            "per_frame_fps": per,
            "batch_fps": bat,
            "wall": {"decode_fps": dec_w, "per_frame_fps": per_w, "batch_fps": bat_w},
            "wire_fps": wire,
            "daemon_over_wire": {b: per / w for b, w in wire.items()},
            "runs_cpu_wall": {"decode": dec_all, "per_frame": per_all, "batch": bat_all},
        })
        log.info("%dx%d done", g, g)
    return {"machine": machine(), "loadavg_start": round(load0, 2), "loadavg_end": round(loadavg()[0], 2),
            "frames": frames, "runs": runs, "rate_hz": rate_hz, "results": results}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", default="8,16,32,64", help="square grid sizes, comma-separated")
    ap.add_argument("--frames", type=int, default=1500, help="frames per run (default 1500, 30 s at 50 Hz)")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure; the median is reported")
    ap.add_argument("--rate", type=float, default=50.0, help="simulated scan rate, Hz")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    ap.add_argument("--profile", type=int, metavar="GRID",
                    help="instead of timing, print a cProfile of both paths on a GRIDxGRID cushion")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.profile:
        print(profile(args.profile, args.frames, args.rate, args.seed))
        return 0
    grids = [int(x) for x in args.grids.split(",") if x.strip()]
    res = run(grids, args.frames, args.runs, args.rate, args.seed)
    rows = []
    for r in res["results"]:
        rows.append([
            r["grid"], r["bytes_per_packet"], r["decode_fps"], r["per_frame_fps"], r["batch_fps"],
            r["wire_fps"]["115200"], r["wire_fps"]["921600"],
            r["daemon_over_wire"]["115200"], r["daemon_over_wire"]["921600"],
        ])
    print(table(
        ["grid", "bytes/pkt", "decode f/s", "per-frame f/s", "batch f/s",
         "wire f/s 115200", "wire f/s 921600", "daemon÷wire 115200", "daemon÷wire 921600"],
        rows,
    ))
    m = res["machine"]
    print("\nframes/s from the process's CPU time; the same from wall time (includes waiting for a core):")
    print(table(["grid", "decode f/s (wall)", "per-frame f/s (wall)", "batch f/s (wall)"],
                [[r["grid"], r["wall"]["decode_fps"], r["wall"]["per_frame_fps"], r["wall"]["batch_fps"]]
                 for r in res["results"]]))
    print(f"\nmedian of {args.runs} runs, {args.frames} frames each; {m['cpus']} CPUs ({m['cpu_model']}), "
          f"load average {res['loadavg_start']} -> {res['loadavg_end']}")
    dump_json(res, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
