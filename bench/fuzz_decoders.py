"""Longer fuzz run of the wire decoders, plus their decode throughput.

    .venv/bin/python bench/fuzz_decoders.py --seconds 60
    .venv/bin/python bench/fuzz_decoders.py --throughput-only

Each round builds a valid stream (binary packets or text lines), damages it (bit flips,
truncations, dropped/inserted bytes, random runs, absurd lengths, lost delimiters), feeds
it in random chunks and checks the invariants the tests check on a smaller budget:
nothing raises, every emitted frame is well formed, an intact packet after the damage is
always recovered (resync), and CRC never lets a damaged frame through as a wrong one.
Exit status 1 if any invariant broke.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.codec.binary import BinaryDecoder, FramePacket, HelloPacket, encode_frame, encode_hello  # noqa: E402
from monitor.codec.errors import CodecError  # noqa: E402
from monitor.codec.jsonframe import decode_json_frame  # noqa: E402
from monitor.codec.text import TextDecoder  # noqa: E402
from monitor.model import DeviceInfo, DropCounter  # noqa: E402

log = logging.getLogger("fuzz_decoders")


def damage(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not b:
            break
        op = rng.randrange(7)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del b[i : i + rng.randint(1, 40)]
        elif op == 2:
            b[i:i] = rng.randbytes(rng.randint(1, 300))
        elif op == 3:
            b = b[: rng.randrange(len(b) + 1)]
        elif op == 4:  # lose delimiters / line ends
            b = b.replace(b"\x00", b"\x01", 1) if rng.random() < 0.5 else b.replace(b"\n", b" ", 1)
        elif op == 5:  # an absurdly long run
            b[i:i] = bytes([rng.randrange(1, 256)]) * rng.randint(5_000, 40_000)
        else:
            b[i] = rng.randrange(256)
    return bytes(b)


def chunks(rng: random.Random, data: bytes):
    i = 0
    while i < len(data):
        n = rng.choice([1, 2, 7, 64, 512, 4096, 70_000])
        yield data[i : i + n]
        i += n


def fuzz_binary(rng: random.Random, stats: Counter, drops: DropCounter) -> list[str]:
    rows, cols = rng.randint(4, 64), rng.randint(4, 64)
    bits = rng.choice([8, 16])
    top = 255 if bits == 8 else 65535
    frames = [np.asarray(np.random.default_rng(rng.randrange(2**32)).integers(0, top + 1, (rows, cols)))
              for _ in range(rng.randint(1, 4))]
    sums = {i: int(f.sum()) for i, f in enumerate(frames)}
    stream = encode_hello(DeviceInfo(rows=rows, cols=cols)) + b"".join(
        encode_frame(f, i, i * 10, bits) for i, f in enumerate(frames)
    )
    dec = BinaryDecoder(drops)
    problems: list[str] = []
    out = []
    for c in chunks(rng, damage(rng, stream)):
        out += dec.feed(c)
    marker = np.full((4, 4), 9)
    out += dec.feed(b"\x00" + encode_frame(marker, 999, 0, 8))
    for p in out:
        if isinstance(p, FramePacket):
            stats["binary_frames"] += 1
            if p.seq == 999:
                continue
            if p.cells.shape != (rows, cols) or p.seq not in sums or int(p.cells.sum()) != sums[p.seq]:
                problems.append(f"binary: a damaged frame passed as seq {p.seq}")
        elif isinstance(p, HelloPacket):
            stats["binary_hellos"] += 1
    if not out or not isinstance(out[-1], FramePacket) or out[-1].seq != 999:
        problems.append("binary: no resync after damage")
    return problems


def fuzz_text(rng: random.Random, stats: Counter, drops: DropCounter) -> list[str]:
    rows, cols = rng.randint(4, 32), rng.randint(4, 32)
    max_value = rng.choice([9, 255, 1023, 4095, 65535])
    lines = []
    for _ in range(rng.randint(1, 5)):
        vals = [rng.randint(0, max_value) for _ in range(rows * cols)]
        sep = rng.choice([b",", b";", b"\t", b" ", b", "])
        lines.append(sep.join(str(v).encode() for v in vals) + rng.choice([b"\n", b"\r\n"]))
    dec = TextDecoder(rows, cols, max_value, drops)
    problems: list[str] = []
    out = []
    for c in chunks(rng, damage(rng, b"".join(lines))):
        out += dec.feed(c)
    good = b" ".join([b"1"] * (rows * cols)) + b"\n"
    out += dec.feed(b"\n" + good)
    for f in out:
        stats["text_frames"] += 1
        if f.cells.shape != (rows, cols) or int(f.cells.max()) > f.max_value:
            problems.append("text: malformed frame emitted")
    if not out or int(out[-1].cells.sum()) != rows * cols:
        problems.append("text: no resync after damage")
    return problems


def fuzz_json(rng: random.Random, stats: Counter, reasons: Counter) -> list[str]:
    rows, cols = rng.randint(1, 70), rng.randint(1, 70)
    obj = {"t": rng.choice([1.5, float("nan"), float("inf"), 10**30, "x", None]),
           "cells": [[rng.choice([1, 4095, -1, 70000, 2.5, None, True, 10**40]) if rng.random() < 0.02 else 7
                      for _ in range(cols)] for _ in range(rows)]}
    text = json.dumps(obj, allow_nan=True).encode()
    if rng.random() < 0.5:
        text = damage(rng, text)
    if rng.random() < 0.05:
        text = rng.choice([b"[", b"{\"a\":"]) * rng.randint(100, 100_000)
    try:
        f = decode_json_frame(text, max_value=4095)
    except CodecError as exc:
        reasons[exc.reason] += 1
        return []
    stats["json_frames"] += 1
    if not (4 <= f.cells.shape[0] <= 64 and 4 <= f.cells.shape[1] <= 64) or int(f.cells.max()) > 4095:
        return ["json: malformed frame accepted"]
    return []


def throughput(seconds: float = 1.0) -> dict[str, float]:
    """Binary frames/s through BinaryDecoder.feed on a clean stream (16-bit cells)."""
    result = {}
    for rows, cols in ((16, 16), (32, 32), (64, 64)):
        rng = np.random.default_rng(rows)
        stream = b"".join(encode_frame(rng.integers(0, 4096, (rows, cols)), i, i, 16) for i in range(1000))
        dec, n, t0 = BinaryDecoder(), 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n += len(dec.feed(stream))
        result[f"binary {rows}x{cols}"] = n / (time.perf_counter() - t0)
    for rows, cols in ((16, 16), (32, 32)):
        rng = np.random.default_rng(rows)
        lines = b"".join(b",".join(str(v).encode() for v in rng.integers(0, 4096, rows * cols)) + b"\n"
                         for _ in range(200))
        dec, n, t0 = TextDecoder(rows, cols, 4095), 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n += len(dec.feed(lines))
        result[f"text {rows}x{cols}"] = n / (time.perf_counter() - t0)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="fuzzing time budget")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--throughput-only", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    for name, rate in throughput().items():
        log.info("throughput %-14s %9.0f frames/s", name, rate)
    if args.throughput_only:
        return 0

    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    stats: Counter = Counter()
    bin_drops, text_drops, json_reasons = DropCounter(), DropCounter(), Counter()
    problems: list[str] = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end and len(problems) < 20:
        try:
            problems += fuzz_binary(rng, stats, bin_drops)
            problems += fuzz_text(rng, stats, text_drops)
            problems += fuzz_json(rng, stats, json_reasons)
        except Exception as exc:  # noqa: BLE001 - an exception out of a decoder is the finding
            problems.append(f"exception: {exc!r}")
            log.exception("decoder raised")
        stats["rounds"] += 1
    log.info("seed %d, %d rounds in %.0f s", seed, stats["rounds"], args.seconds)
    log.info("frames: %s", dict((k, v) for k, v in stats.items() if k != "rounds"))
    log.info("binary drops: %s", dict(bin_drops.most_common()))
    log.info("text drops:   %s", dict(text_drops.most_common()))
    log.info("json rejects: %s", dict(json_reasons.most_common()))
    for p in sorted(set(problems)):
        log.error("PROBLEM %s", p)
    log.info("%s", "OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
