"""The log filter that collapses repeats (monitor/runtime/log_repeats.py) on a real handler."""

from __future__ import annotations

import io
import logging

from monitor.runtime.log_repeats import RepeatFilter


def _logger(clock) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatFilter(window_s=10.0, per_template=3, clock=clock))
    logger = logging.getLogger(f"test.repeats.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_a_flood_of_the_same_line_is_one_line_then_a_count():
    now = [0.0]
    logger, out = _logger(lambda: now[0])
    for _ in range(100_000):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource")
    now[0] += 10.0
    logger.error("socket.accept() out of system resource")
    lines = out.getvalue()
    assert lines.count("socket.accept() out of system resource") == 2
    assert "[99999 more like this in the last 10 s]" in lines
    assert len(lines) < 2000


def test_different_lines_of_one_template_pass_up_to_the_budget():
    now = [0.0]
    logger, out = _logger(lambda: now[0])
    for i in range(50):
        logger.info("mqtt: new cushion %s", f"c{i:03d}")
    assert out.getvalue().count("new cushion") == 3
    logger.warning("another template")
    assert "another template" in out.getvalue()
