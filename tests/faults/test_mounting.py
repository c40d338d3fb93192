"""Mounting faults found from the load, through the real daemon on a real pty.

The cushion's frames are firmware_sim frames (tests/plugins/faults.py) turned round, turned a
quarter or inverted by this test with numpy (calibration/mounting.py `apply_fault`, the same
relations as `sitwell sim --mount`). The daemon must say so in the log and /api/notices within
a minute of sitting, offer the setting that undoes it, and, once it is applied through the
API (token-protected like every change), read the cushion rightly: the notice goes, the
setting is kept in the database, the sitter is seen.
"""

from __future__ import annotations

import pytest

from monitor.calibration.mounting import Mounting, apply_fault
from tests.plugins.faults import PACE, Cushion, SitwellProcess, wait_until, write_config

pytestmark = pytest.mark.serial
RATE = 10.0


def _faulted_cushion(pty, mounting: Mounting) -> Cushion:
    cushion = Cushion(pty, rate_hz=RATE)
    cushion.empty = apply_fault(cushion.empty, mounting, 4095)
    cushion.seated = apply_fault(cushion.seated, mounting, 4095)
    return cushion


def _notices(d: SitwellProcess) -> list[dict]:
    return [n for n in d.get("/api/notices") if n["kind"] == "mounting"]


@pytest.mark.parametrize("fault", [Mounting("rotate180"), Mounting("rotate90"), Mounting(invert=True)],
                         ids=["turned-round", "quarter-turn", "inverted"])
def test_mounting_fault_is_found_said_and_fixed_by_apply(tmp_path, pty_pair, fault):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = _faulted_cushion(pty_pair, fault)
        cushion.hello()
        cushion.away(8, pace=PACE)
        cushion.sit(50, pace=PACE)  # well within the first minute of sitting
        found = wait_until(lambda: _notices(d), 15)
        assert found, (d.get("/api/notices"), d.log[-3000:])
        notice = found[0]
        assert notice["apply"] == fault.as_json()
        assert notice["level"] == "warning" and notice["fix"]
        words = {"rotate180": "turned round", "rotate90": "turned a quarter", "normal": "inverted"}[fault.orientation]
        assert words in notice["message"]
        assert d.wait_log(words) and "WARNING" in d.log
        assert d.healthz()["notices"][0]["kind"] == "mounting"
        # Apply (what the dashboard's button sends)
        r = d.client.post("/api/cushions/cushion-1/mounting", json=notice["apply"])
        assert r.status_code == 200, r.text
        assert d.wait_log("mounting set to orientation")
        assert _notices(d) == []
        cushion.away(5, pace=PACE)
        cushion.sit(40, pace=PACE)
        assert wait_until(lambda: (d.status() or {}).get("occupied"), 15), d.status()
        # read rightly now: the check finds nothing more to fix
        assert wait_until(lambda: "lies as expected" in d.log, 15), d.log[-2000:]
        assert _notices(d) == []
    finally:
        d.kill()
    # the setting is kept: a restarted daemon reads the cushion the same way
    d2 = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    try:
        assert wait_until(lambda: "applied settings saved from the dashboard" in d2.log, 10)
        assert "mounting" in d2.log
    finally:
        d2.kill()


def test_a_bad_mounting_setting_is_refused_with_a_reason(tmp_path, pty_pair):
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), config=write_config(tmp_path / "s.toml"))
    try:
        r = d.client.post("/api/cushions/cushion-1/mounting", json={"orientation": "sideways"})
        assert r.status_code == 422 and "rotate180" in r.text
    finally:
        d.kill()
