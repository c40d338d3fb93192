"""Faults in time: the cushion's clock jumps forward by hours or back by an hour, and a laptop
suspend (the port vanishes, frames stop, and come back much later in frame time).

The rules run on frame time, so the danger is a burst: a spell suddenly hours long firing
sit_too_long and its repeats at once. The tracker treats a gap of min_break or more in
frame time as a break (the spell ends at the last frame before the gap); a clock that goes
back is rebased by the serial input so frame time never reverses (docs/reminders.md).
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from tests.plugins.faults import (
    PACE,
    RATE_HZ,
    Cushion,
    SitwellProcess,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.serial


def _start(tmp_path, pty_pair) -> tuple[SitwellProcess, Cushion]:
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    assert wait_until(lambda: d.input_health()["connected"], 10)
    cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
    cushion.hello()
    cushion.away(5, pace=PACE)
    return d, cushion


def _caught_up(d: SitwellProcess, cushion: Cushion) -> None:
    assert wait_until(lambda: d.input_health()["frames"] == cushion.sent, 10)
    time.sleep(1.0)  # the last frames through analysis (gathered for up to analysis.max_delay_ms)


def _timeline(d: SitwellProcess) -> list[dict]:
    """Today's spells and breaks, and the next day's: a jump of hours forward late in the day
    puts the spell after it on tomorrow's timeline (a break over midnight is on both days)."""
    items = d.get("/api/timeline")
    if not items:
        return items
    first_day = date.fromisoformat(items[0]["start_at"][:10])
    seen = {(i["type"], i["start_at"]) for i in items}
    for i in d.get(f"/api/timeline?day={first_day + timedelta(days=1)}"):
        if (i["type"], i["start_at"]) not in seen:
            items.append(i)
    return items


def test_clock_jumps_forward_hours_mid_spell_ends_the_spell_without_reminders(tmp_path, pty_pair):
    d, cushion = _start(tmp_path, pty_pair)
    try:
        cushion.sit(290, pace=PACE)  # 10 s short of the 5 min limit
        cushion.jump(3 * 3600)
        cushion.sit(30, pace=PACE)
        _caught_up(d, cushion)
        assert d.reminders() == [], "a 3 h clock jump must not count as 3 h of sitting"
        st = d.status()
        assert st["occupied"] and 27 <= st["spell_s"] <= 30, st
        items = _timeline(d)
        spells = [i for i in items if i["type"] == "spell"]
        breaks = [i for i in items if i["type"] == "break"]
        assert len(spells) == 2 and 288 <= spells[0]["seconds"] <= 291, spells
        assert spells[1]["end"] is None
        assert len(breaks) == 1 and abs(breaks[0]["seconds"] - 3 * 3600) < 10, breaks
        assert "treating the gap as a break" in d.log
    finally:
        d.kill()


def test_clock_jumps_back_mid_spell_keeps_the_spell_and_fires_once(tmp_path, pty_pair):
    d, cushion = _start(tmp_path, pty_pair)
    try:
        cushion.sit(200, pace=PACE)
        cushion.jump(-3600)
        cushion.sit(130, pace=PACE)  # 330 s on the seat in all: one sit_too_long, no repeat yet
        _caught_up(d, cushion)
        got = [r for r in d.reminders() if r["kind"] == "sit_too_long"]
        assert len(got) == 1 and 299 <= got[0]["spell_s"] <= 302, got
        st = d.status()
        assert st["occupied"] and 326 <= st["spell_s"] <= 331, st
        assert len([i for i in _timeline(d) if i["type"] == "spell"]) == 1
        assert "device clock went back" in d.log
    finally:
        d.kill()


def test_suspend_is_a_break_and_no_burst_of_reminders_on_resume(tmp_path, pty_pair):
    d, cushion = _start(tmp_path, pty_pair)
    try:
        cushion.sit(330, pace=PACE)  # sit_too_long at 300 s; the repeat would be due at 360 s
        assert wait_until(lambda: len(d.reminders()) == 1, 10), d.reminders()
        # suspend: the USB port goes away, the cushion keeps its clock running for 40 minutes
        pty_pair.unplug()
        assert wait_until(lambda: d.status()["connected"] is False, 10)
        pty_pair.replug()
        assert wait_until(lambda: d.status()["connected"] is True, 15)
        cushion.jump(40 * 60)
        cushion.hello()
        cushion.sit(60, pace=PACE)
        _caught_up(d, cushion)
        reminders = d.reminders()
        assert len(reminders) == 1, f"burst after resume: {reminders}"
        st = d.status()
        assert 57 <= st["spell_s"] <= 60, st  # a fresh spell since the resume
        breaks = [i for i in _timeline(d) if i["type"] == "break"]
        assert len(breaks) == 1 and abs(breaks[0]["seconds"] - 40 * 60) < 10, breaks
    finally:
        d.kill()


def test_cushion_rebooted_after_a_long_outage_ends_the_spell(tmp_path, pty_pair):
    d, cushion = _start(tmp_path, pty_pair)
    try:
        cushion.sit(100, pace=PACE)
        _caught_up(d, cushion)
        pty_pair.unplug()  # the laptop sleeps; the cushion loses power
        time.sleep(11)  # longer than min_break (10 s) of real time
        pty_pair.replug()
        assert wait_until(lambda: d.status()["connected"] is True, 15)
        cushion.device_ms = 500  # the board booted again: its clock starts near 0
        cushion.hello()
        cushion.sit(20, pace=PACE)
        _caught_up(d, cushion)
        spells = [i for i in _timeline(d) if i["type"] == "spell"]
        assert len(spells) == 2, spells
        assert d.status()["spell_s"] <= 20
    finally:
        d.kill()
