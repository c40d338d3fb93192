"""Faults: the daemon is told to stop (SIGTERM from systemd, SIGINT from Ctrl-C), or to
reload its config file (SIGHUP), while a cushion is being sat on.

Stopping takes under 2 s and everything analysed before the signal is in the database
afterwards (minutes, spells, the tracker snapshot), although the store batches minute rows
for 30 s. SIGHUP applies a changed [rules] section to the running engines; a broken edit
keeps the running config and says why in the log.
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
    wait_until,
    write_config,
)

pytestmark = pytest.mark.serial


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_exits_within_2s_and_flushes_the_store(tmp_path, pty_pair, sig):
    cfg = write_config(tmp_path / "sitwell.toml")
    db = tmp_path / "sitwell.db"
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        cushion.sit(120, pace=PACE)
        cushion.away(15, pace=PACE)  # > min_break: the first spell ends
        cushion.sit(30, pace=PACE)
        # everything sent has been analysed: the open spell shows its 30 s (less the debounce)
        assert wait_until(lambda: d.input_health()["frames"] == cushion.sent, 10)
        assert wait_until(lambda: (d.status() or {}).get("spell_s", 0) >= 28, 10), d.status()
        took = d.signal(sig)
    except BaseException:
        d.kill()
        raise
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert d.proc.returncode == 0, d.log
    assert "daemon stopped" in d.log

    seated = db_rows(db, "SELECT sum(seated_s) FROM minutes WHERE cushion = 'cushion-1'")[0][0]
    assert seated is not None and 146 <= seated <= 152, seated  # 120 + 30 s sat, at 2 Hz
    spells = db_rows(db, "SELECT seconds, end_ts FROM spells ORDER BY start_ts")
    assert len(spells) == 2, spells
    assert 118 <= spells[0][0] <= 121 and spells[1][1] is None
    snap = json.loads(db_rows(db, "SELECT body FROM snapshots WHERE cushion = 'cushion-1'")[0][0])
    assert snap["last_t"] - snap["spell_start"] >= 28  # the snapshot taken at shutdown, not one 5 s older
    assert db_rows(db, "SELECT count(*) FROM calibration")[0][0] == 1


def test_sighup_reloads_rules_and_a_broken_edit_keeps_the_running_config(tmp_path, pty_pair):
    cfg = write_config(tmp_path / "sitwell.toml", rules={"sit_limit_min": 30})
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    try:
        assert d.get("/api/settings")["rules"]["sit_limit_min"] == 30
        write_config(cfg, rules={"sit_limit_min": 5})
        d.proc.send_signal(signal.SIGHUP)
        assert d.wait_log("configuration reloaded"), d.log
        assert d.get("/api/settings")["rules"]["sit_limit_min"] == 5

        # the new limit is what the tracker uses: a reminder after 5 minutes, not 30
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        cushion.sit(305, pace=PACE)
        got = wait_until(lambda: [r for r in d.reminders() if r["kind"] == "sit_too_long"], 15)
        assert got and 299 <= got[0]["spell_s"] <= 302, d.log

        # broken edits: a TOML syntax error, then a value out of range
        for broken, why in (("[rules]\nsit_limit_min = = 7\n", "syntax"), ("[rules]\nsit_limit_min = 2\n", "range")):
            cfg.write_text(broken)
            before = d.log.count("configuration not reloaded")
            d.proc.send_signal(signal.SIGHUP)
            assert wait_until(lambda before=before: d.log.count("configuration not reloaded") > before, 10), (
                why,
                d.log,
            )
            assert d.get("/api/settings")["rules"]["sit_limit_min"] == 5, why
            assert d.healthz()["status"] == "ok"
        assert "sit_limit_min" in d.log  # the log names the bad key
        assert d.proc.poll() is None
    finally:
        d.kill()


def test_sigterm_with_the_dashboard_open_still_exits_within_2s(tmp_path, pty_pair):
    """A browser tab holding /api/stream open must not hold up a stop (systemd waits, then kills)."""
    import threading

    import httpx

    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary",
                       config=write_config(tmp_path / "sitwell.toml"))
    opened = threading.Event()

    def watch() -> None:
        try:
            with httpx.stream("GET", d.base + "/api/stream", timeout=httpx.Timeout(5, read=30)) as r:
                opened.set()
                for _ in r.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    tab = threading.Thread(target=watch, daemon=True)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        tab.start()
        assert opened.wait(10)
        time.sleep(0.5)
        took = d.signal(signal.SIGTERM)
    except BaseException:
        d.kill()
        raise
    assert took < 2.0, f"took {took:.2f} s to stop with a stream open"
    assert d.proc.returncode == 0, d.log[-2000:]
    tab.join(timeout=5)
    assert not tab.is_alive(), "the stream was not closed by the stop"
