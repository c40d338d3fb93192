#!/usr/bin/env python3
"""One daemon for a whole office floor: N MQTT cushions at R Hz (or one on a pty), measured.

Parts, each its own process, all on this machine:

* a private mosquitto on a free loopback port (max_queued_messages raised: 10,000 loses
  frames at 1,000 cushions when the daemon reads in bursts);
* `sitwell run --mqtt` (or `--serial PTY`), its own SQLite file and config dir;
* the publisher (this script with `--publish`, a child process): N cushions' hellos, then
  every 1/R s one binary frame per cushion (firmware_sim's tour, 8 seeds, cycled), QoS 0,
  with paho (the same client the daemon uses). It notes when each round of frames went out
  and its own CPU: its process CPU minus the time spent encoding payloads is what paho
  alone costs to publish one frame, the reference the daemon's CPU per frame is held to;
* this process: subscribes to `sitwell/+/state` and reads the daemon's /proc and /healthz.

Measured after --warmup s, for --seconds s: the daemon's CPU share of one core (utime +
stime of every thread, from /proc, over wall time), its RSS at the end and its peak,
frames analysed vs sent (/healthz `flow`, the whole run, after a 3 s drain), and the
latency from a frame leaving the publisher to the MQTT `state` carrying its frame time
arriving here (p50, p99; the publisher rate-limits states to one per 0.5 s per cushion
plus every change, so this includes that wait). Every figure is the median of --runs runs.

    .venv/bin/python bench/fleet.py --cushions 1000 --rate 10 --runs 3
    .venv/bin/python bench/fleet.py --serial --rate 50
    .venv/bin/python bench/fleet.py --sweep --svg docs/fleet.svg --json /tmp/fleet.json

`--sweep` runs cushions 10, 100, 300, 1000 at 16x16 and grids 8, 16, 32 at 100 cushions
(10 Hz) and prints the Markdown table of docs/performance.md; `--svg` also draws it.
Say the machine's load with the figures: other processes share the two cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
from common import ProcStat, dump_json, loadavg, machine, percentile, table
from harness import Daemon, Mosquitto, Pty, cleanup, workdir

log = logging.getLogger("bench.fleet")

MAX_VALUE = 4095
T0_MS = 1000
POOL_SEEDS = 8
POOL_FRAMES = 300


def pool_of(grid: int, rate: float) -> list[list[np.ndarray]]:
    """Frames to cycle through: POOL_SEEDS sitters of the tour scenario, POOL_FRAMES each."""
    from firmware_sim import Simulator, load_scenario

    pools = []
    for seed in range(1, POOL_SEEDS + 1):
        sim = Simulator(load_scenario("tour"), grid, grid, rate, seed)
        frames: list[np.ndarray] = []
        for f in sim.frames():
            frames.append(f.cells)
            if len(frames) >= POOL_FRAMES:
                break
        pools.append(frames)
    return pools


def names_of(cushions: int) -> list[str]:
    return [f"desk-{k:04d}" for k in range(cushions)]


# ---- the publisher (a child process) --------------------------------------------------
def publish(args: argparse.Namespace) -> None:
    """--publish: hellos, then `rate` rounds a second for warmup + seconds; writes --out."""
    import paho.mqtt.client as mqtt

    from monitor.codec.binary import frame_payload, hello_payload
    from monitor.model import DeviceInfo

    pools = pool_of(args.grid, args.rate)
    names = names_of(args.cushions)
    topics = [f"sitwell/{c}/frames" for c in names]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sitwell-bench-fleet-{os.getpid()}")
    client.max_queued_messages_set(0)
    client.connect(args.host, args.port)
    client.loop_start()
    for c, topic in zip(names, topics, strict=True):
        info = DeviceInfo(device=c, rows=args.grid, cols=args.grid, max_value=MAX_VALUE, rate_hz=args.rate)
        client.publish(topic, hello_payload(info), qos=1, retain=True)
    time.sleep(1.0)  # the daemon has every hello before the first frame
    period = 1.0 / args.rate
    period_ms = int(round(1000 / args.rate))
    rounds = int(round((args.warmup + args.seconds) * args.rate))
    warm = int(round(args.warmup * args.rate))
    starts = np.zeros(rounds)
    ends = np.zeros(rounds)
    encode_s = 0.0
    cpu0 = 0.0
    t0 = time.perf_counter()
    for i in range(rounds):
        delay = t0 + i * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if i == warm:
            cpu0, encode_s = time.process_time(), 0.0
        e0 = time.thread_time()
        payloads = [frame_payload(pools[k % POOL_SEEDS][(i + 7 * k) % POOL_FRAMES], i & 0xFFFF,
                                  T0_MS + i * period_ms) for k in range(len(topics))]
        encode_s += time.thread_time() - e0
        starts[i] = time.monotonic()
        for topic, payload in zip(topics, payloads, strict=True):
            client.publish(topic, payload, qos=0)
        ends[i] = time.monotonic()
    time.sleep(0.5)  # paho's thread sends what is still queued
    cpu = time.process_time() - cpu0
    client.loop_stop()
    client.disconnect()
    sent = (rounds - warm) * len(topics)
    np.savez(args.out, starts=starts, ends=ends, warm=warm, period_ms=period_ms, cpu=cpu, encode=encode_s,
             sent=sent, rounds=rounds)


# ---- the state subscriber (this process) -----------------------------------------------
class StateListener:
    """Every `state` the daemon publishes: (cushion index, frame time, when it arrived)."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.got: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sitwell-bench-states-{os.getpid()}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("sitwell/+/state", qos=0)
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        now = time.monotonic()
        if msg.retain:
            return
        try:
            body = json.loads(msg.payload)
            entry = (body["cushion"], float(body["t"]), now)
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            self.got.append(entry)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def latencies(states: list[tuple[str, float, float]], sent: dict, cushions: int) -> list[float]:
    """Seconds from each measured frame leaving the publisher to its state arriving."""
    starts, ends, warm, period_ms = sent["starts"], sent["ends"], int(sent["warm"]), int(sent["period_ms"])
    index = {c: k for k, c in enumerate(names_of(cushions))}
    out = []
    for cushion, t, recv in states:
        k = index.get(cushion)
        i = int(round((t * 1000 - T0_MS) / period_ms))
        if k is None or not warm <= i < len(starts):
            continue
        # the publisher sends the round's cushions in order: cushion k left at about
        sent_at = starts[i] + (ends[i] - starts[i]) * (k + 1) / cushions
        out.append(recv - sent_at)
    return out


