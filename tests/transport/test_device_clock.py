"""The one device-clock policy (monitor/transport/device_clock.py), serial and MQTT alike:
frame time never runs backwards, never more than a day ahead of the host's clock, a
jump beyond that is a reconnect (frame time moves on by the host's elapsed time), and a
first frame with an impossible time still starts a usable clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.transport.device_clock import MAX_LEAD_S, U32_MS_WRAP_S, DeviceClock


def clock(**kw) -> tuple[DeviceClock, list[float]]:
    wall = [1000.0]
    return DeviceClock("test", wall=lambda: wall[0], **kw), wall


def test_steps_forward_are_taken_as_they_come_within_a_day_of_the_host():
    c, wall = clock()
    assert c.to_t(10.0) == 10.0
    wall[0] += 0.1
    assert c.to_t(10.1) == pytest.approx(10.1)
    assert c.to_t(10.1 + 3 * 3600) == pytest.approx(10.1 + 3 * 3600)  # a 3 h jump: a 3 h break
    assert c.reconnects == 0


@pytest.mark.parametrize("far", [1e11, 1e12, MAX_LEAD_S + 100])
def test_a_leap_beyond_the_bound_is_a_reconnect_by_the_host_gap(far):
    c, wall = clock()
    c.to_t(5.0)
    wall[0] += 0.5
    assert c.to_t(far) == pytest.approx(5.5)  # moved on by the host's 0.5 s, not by `far`
    wall[0] += 0.1
    assert c.to_t(5.7) == pytest.approx(5.6)  # the cushion's normal frames: back, a reconnect again
    wall[0] += 0.1
    assert c.to_t(5.8) == pytest.approx(5.7)
    assert c.reconnects == 2


def test_stale_frames_are_none_and_reboots_move_on_by_the_host_gap():
    c, wall = clock(stale_s=1.0)
    c.to_t(100.0)
    assert c.to_t(99.5) is None  # stale
    wall[0] += 300
    assert c.to_t(2.0) == pytest.approx(400.0)  # rebooted after 5 min: a 5 min gap


def test_fake_wraps_cannot_push_dates_into_later_centuries():
    """A u32 ms clock jumping back and forth by almost half its range looked like a wrap
    each time (+49.7 days per pair); now no step is taken beyond the day of lead."""
    c, wall = clock()
    c.to_t(0.0, wrap=U32_MS_WRAP_S)
    for i in range(2000):
        wall[0] += 0.02
        c.to_t((0 if i % 2 else (1 << 31) - 1) / 1000.0, wrap=U32_MS_WRAP_S)
        c.to_t(((1 << 31) + 1) / 1000.0 if i % 3 == 0 else 0.0, wrap=U32_MS_WRAP_S)
    assert c.last_t is not None and c.last_t <= 2000 * 0.02 + MAX_LEAD_S
    epoch = datetime(2026, 12, 2, tzinfo=UTC)
    assert (epoch + timedelta(seconds=c.last_t)).year in (2026, 2027)


def test_a_real_wrap_still_unwraps():
    c, _ = clock()
    top = 1 << 32
    assert c.seconds(top - 100) == pytest.approx((top - 100) / 1000)
    assert c.seconds(50) == pytest.approx((top + 50) / 1000)


@pytest.mark.parametrize("first", [1e12, -1e12, -5.0, 2.0**33])
def test_an_impossible_first_time_starts_frame_time_at_zero(first):
    c, wall = clock()
    assert c.to_t(first) == 0.0
    wall[0] += 0.1
    assert c.to_t(first + 0.1) == pytest.approx(0.1, abs=1e-3)  # float steps that far from 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_no_number_is_no_time(bad):
    c, _ = clock()
    c.to_t(1.0)
    assert c.to_t(bad) is None and c.last_t == 1.0


def test_a_faster_than_real_time_cushion_gets_its_speed():
    c, wall = clock(speed=100.0)
    c.to_t(0.0)
    wall[0] += 1000.0
    assert c.to_t(100_000.0 + 1000.0) == pytest.approx(101_000.0)  # 100x real time plus a jump
