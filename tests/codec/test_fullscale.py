"""The one full-scale policy (monitor/codec/fullscale.py): announced, wire, configured, adopted."""

from __future__ import annotations

import logging

from monitor.codec.fullscale import ADOPT_AFTER, FullScale, scale_for


def test_scale_for_picks_the_smallest_usual_scale():
    assert [scale_for(v) for v in (0, 9, 10, 255, 256, 1023, 1024, 4095, 4096, 65535)] == [
        9, 9, 255, 255, 1023, 1023, 4095, 4095, 65535, 65535]


def test_a_set_scale_that_readings_exceed_drops_loudly_then_adopts(caplog):
    fs = FullScale(1023, explicit=True, cushion="desk")
    with caplog.at_level(logging.WARNING):
        got = [fs.check(3900) for _ in range(ADOPT_AFTER)]
    assert got[:-1] == [None] * (ADOPT_AFTER - 1)
    assert got[-1] == 4095
    assert fs.check(100) == 4095  # sticks
    notice = fs.notice()
    assert (notice.in_use, notice.source, notice.configured) == (4095, "readings", 1023)
    assert "--max-value 4095" in notice.fix and "serial.max_value = 4095" in notice.fix
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # the first drop, and the adoption: not one per frame
    assert "out_of_range" in warnings[0] and "4095" in warnings[1]


def test_the_default_scale_gives_way_at_once():
    fs = FullScale(4095, explicit=False)
    assert fs.check(4000) == 4095
    assert fs.notice().warning is None
    assert fs.check(60000) == 65535
    assert fs.notice().source == "readings" and fs.notice().warning


def test_an_announced_scale_wins_over_the_setting_with_a_warning():
    fs = FullScale(1023, explicit=True, cushion="desk")
    fs.announce(4095)
    assert fs.check(4000) == 4095
    n = fs.notice()
    assert n.source == "hello" and "reports full scale 4095" in n.warning and "4095" in n.fix
    # the same hello again does not undo what the readings decided later
    for _ in range(ADOPT_AFTER):
        fs.check(60000)
    fs.announce(4095)
    assert fs.check(60000) == 65535


def test_an_announced_scale_equal_to_the_setting_is_quiet():
    fs = FullScale(4095, explicit=True)
    fs.announce(4095)
    assert fs.check(4095) == 4095 and fs.notice().warning is None


def test_an_eight_bit_wire_bounds_the_configured_scale():
    fs = FullScale(4095, explicit=False)
    assert fs.check(200, wire_max=255) == 255