def flow_totals(daemon: Daemon) -> dict[str, int]:
    _, health = daemon.get_json("/healthz", timeout=120.0)
    keys = ("received", "analysed", "shed", "queued", "lost_in_transit")
    flows = [h["flow"] for h in health.get("inputs") or [] if "flow" in h]
    totals = {k: sum(int(f.get(k, 0)) for f in flows) for k in keys}
    totals["lost_in_transit"] = sum(int((h.get("drops") or {}).get("lost_in_transit", 0))
                                    for h in health.get("inputs") or [])
    totals["cushions"] = len(flows)
    return totals


def run_mqtt(cushions: int, rate: float, grid: int, args: argparse.Namespace) -> dict:
    wd = workdir("sitwell-bench-fleet-")
    broker = daemon = states = None
    ok = False
    try:
        broker = Mosquitto(wd, max_queued_messages=1_000_000)
        env = {"SITWELL_MQTT__MAX_CUSHIONS": str(cushions)} if cushions > 256 else {}
        daemon = Daemon(["--mqtt", f"{broker.host}:{broker.port}"], wd, env=env)
        daemon.wait_healthy()
        states = StateListener(broker.host, broker.port)
        out = wd / "sent.npz"
        pub = subprocess.Popen([sys.executable, __file__, "--publish", "--host", broker.host, "--port",
                                str(broker.port), "--cushions", str(cushions), "--rate", str(rate), "--grid",
                                str(grid), "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                                "--out", str(out)])
        stat = ProcStat(daemon.pid)
        time.sleep(1.0 + args.warmup)  # hellos, warm-up
        cpu0, wall0 = stat.cpu_s(), time.monotonic()
        rss: list[float] = []
        while pub.poll() is None:
            time.sleep(1.0)
            rss.append(stat.rss_mb())
        cpu1, wall1 = stat.cpu_s(), time.monotonic()
        if pub.returncode != 0:
            raise RuntimeError(f"the publisher exited {pub.returncode}")
        time.sleep(3.0)  # the backlog drains, the last states arrive
        flow = flow_totals(daemon)
        sent = dict(np.load(out))
        lat = latencies(states.got, sent, cushions)
        rounds = int(sent["rounds"])
        measured = int(sent["sent"])
        daemon_cpu = cpu1 - cpu0
        # frames the daemon took in the measured window: those sent then, less its losses overall
        analysed_share = flow["analysed"] / (rounds * cushions)
        paho_us = 1e6 * (float(sent["cpu"]) - float(sent["encode"])) / measured
        daemon_us = 1e6 * daemon_cpu / (measured * analysed_share) if analysed_share else float("nan")
        result = {
            "input": "mqtt", "cushions": cushions, "rate_hz": rate, "grid": grid,
            "cpu_share": daemon_cpu / (wall1 - wall0),
            "rss_mb": rss[-1] if rss else stat.rss_mb(), "peak_rss_mb": stat.peak_rss_mb(),
            "frames_sent": rounds * cushions, "frames_analysed": flow["analysed"], "analysed_share": analysed_share,
            "flow": flow,
            "states": len(lat), "p50_s": percentile(lat, 50) if lat else float("nan"),
            "p99_s": percentile(lat, 99) if lat else float("nan"), "max_s": max(lat) if lat else float("nan"),
            "daemon_us_per_frame": daemon_us, "paho_us_per_frame": paho_us,
            "daemon_per_paho": daemon_us / paho_us if paho_us > 0 else float("nan"),
            "load": loadavg()[0],
        }
        ok = True
        return result
    finally:
        if states is not None:
            states.stop()
        cleanup((daemon, broker), wd, ok)


def run_serial(rate: float, grid: int, args: argparse.Namespace) -> dict:
    from monitor.codec.binary import encode_frame, encode_hello
    from monitor.model import DeviceInfo

    wd = workdir("sitwell-bench-fleet-serial-")
    pty = daemon = None
    ok = False
    try:
        pools = pool_of(grid, rate)
        pty = Pty()
        daemon = Daemon(["--serial", pty.path, "--codec", "binary", "--cushion", "desk-0000"], wd)
        daemon.wait_healthy()
        pty.write(encode_hello(DeviceInfo(device="desk-0000", rows=grid, cols=grid, max_value=MAX_VALUE,
                                          rate_hz=rate)))
        stat = ProcStat(daemon.pid)
        period, period_ms = 1.0 / rate, int(round(1000 / rate))
        rounds, warm = int((args.warmup + args.seconds) * rate), int(args.warmup * rate)
        t0 = time.perf_counter()
        cpu0 = wall0 = 0.0
        for i in range(rounds):
            delay = t0 + i * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if i == warm:
                cpu0, wall0 = stat.cpu_s(), time.monotonic()
            pty.write(encode_frame(pools[0][i % POOL_FRAMES], i & 0xFFFF, T0_MS + i * period_ms))
        cpu1, wall1 = stat.cpu_s(), time.monotonic()
        time.sleep(1.0)
        flow = flow_totals(daemon)
        result = {"input": "serial", "cushions": 1, "rate_hz": rate, "grid": grid,
                  "cpu_share": (cpu1 - cpu0) / (wall1 - wall0), "rss_mb": stat.rss_mb(),
                  "peak_rss_mb": stat.peak_rss_mb(), "frames_sent": rounds, "frames_analysed": flow["analysed"],
                  "analysed_share": flow["analysed"] / rounds, "flow": flow, "load": loadavg()[0]}
        ok = True
        return result
    finally:
        cleanup((daemon, pty), wd, ok)


MEDIAN_KEYS = ("cpu_share", "rss_mb", "peak_rss_mb", "analysed_share", "p50_s", "p99_s", "max_s",
               "daemon_us_per_frame", "paho_us_per_frame", "daemon_per_paho", "load")


def runs_of(args: argparse.Namespace, cushions: int, rate: float, grid: int) -> dict:
    runs = []
    for n in range(args.runs):
        r = run_serial(rate, grid, args) if args.serial else run_mqtt(cushions, rate, grid, args)
        log.info("run %d: %s", n + 1, json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                                 for k, v in r.items() if k != "flow"}))
        runs.append(r)
    med = {k: statistics.median(r[k] for r in runs) for k in MEDIAN_KEYS if k in runs[0]}
    return {**{k: runs[0][k] for k in ("input", "cushions", "rate_hz", "grid")}, **med, "runs": runs}


