"""Fault injection: the ways a real cushion's link goes wrong, on demand and counted.

Spec syntax (comma separated, docs/simulator.md):
    crc=P        corrupt a packet after its CRC was computed (binary: bad CRC; text: a mangled line)
    drop=P       drop each byte with probability P (MQTT: drop each message with probability P)
    truncate=P   cut a frame short (the packet/line ends early)
    garbage=P    insert random bytes / a garbage line before a frame (MQTT: a garbage message)
    burst=P      start a 0.5-3 s burst of heavy electrical noise in the readings
    disconnect@T[:D]   at scenario second T drop the link for D s (default 3), then reconnect
    clockjump@T[:J]    at scenario second T the device clock jumps by J s (default +30; may be negative)
Probabilities are per frame unless said otherwise. Every injected fault is counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

RATES = ("crc", "drop", "truncate", "garbage", "burst")
EVENTS = ("disconnect", "clockjump")
GARBAGE_LINES = (b"ERR adc timeout", b"boot v1.0.0 ready", b"12,34,x,56", b"\xff\xfe\xfd", b"?")


class FaultSpecError(ValueError):
    pass


@dataclass(slots=True)
class FaultSpec:
    crc: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    garbage: float = 0.0
    burst: float = 0.0
    disconnects: list[tuple[float, float]] = field(default_factory=list)  # (at_s, for_s)
    clock_jumps: list[tuple[float, float]] = field(default_factory=list)  # (at_s, jump_s)

    @property
    def any(self) -> bool:
        return any(getattr(self, r) > 0 for r in RATES) or bool(self.disconnects or self.clock_jumps)


def parse_faults(spec: str | None) -> FaultSpec:
    """Parse "crc=0.01,drop=0.001,garbage=0.01,disconnect@60,clockjump@120:-5"."""
    out = FaultSpec()
    if not spec:
        return out
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            if "@" in item:
                name, _, when = item.partition("@")
                at_s, _, arg = when.partition(":")
                at = float(at_s)
                if name == "disconnect":
                    d = float(arg) if arg else 3.0
                    if at < 0 or d <= 0:
                        raise ValueError
                    out.disconnects.append((at, d))
                elif name == "clockjump":
                    out.clock_jumps.append((at, float(arg) if arg else 30.0))
                else:
                    raise FaultSpecError(f"unknown fault event {name!r} in {item!r} (known: {', '.join(EVENTS)})")
            else:
                name, _, val = item.partition("=")
                if name not in RATES:
                    raise FaultSpecError(f"unknown fault {name!r} in {item!r} (known: {', '.join(RATES + EVENTS)})")
                p = float(val)
                if not 0.0 <= p <= 1.0:
                    raise FaultSpecError(f"{name} must be a probability 0..1, got {val!r}")
                setattr(out, name, p)
        except FaultSpecError:
            raise
        except ValueError:
            raise FaultSpecError(
                f"bad fault {item!r}: use NAME=P (P in 0..1), disconnect@T[:D] or clockjump@T[:J]"
            ) from None
    out.disconnects.sort()
    out.clock_jumps.sort()
    return out


class FaultInjector:
    """Applies a FaultSpec to a stream of frames; `counts` says what it did."""

    def __init__(self, spec: FaultSpec, rng: np.random.Generator, max_value: int = 4095):
        self.spec = spec
        self.rng = rng
        self.max_value = max_value
        self.counts: Counter[str] = Counter()
        self._burst_until = -1.0
        self._jump = 0.0
        self._next_jump = 0
        self._next_disc = 0

    # --- time -------------------------------------------------------------------------
    def device_time(self, t: float) -> float:
        """Scenario time -> device clock (after any clock jumps that are due)."""
        jumps = self.spec.clock_jumps
        while self._next_jump < len(jumps) and t >= jumps[self._next_jump][0]:
            self._jump += jumps[self._next_jump][1]
            self._next_jump += 1
            self.counts["clock_jump"] += 1
            log.info("fault: device clock jumps by %+.1f s at t=%.1f", jumps[self._next_jump - 1][1], t)
        return t + self._jump

    def disconnect_due(self, t: float) -> float | None:
        """Seconds to stay disconnected if a disconnect starts at or before t (once each)."""
        disc = self.spec.disconnects
        if self._next_disc < len(disc) and t >= disc[self._next_disc][0]:
            d = disc[self._next_disc][1]
            self._next_disc += 1
            self.counts["disconnect"] += 1
            return d
        return None

    # --- readings -----------------------------------------------------------------------
    def cells(self, cells: np.ndarray, t: float) -> np.ndarray:
        """Readings with a noise burst laid on while one lasts."""
        p = self.spec.burst
        if p <= 0:
            return cells
        if t >= self._burst_until and self.rng.random() < p:
            self._burst_until = t + float(self.rng.uniform(0.5, 3.0))
            self.counts["noise_burst"] += 1
        if t < self._burst_until:
            sd = 0.08 * self.max_value
            noisy = cells.astype(np.float64) + self.rng.normal(0.0, sd, cells.shape)
            return np.clip(np.rint(noisy), 0, self.max_value).astype(cells.dtype)
        return cells

    # --- packets and streams --------------------------------------------------------------
    def corrupt_payload(self, payload: bytes, binary: bool) -> bytes:
        """With probability crc, damage the payload after its CRC was computed."""
        if self.spec.crc <= 0 or self.rng.random() >= self.spec.crc or len(payload) < 16:
            return payload
        b = bytearray(payload)
        if binary:
            # flip bits in the cells or the CRC so the header still parses: a bad-CRC drop
            i = int(self.rng.integers(13, len(b)))
            b[i] ^= int(self.rng.integers(1, 256))
        else:
            # a glitched UART character: a digit becomes a letter, the line no longer parses
            digits = [i for i, c in enumerate(b) if 48 <= c <= 57]
            i = digits[int(self.rng.integers(len(digits)))] if digits else 0
            b[i] = ord("x")
        self.counts["corrupt"] += 1
        return bytes(b)

    def stream(self, framed: bytes, binary: bool) -> bytes:
        """Stream-level faults on one framed packet/line: garbage before, truncation, byte drops."""
        s = self.spec
        out = framed
        if s.truncate > 0 and self.rng.random() < s.truncate and len(framed) > 4:
            k = int(self.rng.integers(1, len(framed) - 2))
            out = framed[:k] + framed[-1:]  # keep the terminator (0x00 / newline)
            self.counts["truncate"] += 1
        if s.garbage > 0 and self.rng.random() < s.garbage:
            out = self.garbage(binary) + out
            self.counts["garbage"] += 1
        if s.drop > 0:
            keep = self.rng.random(len(out)) >= s.drop
            lost = int(len(out) - keep.sum())
            if lost:
                arr = np.frombuffer(out, dtype=np.uint8)
                out = arr[keep].tobytes()
                self.counts["dropped_bytes"] += lost
        return out

    def garbage(self, binary: bool) -> bytes:
        if binary:
            n = int(self.rng.integers(3, 40))
            g = self.rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            return g + b"\x00"  # line noise ends at some zero byte
        return GARBAGE_LINES[int(self.rng.integers(len(GARBAGE_LINES)))] + b"\n"

    def message(self, payload: bytes) -> list[bytes]:
        """Message-level faults (MQTT): the payloads to publish in place of one frame."""
        s = self.spec
        if s.drop > 0 and self.rng.random() < s.drop:
            self.counts["dropped_messages"] += 1
            return []
        out = []
        if s.garbage > 0 and self.rng.random() < s.garbage:
            out.append(self.garbage(True)[:-1])
            self.counts["garbage"] += 1
        if s.truncate > 0 and self.rng.random() < s.truncate and len(payload) > 4:
            payload = payload[: int(self.rng.integers(1, len(payload) - 1))]
            self.counts["truncate"] += 1
        out.append(payload)
        return out

    def summary(self) -> str:
        if not self.counts:
            return "no faults injected"
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
