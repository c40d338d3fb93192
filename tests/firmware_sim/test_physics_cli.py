"""Switching real-cushion physics on: `sitwell sim` options and a scenario's [physics] table."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from firmware_sim import Simulator, load_scenario
from firmware_sim.cli import sim as sim_command
from firmware_sim.physics import CONDITIONS, PhysicsSpecError, parse_physics
from firmware_sim.scenario import ScenarioError

SITWELL = shutil.which("sitwell", path=str(Path(sys.executable).parent)) or shutil.which("sitwell")


def read(path) -> tuple[dict, list[dict]]:
    with gzip.open(path, "rt") as fh:
        lines = [json.loads(line) for line in fh]
    return lines[0], lines[1:]


def test_physics_real_draws_a_cushion_and_says_so_in_the_header(tmp_path):
    out = tmp_path / "real.jsonl.gz"
    res = CliRunner().invoke(sim_command, ["--physics", "real", "--seed", "14", "--duration", "60", "--out", str(out)])
    assert res.exit_code == 0, res.output
    head, frames = read(out)
    sim = Simulator("session", seed=14, physics="real", duration_s=60)
    assert head["source"]["scenario"] == "session"  # the default scenario with --physics
    assert head["source"]["physics"] == json.loads(json.dumps(sim.physics_info()))
    assert (head["rows"], head["cols"], head["max_value"], head["rate_hz"]) == (
        sim.rows,
        sim.cols,
        sim.max_value,
        sim.rate_hz,
    )
    assert set(head["source"]["physics"]["conditions"]) == set(CONDITIONS)
    assert [f["cells"] for f in frames] == [f.cells.tolist() for f in sim.frames()]
    assert all(max(map(max, f["cells"])) <= head["max_value"] for f in frames)
    assert set(frames[0]["label"]) == {"occupied", "posture", "left_share", "seg", "seg_t"}


def test_conditions_switch_one_by_one_and_mounting_faults_are_options(tmp_path):
    out = tmp_path / "one.jsonl.gz"
    args = [
        "--physics",
        "real,-crosstalk,-hardware,creep=0.19",
        "--mount",
        "rotate180",
        "--invert",
        "--seed",
        "3",
        "--scenario",
        "tour",
        "--duration",
        "20",
        "--rows",
        "12",
        "--cols",
        "20",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(sim_command, args)
    assert res.exit_code == 0, res.output
    head, _ = read(out)
    phys = head["source"]["physics"]
    assert (
        "crosstalk" not in phys["conditions"] and "hardware" not in phys["conditions"] and "creep" in phys["conditions"]
    )
    assert phys["draw"]["creep"] == 0.19 and phys["draw"]["crosstalk"] == 0.0
    assert phys["mount"] == "rotate180" and phys["invert"] is True
    assert (head["rows"], head["cols"], head["max_value"], head["rate_hz"]) == (12, 20, 4095, 10.0)


def test_without_physics_the_header_is_as_before(tmp_path):
    out = tmp_path / "plain.jsonl.gz"
    res = CliRunner().invoke(sim_command, ["--duration", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    head, _ = read(out)
    assert head["source"] == {"simulator": "firmware_sim", "scenario": "tour", "seed": 1}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--physics", "wobble"], "unknown physics condition 'wobble'"),
        (["--physics", "angle_deg=99999"], "angle_deg must be in"),
        (["--physics", "broken=diagonal"], "broken must be row:I"),
        (["--mount", "upside-down"], "upside-down"),
    ],
)
def test_bad_physics_options_are_clear_errors(args, message):
    res = CliRunner().invoke(sim_command, args + ["--duration", "1", "--out", "-"])
    assert res.exit_code == 2
    assert message in res.output


def test_help_lists_the_switches():
    res = CliRunner().invoke(sim_command, ["--help"])
    for word in ("--physics", "--mount", "--invert", "rotate180", "mirror", *CONDITIONS):
        assert word in res.output


def test_a_scenario_physics_table(tmp_path):
    f = tmp_path / "mat.toml"
    f.write_text(
        'name = "mat"\n'
        '[[segments]]\nkind = "away"\nduration_s = 5\n'
        '[[segments]]\nkind = "cat"\nduration_s = 30\nobject_kg = 3.5\n'
        '[physics]\npreset = "real"\noff = ["hardware", "timing"]\nmount = "mirror"\n'
        'angle_deg = 8.0\nbroken = "col:2"\n'
    )
    sim = Simulator(str(f), seed=2)
    info = sim.physics_info()
    assert "hardware" not in info["conditions"] and "placement" in info["conditions"]
    assert info["mount"] == "mirror" and info["draw"]["angle_deg"] == 8.0 and info["draw"]["broken"] == "col:2"
    assert (sim.rows, sim.cols) == (16, 16)
    # the command line adds to the scenario's table
    assert "crosstalk" not in Simulator(str(f), seed=2, physics="-crosstalk").physics_info()["conditions"]
    assert Simulator(str(f), seed=2, physics="off").physics_info()["conditions"] == []
    for bad, msg in (
        ("wobble = 1", "unknown physics parameter"),
        ('preset = "max"', "preset must be"),
        ('on = ["gravity"]', "on must be a list"),
        ('invert = "yes"', "invert must be true"),
    ):
        f.write_text("[[segments]]\nduration_s = 5\n[physics]\n" + bad + "\n")
        with pytest.raises(ScenarioError, match=msg):
            load_scenario(str(f))


def test_spec_tokens_apply_in_order():
    assert parse_physics("real,-cat,off,cat").on == frozenset({"cat"})
    assert parse_physics("crosstalk=0.05").on == frozenset({"crosstalk"})
    with pytest.raises(PhysicsSpecError):
        parse_physics("-nonsense")


@pytest.mark.skipif(SITWELL is None, reason="the sitwell entry point is not installed")
def test_the_monitor_reads_a_real_physics_recording_without_drops(tmp_path):
    out = tmp_path / "r.jsonl.gz"
    exe = str(SITWELL)
    subprocess.run(
        [exe, "sim", "--physics", "real", "--seed", "9", "--duration", "90", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    res = subprocess.run([exe, "analyze", str(out)], capture_output=True, timeout=120, text=True)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    _, frames = read(out)
    assert summary["type"] == "summary" and summary["frames"] == len(frames) and summary["dropped"] == {}
