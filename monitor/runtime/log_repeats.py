"""A logging filter that collapses repeats, so no input can flood the log.

An attacker (1,100 idle sockets: `socket.accept() out of system resource` with a
traceback, half a million times in 90 s) or a failing disk must not fill the journal.
Within each `window_s`, per message template (`record.msg`, whatever its arguments):

- the same rendered line passes once;
- at most `per_template` different lines pass (e.g. 256 cushions each logging "new cushion");
- the rest are counted, and the first line of that template after the window ends says
  how many were held back: `... [12345 more like this in the last 10 s]`.

Installed on the root logger's handlers by the daemon (`install()`); handler filters see
records propagated from every logger, including asyncio's and uvicorn's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 10.0
PER_TEMPLATE = 20
MAX_TEMPLATES = 1000  # templates tracked at once (a bound on the filter's own memory)


@dataclass(slots=True)
class _Window:
    start: float
    passed: int = 0
    held: int = 0
    seen: set[str] = field(default_factory=set)


class RepeatFilter(logging.Filter):
    def __init__(self, window_s: float = WINDOW_S, per_template: int = PER_TEMPLATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.per_template = per_template
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._lock = threading.Lock()
        self.held_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        key = (record.name, record.levelno, str(record.msg))
        try:
            line = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format: let logging report it as it would
            return True
        with self._lock:
            w = self._windows.get(key)
            note = 0
            if w is None or now - w.start >= self.window_s:
                note = w.held if w is not None else 0
                if w is None and len(self._windows) >= MAX_TEMPLATES:
                    self._forget(now)
                w = self._windows[key] = _Window(now)
            if line in w.seen or w.passed >= self.per_template:
                w.held += 1
                self.held_total += 1
                return False
            w.passed += 1
            if len(w.seen) < self.per_template:
                w.seen.add(line)
        if note:
            record.msg = f"{record.msg} [{note} more like this in the last {self.window_s:g} s]"
        return True

    def _forget(self, now: float) -> None:
        """Drop expired windows (their held counts are lost: better than unbounded memory)."""
        for k in [k for k, w in self._windows.items() if now - w.start >= self.window_s] or list(self._windows)[:1]:
            del self._windows[k]


def install(logger: logging.Logger | None = None) -> RepeatFilter:
    """Add one RepeatFilter to every handler of `logger` (default: the root logger); idempotent."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        for f in handler.filters:
            if isinstance(f, RepeatFilter):
                return f
    flt = RepeatFilter()
    for handler in logger.handlers:
        handler.addFilter(flt)
    return flt
