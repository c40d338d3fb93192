"""Fault: the daemon is killed (SIGKILL: no clean shutdown) in the middle of a sitting spell
and started again; the cushion is still being sat on.

The spell carries on (same start, spell_s continues from the last saved state) because the
frames come back within min_break, and the reminder sent before the kill is not sent again:
the next sit_too_long comes one repeat interval after it, once.

Frame time runs faster than the wall clock here (1 Hz frames written 60x faster), so
the restarted daemon sees the first frame as a small step back in time (see docs/faults.md).
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.plugins.faults import (
    PACE,
    RATE_HZ,
    Cushion,
    SitwellProcess,
    db_rows,
    sit_too_long,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.serial


def _snapshot(db) -> dict | None:
    rows = db_rows(db, "SELECT body FROM snapshots WHERE cushion = 'cushion-1'")
    return json.loads(rows[0][0]) if rows else None


def _spells(d: SitwellProcess) -> list[dict]:
    return [i for i in d.get("/api/timeline") if i["type"] == "spell"]


def _sat_past_the_limit(tmp_path, pty_pair):
    """A daemon on a pty whose sitter has just passed the 5-minute limit: (daemon, cushion, cfg, db, reminder)."""
    cfg = write_config(tmp_path / "sitwell.toml")
    db = tmp_path / "sitwell.db"
    cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
    first = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    try:
        assert wait_until(lambda: first.input_health()["connected"], 10)
        cushion.hello()
        cushion.away(5, pace=PACE)
        cushion.sit(305, pace=PACE)  # the 5 min sit limit passes
        reminders = wait_until(lambda: sit_too_long(first), 20)
        assert len(reminders) == 1, first.log
    except BaseException:
        first.kill()
        raise
    return first, cushion, cfg, db, reminders[0]


def test_sigkill_mid_spell_continues_the_spell_and_sends_no_reminder_twice(tmp_path, pty_pair):
    first, cushion, cfg, db, sent = _sat_past_the_limit(tmp_path, pty_pair)
    try:
        assert 299 <= sent["spell_s"] <= 302
        spells_before = _spells(first)
        assert len(spells_before) == 1 and spells_before[0]["end"] is None
        # killed once the reminder is on disk and a snapshot of the open spell exists
        assert wait_until(lambda: db_rows(db, "SELECT id FROM reminders"), 10) == [(sent["id"],)]
        assert wait_until(lambda: (_snapshot(db) or {}).get("spell_start") is not None, 15)
    finally:
        first.kill()
    assert first.proc.returncode == -signal.SIGKILL
    snap = _snapshot(db)
    saved_spell_s = snap["last_t"] - snap["spell_start"]

    pty_pair.replug()  # the new process opens the port afresh
    second = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    try:
        assert wait_until(lambda: second.input_health()["connected"], 10)
        cushion.jump(1.0)  # the few seconds the restart took
        cushion.hello()
        cushion.sit(10, pace=PACE)
        assert wait_until(lambda: (second.status() or {}).get("spell_s", 0) >= saved_spell_s + 9, 15), (
            second.status(), saved_spell_s, second.log)
        status = second.status()
        assert status["occupied"]
        # the same spell: it did not restart at 0, nor jump ahead
        assert saved_spell_s + 9 <= status["spell_s"] <= saved_spell_s + 12
        assert "carried on from the saved tracker state" in second.log
        spells = _spells(second)
        assert len(spells) == 1 and spells[0]["start_ts"] == spells_before[0]["start_ts"], spells
        assert [r["id"] for r in sit_too_long(second)] == [sent["id"]], "sit_too_long sent again after the restart"

        # the repeat comes one interval (60 s) after the first, once
        until_repeat = sent["spell_s"] + 60 - status["spell_s"]
        cushion.sit(max(0.0, until_repeat) + 5, pace=PACE)
        later = wait_until(lambda: len(sit_too_long(second)) >= 2, 15) and sit_too_long(second)
        assert later and len(later) == 2, second.log
        repeat = later[0]  # newest first
        assert repeat["id"] != sent["id"]
        assert 59 <= repeat["spell_s"] - sent["spell_s"] <= 61
        h = second.input_health()
        assert h.get("drops", {}).get("shed", 0) == 0, h
    finally:
        second.kill()


def test_snooze_then_sigkill_the_snooze_survives(tmp_path, pty_pair):
    """A snooze is a promise to the user: killed a moment after it, the daemon keeps it."""
    first, cushion, cfg, db, sent = _sat_past_the_limit(tmp_path, pty_pair)
    try:
        r = first.client.post(f"/api/reminders/{sent['id']}/snooze", params={"minutes": 10})
        assert r.status_code == 200, r.text
    finally:
        first.kill()  # at once: before the next periodic snapshot

    pty_pair.replug()
    second = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    try:
        assert wait_until(lambda: second.input_health()["connected"], 10)
        cushion.jump(1.0)
        cushion.hello()
        sent_before = cushion.sent
        # well past the repeat (due 60 s after the first, even counted from an older snapshot),
        # well inside the 10 min snooze
        cushion.sit(250, pace=PACE)
        assert wait_until(lambda: second.input_health()["frames"] == cushion.sent - sent_before, 15)
        time.sleep(1.0)  # the last frames through analysis
        assert second.status()["occupied"]
        assert [r["id"] for r in sit_too_long(second)] == [sent["id"]], "a snoozed reminder came back after the restart"
    finally:
        second.kill()
