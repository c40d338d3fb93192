""""That's not what I'm doing" through the real daemon and its HTTP API, a cushion on a real
pty: the correction is stored, counted, tunes that sitter's thresholds at once (the live
posture follows), survives a restart, and undo takes it back."""

from __future__ import annotations

import numpy as np
import pytest

from tests.plugins.faults import PACE, Cushion, SitwellProcess, wait_until, write_config

pytestmark = pytest.mark.serial


def posture_banks(posture: str) -> tuple[np.ndarray, np.ndarray]:
    from firmware_sim.scenario import parse_scenario
    from firmware_sim.simulator import Simulator

    scenario = parse_scenario(
        {"person": {"weight_kg": 70, "offset_cm": [0.0, 0.0]},
         "segments": [{"kind": "away", "duration_s": 12}, {"posture": posture, "duration_s": 20}]}, "corr")
    frames = list(Simulator(scenario, rows=16, cols=16, rate_hz=10, seed=4).frames())
    return np.stack([f.cells for f in frames[10:110]]), np.stack([f.cells for f in frames[170:300]])


def _posture(d: SitwellProcess) -> str | None:
    return (d.status() or {}).get("posture")


def test_a_correction_is_stored_counted_tunes_and_can_be_undone(tmp_path, pty_pair):
    cfg = write_config(tmp_path / "sitwell.toml")
    args = ("--serial", str(pty_pair.path), "--codec", "binary")
    d = SitwellProcess(tmp_path, *args, config=cfg)
    cushion = Cushion(pty_pair, rate_hz=10)
    cushion.empty, cushion.seated = posture_banks("lean_left")
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion.hello()
        cushion.away(6, pace=PACE)
        cushion.sit(20, pace=PACE)
        assert wait_until(lambda: _posture(d) == "lean_left", 15), d.status()
        # nobody says "already so"
        r = d.client.post("/api/cushions/cushion-1/corrections", json={"posture": "lean_left"})
        assert r.status_code == 409 and "already" in r.json()["message"]
        r = d.client.post("/api/cushions/cushion-1/corrections", json={"posture": "upright"})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["count"] == 1 and out["by_posture"] == {"lean_left->upright": 1}
        assert out["profile"]["source"] == "corrections"
        corr_id = out["correction"]["id"]
        cushion.sit(10, pace=PACE)
        assert wait_until(lambda: _posture(d) == "upright", 15), d.status()
        listed = d.get("/api/cushions/cushion-1/corrections")
        assert listed["count"] == 1 and listed["corrections"][0]["id"] == corr_id
    finally:
        d.kill()
    # a restart: still counted, still tuning
    d = SitwellProcess(tmp_path, *args, config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion.hello()
        cushion.sit(15, pace=PACE)
        assert wait_until(lambda: _posture(d) == "upright", 15), d.status()
        assert d.get("/api/cushions/cushion-1/corrections")["count"] == 1
        r = d.client.post(f"/api/corrections/{corr_id}/undo")
        assert r.status_code == 200 and r.json()["count"] == 0 and r.json()["undone"] == 1
        cushion.sit(10, pace=PACE)
        assert wait_until(lambda: _posture(d) == "lean_left", 15), d.status()
        assert d.client.post(f"/api/corrections/{'0' * 32}/undo").status_code == 404
        assert d.client.post("/api/cushions/cushion-1/corrections", json={"posture": "sideways"}).status_code == 422
    finally:
        d.kill()
