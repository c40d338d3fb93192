#!/usr/bin/env python3
"""End-to-end latency: a frame written to a pty (or published to Mosquitto) -> its SSE `state` event.

A real `sitwell run --serial PTY` (or `--mqtt 127.0.0.1:PORT` with a private mosquitto) is
fed firmware_sim `tour` frames at --rate Hz (binary codec, CONTRACT 2.1/3), and a client
reads /api/stream. Every frame carries its device time (device_ms), and every `state` event
carries the frame time `t` of the newest frame the daemon had processed when it sent it
(serial and MQTT frame time is the device time). So each event is matched to the frame it
reports, and its latency is the event's arrival minus that frame's write.

The daemon sends a state event at most every STATE_EVENT_INTERVAL_S per cushion (at once on
an occupancy or posture change), so only the frames that got an event are measured; the
others are superseded by a newer frame before the next event is due. It gathers a cushion's
frames for up to analysis.max_delay_ms (default 250 ms) and analyses them in one batch, which
ends with the first frame after that time; the event reports that frame. `--max-delay-ms 0`
measures the daemon analysing every frame as it comes.

Figures: p50, p99 and max per run; the median over --runs runs (each --seconds long, after a
warm-up), and the pooled p50/p99 of all matched events, while the frames stream. Events that
arrive after a run's last frame was written are the stream's tail and are reported apart
(`tail` column): when a cushion falls silent, its last batch waits until max_delay_ms + 100 ms.
Target: p99 < 100 ms at 50 Hz.

Examples:
    python bench/latency.py                          # serial and mqtt, 3 runs of 20 s
    python bench/latency.py --transport serial --runs 5 --seconds 10
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time

import common  # noqa: F401  (puts the repo on sys.path)
from common import dump_json, loadavg, machine, percentile, table
from harness import Daemon, Mosquitto, Pty, SseClient, cleanup, paced, workdir

from firmware_sim import Simulator, load_scenario
from monitor.codec.binary import encode_frame, encode_hello, frame_payload, hello_payload
from monitor.model import DeviceInfo

log = logging.getLogger("bench.latency")

CUSHION = "bench-1"
MAX_VALUE = 4095
T0_MS = 1000  # device time of the first frame
SLOW_S = 0.1  # the p99 target: events later than this are listed by frame time


class Matcher:
    """Write times by frame time; SSE state events matched to them."""

    def __init__(self) -> None:
        self.sent: dict[float, float] = {}
        self.latencies: list[float] = []
        self.slow: list[tuple[float, float]] = []  # (frame time, latency s) of events over SLOW_S
        self.events = 0
        self.streaming = True  # False once a run's frames stop: later events are its tail
        self.tail: list[float] = []
        self.lock = threading.Lock()

    def wrote(self, device_ms: int, when: float) -> None:
        self.sent[round(device_ms / 1000.0, 3)] = when

    def on_event(self, kind: str, data: dict, recv: float) -> None:
        if kind != "state" or data.get("cushion") != CUSHION or data.get("t") is None:
            return
        when = self.sent.get(round(float(data["t"]), 3))
        with self.lock:
            self.events += 1
            if when is not None and not self.streaming:
                self.tail.append(recv - when)
            elif when is not None:
                self.latencies.append(recv - when)
                if recv - when > SLOW_S:
                    self.slow.append((float(data["t"]), recv - when))

    def take(self) -> tuple[list[float], list[float]]:
        """The latencies while frames streamed, and those of the events after they stopped."""
        with self.lock:
            out, self.latencies = self.latencies, []
            tail, self.tail = self.tail, []
        return out, tail


def sim_frames(rows: int, cols: int, rate: float, n: int, seed: int) -> list:
    sim = Simulator(load_scenario("tour"), rows, cols, rate, seed)
    out = []
    for f in sim.frames():
        out.append(f.cells)
        if len(out) >= n:
            break
    return out


class SerialFeed:
    def __init__(self, pty: Pty, info: DeviceInfo):
        self.pty = pty
        pty.write(encode_hello(info))

    def send(self, cells, seq: int, device_ms: int) -> None:
        self.pty.write(encode_frame(cells, seq, device_ms))


class MqttFeed:
    def __init__(self, broker: Mosquitto, info: DeviceInfo):
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sitwell-bench-latency")
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.topic = f"sitwell/{CUSHION}/frames"
        self.client.publish(self.topic, hello_payload(info), qos=1).wait_for_publish(5)

    def send(self, cells, seq: int, device_ms: int) -> None:
        self.client.publish(self.topic, frame_payload(cells, seq, device_ms), qos=0)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def measure(transport: str, args) -> dict:
    wd = workdir(f"sitwell-bench-latency-{transport}-")
    rows = cols = args.grid
    info = DeviceInfo(device=CUSHION, rows=rows, cols=cols, max_value=MAX_VALUE, rate_hz=args.rate)
    total_s = args.warmup + args.runs * args.seconds
    frames = sim_frames(rows, cols, args.rate, int(total_s * args.rate) + 1, args.seed)
    pty = broker = feed = daemon = sse = None
    matcher = Matcher()
    ok = False
    try:
        if transport == "serial":
            pty = Pty()
            daemon = Daemon(
                ["--serial", pty.path, "--codec", "binary", "--cushion", CUSHION], wd, max_delay_ms=args.max_delay_ms
            )
        else:
            broker = Mosquitto(wd)
            daemon = Daemon(["--mqtt", f"{broker.host}:{broker.port}"], wd, max_delay_ms=args.max_delay_ms)
        daemon.wait_healthy()
        feed = SerialFeed(pty, info) if transport == "serial" else MqttFeed(broker, info)
        sse = SseClient(daemon.port, matcher.on_event)
        if not sse.connected.wait(10):
            raise RuntimeError("could not open /api/stream")
        period_ms = 1000.0 / args.rate
        i = 0

        def send_for(seconds: float) -> None:
            nonlocal i
            for _ in paced(args.rate, seconds):
                device_ms = T0_MS + int(round(i * period_ms))
                now = time.perf_counter()
                matcher.wrote(device_ms, now)
                feed.send(frames[i % len(frames)], i & 0xFFFF, device_ms)
                i += 1

        send_for(args.warmup)
        time.sleep(0.5)
        matcher.take()
        runs = []
        for r in range(args.runs):
            matcher.streaming = True
            send_for(args.seconds)
            matcher.streaming = False
            time.sleep(0.5)  # the last frames' events
            lat, tail = matcher.take()
            lat = [x * 1000.0 for x in lat]
            tail = [x * 1000.0 for x in tail]
            if not lat:
                raise RuntimeError(f"no state event matched a frame:\n{daemon.log_tail()}")
            runs.append({"events": len(lat), "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
                         "p99_ms": percentile(lat, 99), "max_ms": max(lat), "over_100ms": sum(x > 100 for x in lat),
                         "all_ms": lat, "tail_events": len(tail), "tail_max_ms": max(tail, default=None)})
            log.info("%s run %d: %d events, p50 %.1f ms, p99 %.1f ms, max %.1f ms", transport, r + 1,
                     len(lat), runs[-1]["p50_ms"], runs[-1]["p99_ms"], runs[-1]["max_ms"])
        _, health = daemon.get_json("/healthz")
        pooled = [x for r in runs for x in r["all_ms"]]
        ok = True
        return {
            "transport": transport,
            "frames_sent": i,
            "events_matched": len(pooled),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "max_ms": max(r["max_ms"] for r in runs),
            "pooled_p50_ms": percentile(pooled, 50),
            "pooled_p99_ms": percentile(pooled, 99),
            "pooled_p90_ms": percentile(pooled, 90),
            "over_100ms": sum(x > 100 for x in pooled),
            "slow_events": [(round(t, 3), round(x * 1000, 1)) for t, x in matcher.slow],
            # events after a run's frames stopped: the daemon's last batch of a stream waits for
            # more frames until max_delay_ms + SILENT_AFTER_S (monitor/runtime/daemon.py)
            "tail_events": sum(r["tail_events"] for r in runs),
            "tail_max_ms": max((r["tail_max_ms"] for r in runs if r["tail_max_ms"] is not None), default=None),
            "runs": [{k: v for k, v in r.items() if k != "all_ms"} for r in runs],
            "health": health,
        }
    finally:
        cleanup((sse, feed if transport == "mqtt" else None, daemon, broker, pty), wd, ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transport", choices=["serial", "mqtt", "both"], default="both")
    ap.add_argument("--rate", type=float, default=50.0, help="frames per second (default 50)")
    ap.add_argument("--grid", type=int, default=16, help="square grid size (default 16)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of one run (default 20)")
    ap.add_argument("--runs", type=int, default=3, help="runs; the median of their percentiles is reported")
    ap.add_argument("--warmup", type=float, default=4.0, help="seconds sent before measuring (calibration warm-up)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay-ms", type=int, default=None,
                    help="the daemon's analysis.max_delay_ms (default: sitwell's default, 250; 0: every frame at once)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load0 = loadavg()[0]
    transports = ["serial", "mqtt"] if args.transport == "both" else [args.transport]
    results = [measure(t, args) for t in transports]
    print(table(
        ["input", "events", "p50 ms", "p99 ms", "max ms", "pooled p50 ms", "pooled p90 ms", "pooled p99 ms",
         "events > 100 ms", "tail events", "tail max ms"],
        [[r["transport"], r["events_matched"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["pooled_p50_ms"],
          r["pooled_p90_ms"], r["pooled_p99_ms"], r["over_100ms"], r["tail_events"],
          "-" if r["tail_max_ms"] is None else r["tail_max_ms"]] for r in results],
    ))
    m = machine()
    print(f"\n{args.grid}x{args.grid} at {args.rate:g} Hz; median of {args.runs} runs of {args.seconds:g} s; "
          f"{m['cpus']} CPUs ({m['cpu_model']}), load average {load0:.2f} -> {loadavg()[0]:.2f}")
    dump_json({"machine": m, "loadavg_start": round(load0, 2), "args": vars(args), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
