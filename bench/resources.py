#!/usr/bin/env python3
"""CPU and memory of a running `sitwell run`.

Two set-ups, each a real daemon fed from this (separate) process:

* `serial`: one 16x16 cushion at 50 Hz on a pty (binary codec) - a desk with one cushion;
* `mqtt`: 100 cushions at 10 Hz each through a private mosquitto, all published by this one
  process (1,000 messages/s).

After a warm-up, the daemon's CPU time (utime + stime from /proc/PID/stat, every thread) is
read every --window seconds for --seconds: the CPU share of one core is CPU seconds per wall
second, reported as the median over the windows and over the whole time. Memory: resident
set size (VmRSS) at the end and its peak (VmHWM) from /proc/PID/status. The frames the daemon
counted (/healthz) and dropped (its queues) are checked, so a daemon that fell behind shows.

Targets (one cushion at 50 Hz): < 3 % of one core, < 150 MB.

Examples:
    python bench/resources.py                       # both set-ups, 60 s each
    python bench/resources.py --setup serial --seconds 20
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import common  # noqa: F401  (puts the repo on sys.path)
from common import ProcStat, dump_json, loadavg, machine, table
from harness import Daemon, Mosquitto, Pty, SseClient, cleanup, paced, workdir

from firmware_sim import Simulator, load_scenario
from monitor.codec.binary import encode_frame, encode_hello, frame_payload, hello_payload
from monitor.model import DeviceInfo

log = logging.getLogger("bench.resources")

MAX_VALUE = 4095
T0_MS = 1000


def frames_of(seed: int, n: int, rows: int, cols: int, rate: float) -> list:
    sim = Simulator(load_scenario("tour"), rows, cols, rate, seed)
    out = []
    for f in sim.frames():
        out.append(f.cells)
        if len(out) >= n:
            break
    return out


def _frames_counted(daemon: Daemon) -> tuple[int, int, int]:
    """From /healthz: frames the inputs counted, input drops, and frames the daemon's own
    per-cushion queues dropped because it fell behind (reason `shed`: thinned evenly)."""
    _, health = daemon.get_json("/healthz", timeout=60.0)  # a saturated daemon answers late
    inputs = health.get("inputs") or []
    frames = sum(int(h.get("frames") or 0) for h in inputs)
    queue = sum(int((h.get("drops") or {}).get("shed", 0)) for h in inputs)
    drops = sum(sum((h.get("drops") or {}).values()) for h in inputs) - queue
    return frames, drops, queue


def _flow_totals(daemon: Daemon) -> dict[str, int]:
    """From /healthz, summed over the cushions: received, analysed, shed, queued, lost_in_transit."""
    _, health = daemon.get_json("/healthz", timeout=60.0)
    keys = ("received", "analysed", "shed", "queued", "lost_in_transit")
    flows = [h["flow"] for h in health.get("inputs") or [] if "flow" in h]
    return {k: sum(int(f.get(k, 0)) for f in flows) for k in keys}


def run_setup(setup: str, args) -> dict:
    wd = workdir(f"sitwell-bench-resources-{setup}-")
    grid = args.grid
    if setup == "serial":
        cushions, rate = 1, 50.0
    else:
        cushions, rate = args.cushions, 10.0
    total_s = args.warmup + args.seconds
    n = int(total_s * rate) + 1
    pools = [frames_of(seed, n, grid, grid, rate) for seed in range(1, min(cushions, 10) + 1)]
    pty = broker = daemon = client = sse = None
    ok = False
    try:
        if setup == "serial":
            pty = Pty()
            daemon = Daemon(
                ["--serial", pty.path, "--codec", "binary", "--cushion", "bench-1"], wd, max_delay_ms=args.max_delay_ms
            )
        else:
            broker = Mosquitto(wd)
            daemon = Daemon(["--mqtt", f"{broker.host}:{broker.port}"], wd, max_delay_ms=args.max_delay_ms)
        daemon.wait_healthy()
        if args.sse:
            sse = SseClient(daemon.port, lambda *a: None)
            sse.connected.wait(10)
        names = [f"bench-{k + 1}" for k in range(cushions)]
        if setup == "serial":
            info = DeviceInfo(device=names[0], rows=grid, cols=grid, max_value=MAX_VALUE, rate_hz=rate)
            pty.write(encode_hello(info))

            def send(i: int) -> None:
                pty.write(encode_frame(pools[0][i % n], i & 0xFFFF, T0_MS + i * 20))
        else:
            import paho.mqtt.client as mqtt

            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sitwell-bench-resources")
            client.max_queued_messages_set(0)
            client.connect(broker.host, broker.port)
            client.loop_start()
            topics = [f"sitwell/{c}/frames" for c in names]
            for c, topic in zip(names, topics, strict=True):
                info = DeviceInfo(device=c, rows=grid, cols=grid, max_value=MAX_VALUE, rate_hz=rate)
                client.publish(topic, hello_payload(info), qos=1)
            period_ms = int(1000 / rate)

            def send(i: int) -> None:
                for k, topic in enumerate(topics):
                    cells = pools[k % len(pools)][(i + 7 * k) % n]
                    client.publish(topic, frame_payload(cells, i & 0xFFFF, T0_MS + i * period_ms), qos=0)

        stat = ProcStat(daemon.pid)
        warm_n = int(args.warmup * rate)
        for i in paced(rate, args.warmup):
            send(i)
        frames0, _, _ = _frames_counted(daemon)
        # a fresh schedule: one that started before the /healthz call would burst to catch up
        ticks = paced(rate, args.seconds)
        cpu0, wall0 = stat.cpu_s(), time.perf_counter()
        windows: list[float] = []
        rss: list[float] = []
        w_cpu, w_wall = cpu0, wall0
        i = warm_n
        for _ in ticks:
            send(i)
            i += 1
            now = time.perf_counter()
            if now - w_wall >= args.window:
                c = stat.cpu_s()
                windows.append((c - w_cpu) / (now - w_wall))
                rss.append(stat.rss_mb())
                w_cpu, w_wall = c, now
        cpu1, wall1 = stat.cpu_s(), time.perf_counter()
        time.sleep(0.5)
        frames1, input_drops, queue_drops = _frames_counted(daemon)
        time.sleep(2.0)  # let the backlog drain before the flow totals are read
        sent = (i - warm_n) * cushions
        result = {
            "setup": setup,
            "cushions": cushions,
            "rate_hz": rate,
            "grid": f"{grid}x{grid}",
            "seconds": round(wall1 - wall0, 1),
            "cpu_share_median": statistics.median(windows) if windows else (cpu1 - cpu0) / (wall1 - wall0),
            "cpu_share_overall": (cpu1 - cpu0) / (wall1 - wall0),
            "cpu_share_windows": windows,
            "rss_mb": stat.rss_mb(),
            "rss_mb_median": statistics.median(rss) if rss else stat.rss_mb(),
            "peak_rss_mb": stat.peak_rss_mb(),
            "frames_sent": sent,
            "frames_counted": frames1 - frames0,
            "input_drops": input_drops,
            "queue_drops": queue_drops,
            "sse_client": bool(args.sse),
            # the whole run, warm-up included; after a settle so the queues have drained
            "flow": _flow_totals(daemon),
        }
        if broker is not None:
            try:
                b = ProcStat(broker.proc.pid)
                result["mosquitto_rss_mb"] = b.rss_mb()
            except OSError:
                pass
        log.info("%s: %.2f %% of a core (median of %d windows), RSS %.0f MB (peak %.0f MB), %d/%d frames; %s",
                 setup, 100 * result["cpu_share_median"], len(windows), result["rss_mb"], result["peak_rss_mb"],
                 result["frames_counted"], sent, result["flow"])
        ok = True
        return result
    finally:
        if client is not None:
            client.loop_stop()
            client.disconnect()
        cleanup((sse, daemon, broker, pty), wd, ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setup", choices=["serial", "mqtt", "both"], default="both")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured seconds per set-up (default 60)")
    ap.add_argument("--window", type=float, default=10.0, help="CPU share window, s (the median is reported)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds fed before measuring")
    ap.add_argument("--grid", type=int, default=16)
    ap.add_argument("--cushions", type=int, default=100, help="cushions in the mqtt set-up (default 100)")
    ap.add_argument("--sse", action="store_true", help="keep one /api/stream client connected (a dashboard open)")
    ap.add_argument("--max-delay-ms", type=int, default=None,
                    help="the daemon's analysis.max_delay_ms (default: sitwell's default, 250; 0: every frame at once)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load0 = loadavg()[0]
    setups = ["serial", "mqtt"] if args.setup == "both" else [args.setup]
    results = [run_setup(s, args) for s in setups]
    print(table(
        ["set-up", "cushions x Hz", "CPU % of a core (median)", "CPU % overall", "RSS MB", "peak RSS MB",
         "frames sent", "frames counted", "queue drops"],
        [[r["setup"], f"{r['cushions']} x {r['rate_hz']:g}", 100 * r["cpu_share_median"],
          100 * r["cpu_share_overall"], r["rss_mb"], r["peak_rss_mb"], r["frames_sent"], r["frames_counted"],
          r["queue_drops"]] for r in results],
    ))
    m = machine()
    print(f"\n{args.seconds:g} s per set-up, CPU share per {args.window:g} s window; {m['cpus']} CPUs "
          f"({m['cpu_model']}), load average {load0:.2f} -> {loadavg()[0]:.2f}")
    dump_json({"machine": m, "loadavg_start": round(load0, 2), "args": vars(args), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