def markdown(rows: list[dict]) -> str:
    return table(
        ["input", "cushions x Hz", "grid", "CPU % of a core", "RSS MB", "peak RSS MB", "frames analysed %",
         "p50 s", "p99 s", "daemon µs/frame", "paho µs/frame", "daemon ÷ paho"],
        [[r["input"], f"{r['cushions']} x {r['rate_hz']:g}", f"{r['grid']}x{r['grid']}", 100 * r["cpu_share"],
          r["rss_mb"], r["peak_rss_mb"], 100 * r["analysed_share"], r.get("p50_s", float("nan")),
          r.get("p99_s", float("nan")), r.get("daemon_us_per_frame", float("nan")),
          r.get("paho_us_per_frame", float("nan")), r.get("daemon_per_paho", float("nan"))] for r in rows])


def svg(rows: list[dict], path: Path) -> None:
    """Two panels: CPU share, RSS, frames analysed and µs a frame against cushions (16x16);
    µs a frame, RSS and p99 against the grid (100 cushions)."""
    by_n = sorted((r for r in rows if r["grid"] == 16 and r["input"] == "mqtt"), key=lambda r: r["cushions"])
    by_g = sorted((r for r in rows if r["cushions"] == 100 and r["input"] == "mqtt"), key=lambda r: r["grid"])
    w, h, pad = 360, 240, 44
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + 20}" height="{h + 30}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']

    def panel(x0: float, title: str, xs: list[float], series: list[tuple[str, str, list[float]]], xlabel: str,
              logx: bool) -> None:
        parts.append(f'<text x="{x0 + w / 2}" y="14" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<rect x="{x0 + pad}" y="24" width="{w - 2 * pad}" height="{h - 60}" fill="none" '
                     'stroke="#999"/>')
        if not xs:
            return
        fx = [np.log10(x) for x in xs] if logx else list(xs)
        lo, hi = min(fx), max(fx) if max(fx) > min(fx) else min(fx) + 1
        top = max(max(v for v in s[2] if v == v) for s in series) * 1.15 or 1.0

        def px(v: float) -> float:
            return x0 + pad + (v - lo) / (hi - lo) * (w - 2 * pad)

        def py(v: float) -> float:
            return 24 + (h - 60) * (1 - v / top)

        for x, f in zip(xs, fx, strict=True):
            parts.append(f'<text x="{px(f):.1f}" y="{h - 22}" text-anchor="middle">{x:g}</text>')
        parts.append(f'<text x="{x0 + w / 2}" y="{h - 8}" text-anchor="middle">{xlabel}</text>')
        for v in (0, top / 2, top):
            parts.append(f'<text x="{x0 + pad - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>')
        for k, (name, colour, ys) in enumerate(series):
            pts = " ".join(f"{px(f):.1f},{py(y):.1f}" for f, y in zip(fx, ys, strict=True) if y == y)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts.append(f'<text x="{x0 + pad + 6}" y="{40 + 14 * k}" fill="{colour}">{name}</text>')

    panel(0, "16x16 at 10 Hz, by cushions", [r["cushions"] for r in by_n],
          [("CPU % of a core", "#c33", [100 * r["cpu_share"] for r in by_n]),
           ("RSS MB", "#36c", [r["rss_mb"] for r in by_n]),
           ("frames analysed %", "#393", [100 * r["analysed_share"] for r in by_n]),
           ("daemon µs per frame", "#c90", [r["daemon_us_per_frame"] for r in by_n])], "cushions (log)", True)
    panel(w + 20, "100 cushions at 10 Hz, by grid", [r["grid"] for r in by_g],
          [("daemon µs per frame", "#c33", [r["daemon_us_per_frame"] for r in by_g]),
           ("RSS MB", "#36c", [r["rss_mb"] for r in by_g]),
           ("p99 frame→state in 10 ms", "#393", [100 * r["p99_s"] for r in by_g])], "grid side (cells)", False)
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cushions", type=int, default=100)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--grid", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds per run (default 30)")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds published before measuring")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--serial", action="store_true", help="one cushion on a pty instead of MQTT")
    ap.add_argument("--sweep", action="store_true", help="cushions 10..1000 at 16x16, grids 8..32 at 100")
    ap.add_argument("--svg", metavar="FILE", help="with --sweep: draw the table")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    ap.add_argument("--svg-from", metavar="JSON", help="only draw --svg from an earlier --sweep's --json")
    ap.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--host", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.publish:
        publish(args)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.svg_from:
        rows = json.loads(Path(args.svg_from).read_text())["results"]
        print(markdown(rows))
        svg(rows, Path(args.svg or "fleet.svg"))
        return 0
    load0 = loadavg()[0]
    if args.sweep:
        configs = [(n, 16) for n in (10, 100, 300, 1000)] + [(100, 8), (100, 32)]
        rows = [runs_of(args, n, args.rate, g) for n, g in configs]
    else:
        rows = [runs_of(args, args.cushions, args.rate, args.grid)]
    print(markdown(rows))
    m = machine()
    print(f"\nmedian of {args.runs} runs of {args.seconds:g} s; {m['cpus']} CPUs ({m['cpu_model']}), "
          f"load average {load0:.2f} -> {loadavg()[0]:.2f}")
    if args.svg:
        svg(rows, Path(args.svg))
    dump_json({"machine": m, "loadavg_start": round(load0, 2), "args": vars(args), "results": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
