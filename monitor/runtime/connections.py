"""Bounds on the dashboard's connections, so idle or slow clients cannot exhaust the process.

uvicorn closes a keep-alive connection that stays idle after a response
(`timeout_keep_alive`) and answers 503 over `limit_concurrency`, but a connection that
never completes a request head is kept forever: 1,100 of them, sending nothing, used up a
1,024-file limit and every request timed out (issue 19.2). uvicorn has no header-read
timeout, so `GuardedH11Protocol` (uvicorn's h11 protocol plus two rules) adds one:

- a request head must arrive within `HEAD_TIMEOUT_S` of the connection (or of the previous
  response on a kept-alive one); bytes trickling in do not extend it (slow loris);
- at most `MAX_WAITING` connections may be waiting for their head; a new one over that
  closes the one that has waited longest, so fresh clients (a dashboard, /healthz) get in
  at once, however many idle sockets an attacker holds.

Requests in progress (an SSE stream, a slow upload within the body limit) are not touched.
`raise_open_file_limit()` lifts the soft RLIMIT_NOFILE to the hard one at start.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEAD_TIMEOUT_S = 10.0
MAX_WAITING = 128
LIMIT_CONCURRENCY = 512  # connections + requests; uvicorn answers 503 beyond
BACKLOG = 256
KEEP_ALIVE_S = 5.0
MAX_HEAD_BYTES = 16 * 1024  # h11's bound on an incomplete request head


class _Waiting:
    """The connections waiting for a request head, oldest first (one loop: no lock)."""

    def __init__(self) -> None:
        self.conns: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.closed = 0  # connections closed for being idle or slow

    def count_closed(self, why: str) -> None:
        self.closed += 1
        if self.closed in (1, 10, 100) or self.closed % 1000 == 0:
            log.warning("dashboard: %d idle or slow connections closed so far (latest: %s)", self.closed, why)


WAITING = _Waiting()


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._got_head()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request head arrived (a new request/response cycle)
            self._got_head()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_head()  # before uvicorn reads a pipelined request (handle_events)
        super().on_response_complete()

    def _await_head(self) -> None:
        self._got_head()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._close, "no request head in time")
        WAITING.conns[self] = None
        while len(WAITING.conns) > MAX_WAITING:
            oldest = next(iter(WAITING.conns))
            oldest._close("too many connections waiting for a request head")

    def _got_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        WAITING.conns.pop(self, None)

    def _close(self, why: str) -> None:
        self._got_head()
        if not self.transport.is_closing():
            WAITING.count_closed(why)
            self.transport.close()


def uvicorn_limits() -> dict[str, Any]:
    """The keyword arguments for uvicorn.Config that bound connections."""
    return {
        "http": GuardedH11Protocol,
        "limit_concurrency": LIMIT_CONCURRENCY,
        "backlog": BACKLOG,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }


def raise_open_file_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit; the (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.debug("open-file limit raised from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d (%s)", soft, target, exc)
    return soft, hard
