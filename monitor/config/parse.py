"""The one reader of what people type for an address or a duration (CLI, pause, config files).

- `parse_host_port("192.168.1.10")` -> ("192.168.1.10", default port); "host:1883", "[::1]:1883",
  "[::1]" and a bare IPv6 literal ("fe80::1") are understood too.
- `parse_duration("1h30")` -> 5400.0 seconds: "90 min", "1 hour", "1.5 h", "1h30m", "1:30",
  "45s", "half an hour"; a bare number is in the caller's unit (minutes for a pause).
- `parse_pause("tomorrow" | "off" | <duration>)` -> what `sitwell pause` and POST /api/pause mean.

Every refusal is a ValueError whose text tells a person what was wrong and what to write
instead (never a pattern). The firmware simulator keeps its own small host:port reader: it is
an independent device and imports nothing from the monitor.
"""

from __future__ import annotations

import math
import re
from typing import Literal

__all__ = [
    "DURATION_EXAMPLES",
    "MAX_PAUSE_MIN",
    "PAUSE_EXAMPLES",
    "parse_duration",
    "parse_host_port",
    "parse_pause",
]

# ---- host[:port] ---------------------------------------------------------------------------


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """"host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 literal -> (host, port)."""
    value = (text or "").strip()
    if not value:
        raise ValueError("no host given: write HOST or HOST:PORT, e.g. 192.168.1.10 or 192.168.1.10:1883")
    if "://" in value or "/" in value:
        raise ValueError(f"{text!r} looks like a URL: give only the host and, if not {default_port}, the port"
                         f" (e.g. 192.168.1.10:{default_port})")
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: an IPv6 address in brackets needs its closing ']' (e.g. [::1]:{default_port})")
        host, rest = value[1:end], value[end + 1:]
        if not host:
            raise ValueError(f"{text!r}: nothing between the brackets (e.g. [::1]:{default_port})")
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: after ']' only ':PORT' may follow (e.g. [{host}]:{default_port})")
        return host, _port(rest[1:], text)
    if value.count(":") > 1:  # an IPv6 literal without brackets cannot carry a port
        return value, default_port
    host, sep, port = value.partition(":")
    if not host:
        raise ValueError(f"{text!r} has a port but no host: write HOST:PORT, e.g. 127.0.0.1{value}")
    return host, _port(port, text) if sep else default_port


def _port(text: str, whole: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{whole!r}: the port {text!r} is not a number (write HOST or HOST:PORT, e.g. localhost:1883)"
                         if text else f"{whole!r} ends in ':' without a port (write HOST or HOST:PORT)")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{whole!r}: a port is a number from 1 to 65535, not {port}")
    return port


# ---- durations -------------------------------------------------------------------------------

Unit = Literal["s", "min", "h"]
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0}
_UNIT_WORDS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "min", "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
}
DURATION_EXAMPLES = "30m, 90 min, 1h, 1 hour, 1h30, 1:30 or 45s"
_NUMBER = r"\d+(?:[.,]\d+)?|[.,]\d+"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]*)\s*")
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")  # h:mm
_WORDS = {"half an hour": 1800.0, "an hour": 3600.0, "a minute": 60.0, "a quarter of an hour": 900.0,
          "quarter of an hour": 900.0, "quarter hour": 900.0}


