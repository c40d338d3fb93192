"""Config values a person (or an attacker) can get wrong: each refused at start in one short line.

Issue 19 item 7: these were accepted (silently no reminders), crashed with a traceback, or said
"None: error parsing value". They are fixed as classes: every bounded list element, every
section variable, every nesting depth, every token, every cushion id.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.config.settings import ConfigError, load_settings
from monitor.model import valid_cushion_id


def run_cli(*args: str, env: dict[str, str] | None = None, home=None) -> subprocess.CompletedProcess[str]:
    import os

    e = {k: v for k, v in os.environ.items() if not k.startswith("SITWELL_")}
    if home is not None:
        e.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    e.update(env or {})
    cmd = [sys.executable, "-m", "monitor.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)


@pytest.mark.parametrize("days", ["[9, -3, 1000]", "[]", "[0, 1, 2, 3, 4, 5, 6, 0]"])
def test_working_days_out_of_range_or_empty_are_refused(tmp_path, days):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[rules]\nworking_days = {days}\n")
    with pytest.raises(ConfigError, match="rules.working_days"):
        load_settings(cfg)


def test_working_days_from_the_environment_are_checked_too(home, monkeypatch):
    monkeypatch.setenv("SITWELL_RULES__WORKING_DAYS", "[9]")
    with pytest.raises(ConfigError, match=r"rules\.working_days\.0 = 9: Input should be less than or equal to 6"):
        load_settings()


def test_an_unknown_scenario_is_one_line_not_a_traceback(home):
    proc = run_cli("run", "--scenario", "nope", "--port", "0", home=home)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("config error: sim.scenario = 'nope': unknown scenario 'nope'; built-in: ")
    assert "workday" in first


def test_a_deeply_nested_file_is_refused_without_recursion_error(home, tmp_path):
    cfg = tmp_path / "deep.toml"
    cfg.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    proc = run_cli("config", "show", "--config", str(cfg), home=home)
    assert proc.returncode != 0
    assert "RecursionError" not in proc.stderr and "Traceback" not in proc.stderr
    assert "nested too deeply" in proc.stderr


def test_a_section_variable_that_is_not_json_names_the_variable(home):
    proc = run_cli("config", "show", env={"SITWELL_RULES": "notjson"}, home=home)
    assert proc.returncode != 0
    assert "None:" not in proc.stderr
    assert "environment SITWELL_RULES is not valid JSON" in proc.stderr
    assert "SITWELL_RULES__KEY=value" in proc.stderr


@pytest.mark.parametrize("token", [" ", "", "  secret", "secret\n"])
def test_a_blank_or_padded_token_is_refused(home, token):
    proc = run_cli("run", "--host", "0.0.0.0", "--port", "0", "--token", token, home=home)
    assert proc.returncode == 2
    assert "dashboard.token" in proc.stderr and "non-blank" in proc.stderr


def test_a_huge_bad_value_is_shown_shortened_on_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[rules]\nquiet_hours = " + repr(["x" * 5000]).replace("'", '"') + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert all(len(line) < 240 for line in str(err.value).splitlines())


@pytest.mark.parametrize("name", ["desk-1\n", "desk-1\r\n", "", "a" * 65, "desk 1", "désk"])
def test_cushion_ids_are_matched_whole(name):
    assert not valid_cushion_id(name)


def test_a_cushion_id_with_a_trailing_newline_is_refused_in_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('cushion = "desk-1\\n"\n')
    with pytest.raises(ConfigError, match="cushion"):
        load_settings(cfg)
