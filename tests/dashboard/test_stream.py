"""The SSE stream's life cycle, with the real daemon in this process."""

from __future__ import annotations

import threading
import time

import httpx


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_closing_the_stream_unsubscribes(inprocess_daemon):
    d = inprocess_daemon()
    assert d.runtime.subscriptions == 0
    with httpx.Client(base_url=d.url, timeout=10) as c, c.stream("GET", "/api/stream") as r:
        # Hold the line iterator: a dropped one is closed whenever the garbage collector gets
        # to it, and httpx then closes the connection (the daemon rightly unsubscribed).
        lines = r.iter_lines()
        next(lines)  # the stream is flowing
        # counted by the event loop's thread, which a busy machine may run a moment later
        assert wait_until(lambda: d.runtime.subscriptions == 1), d.runtime.subscriptions
        del lines
    assert wait_until(lambda: d.runtime.subscriptions == 0), "the daemon still feeds a closed stream"


def test_close_streams_ends_open_streams(inprocess_daemon):
    """What the daemon calls at shutdown, so open pages do not hold the server up."""
    d = inprocess_daemon()
    ended: list[float] = []

    def read() -> None:
        with httpx.Client(base_url=d.url, timeout=10) as c, c.stream("GET", "/api/stream") as r:
            for _ in r.iter_lines():
                pass
        ended.append(time.monotonic())

    readers = [threading.Thread(target=read, daemon=True) for _ in range(3)]
    for t in readers:
        t.start()
    assert wait_until(lambda: d.runtime.subscriptions == 3)
    time.sleep(0.5)
    assert not ended, "streams do not end by themselves"
    closed_at = time.monotonic()
    d.call(d.app.state.close_streams)
    for t in readers:
        t.join(timeout=5)
    assert len(ended) == 3 and max(ended) - closed_at < 2.0
    assert wait_until(lambda: d.runtime.subscriptions == 0)