def parse_duration(text: str | float | int, default_unit: Unit = "min") -> float:
    """A duration as people write it -> seconds. A bare number is in `default_unit`.

    "1h30" is 1 h 30 min (a number after hours without a unit is minutes, after minutes seconds).
    Raises ValueError saying, in words, what could not be read and giving examples."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration: write e.g. {DURATION_EXAMPLES}")
    if isinstance(text, (int, float)):
        return _finite(float(text) * _UNIT_SECONDS[default_unit], text)
    raw = text
    value = text.strip().lower().replace("\u00a0", " ")
    value = re.sub(r"^(for|in)\s+", "", value)
    if not value:
        raise ValueError(f"no duration given: write e.g. {DURATION_EXAMPLES}")
    if value in _WORDS:
        return _WORDS[value]
    if value.startswith("-"):
        raise ValueError(f"{raw!r}: a duration cannot be negative")
    clock = _CLOCK.match(value)
    if clock:
        return int(clock.group(1)) * 3600.0 + int(clock.group(2)) * 60.0
    value = re.sub(r"\s+and\s+", " ", value)
    total = 0.0
    pos = 0
    last_unit: str | None = None
    while pos < len(value):
        m = _PART.match(value, pos)
        if not m or m.end() == pos:
            bad = value[pos:].strip()
            if bad and bad[0].isalpha():
                raise ValueError(f"{raw!r} is not a duration: it needs a number before {bad.split()[0]!r}"
                                 f" (write e.g. {DURATION_EXAMPLES})")
            raise ValueError(f"{raw!r} is not a duration: write e.g. {DURATION_EXAMPLES}")
        number = float(m.group(1).replace(",", "."))
        word = m.group(2)
        if word:
            unit = _UNIT_WORDS.get(word)
            if unit is None:
                hint = " (days are not a unit here)" if word in ("d", "day", "days") else ""
                raise ValueError(f"{raw!r}: {word!r} is not a unit of time{hint}; use s, min or h"
                                 f" (e.g. {DURATION_EXAMPLES})")
        elif last_unit == "h":
            unit = "min"  # "1h30"
        elif last_unit == "min":
            unit = "s"  # "2m30"
        elif last_unit is None:
            unit = default_unit
        else:
            raise ValueError(f"{raw!r}: the number after the seconds has no unit (write e.g. {DURATION_EXAMPLES})")
        if last_unit is not None and _UNIT_SECONDS[unit] >= _UNIT_SECONDS[last_unit]:
            raise ValueError(f"{raw!r}: write the larger unit first, each once (e.g. 1h30 or 1 hour 30 min)")
        total += number * _UNIT_SECONDS[unit]
        last_unit = unit
        pos = m.end()
    return _finite(total, raw)


def _finite(seconds: float, raw: object) -> float:
    if not math.isfinite(seconds):
        raise ValueError(f"{raw!r} is not a duration: write e.g. {DURATION_EXAMPLES}")
    if seconds < 0:
        raise ValueError(f"{raw!r}: a duration cannot be negative")
    return seconds


# ---- pause -------------------------------------------------------------------------------------

MAX_PAUSE_MIN = 24 * 60
PAUSE_EXAMPLES = "30m, 1h, 1 hour, 90 min, 1h30, tomorrow or off"
_OFF = ("off", "resume", "stop", "none", "no", "end", "")
_TOMORROW = ("tomorrow", "until-tomorrow", "until tomorrow", "till tomorrow", "rest of the day", "today")


def parse_pause(spec: str | float | int | None) -> float | Literal["tomorrow"] | None:
    """What a pause request means: minutes, "tomorrow" (until the next midnight) or None (off).

    A bare number is minutes ("45"); 0 is off. Raises ValueError with a message for the user."""
    if spec is None:
        return None
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text in _OFF:
            return None
        if text in _TOMORROW:
            return "tomorrow"
    try:
        minutes = parse_duration(spec, default_unit="min") / 60.0
    except ValueError as exc:
        if isinstance(spec, str) and not any(ch.isdigit() for ch in spec) and spec.strip().lower() not in _WORDS:
            raise ValueError(f"{spec!r} is not a pause: write how long, e.g. {PAUSE_EXAMPLES}") from None
        raise ValueError(f"{exc}; a pause is e.g. {PAUSE_EXAMPLES}") from None
    if minutes > MAX_PAUSE_MIN:
        raise ValueError(f"a pause lasts at most 24 hours ({spec!r} is {_long(minutes)});"
                         " 'tomorrow' pauses until midnight")
    return minutes or None


def _long(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} hours"
