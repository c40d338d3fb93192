"""One config model: TOML file < SITWELL_* environment < flags, with errors a user understands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.config.settings import ConfigError, load_settings


def test_defaults_follow_the_contract(monkeypatch):
    s = load_settings()
    assert s.input == "sim" and s.cushion == "cushion-1"
    assert (s.dashboard.host, s.dashboard.port) == ("127.0.0.1", 8000)
    r = s.rules
    assert (r.sit_limit_min, r.repeat_every_min, r.min_break_s) == (25, 5, 60)
    assert (r.uneven_threshold, r.uneven_after_s, r.crossed_after_s, r.slouch_after_s, r.cooldown_min) == (
        0.10,
        120,
        120,
        180,
        10,
    )
    assert (r.occupied_after_s, r.empty_after_s) == (3, 3)
    assert s.serial.baud == 115200 and s.serial.codec == "detect"


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('cushion = "desk-1"\n[rules]\nsit_limit_min = 30\nmin_break_s = 90\n[serial]\nport = "/dev/ttyS9"\n')
    monkeypatch.setenv("SITWELL_RULES__MIN_BREAK_S", "120")
    s = load_settings(cfg, {"rules.sit_limit_min": 20})
    assert s.cushion == "desk-1"
    assert s.rules.min_break_s == 120  # environment beats file
    assert s.rules.sit_limit_min == 20  # flag beats both
    assert s.input == "serial"  # a configured port picks the serial input


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("[rules]\nsit_limit_min = 3\n", "rules.sit_limit_min = 3: Input should be greater than or equal to 5"),
        ("[rules]\nbogus = 1\n", "rules.bogus = 1: unknown key"),
        ("[dashbord]\nport = 1\n", "dashbord: unknown key"),
        ('[rules]\nworking_hours = "9-5"\n', "is not a time range like '09:00-17:30'"),
        ('cushion = "desk 1"\n', "cushion = 'desk 1'"),
        ('input = "serial"\n', "serial.port is not set"),
        ("rules = [\n", "c.toml"),
        ("[mqtt]\ncushion_expiry_s = 1\n", "mqtt.cushion_expiry_s = 1: Input should be greater than or equal to 10"),
        ('[mqtt]\npartition = "half"\n', 'mqtt.partition must be "i/n" (e.g. "1/2"'),
        ('[mqtt]\npartition = "3/2"\n', "need 1 <= i <= n <= 1024"),
        ('[mqtt]\npartition = "0/2"\n', "need 1 <= i <= n <= 1024"),
        ("[analysis]\nqueue_per_cushion = 1\n", "analysis.queue_per_cushion = 1"),
    ],
)
def test_a_bad_value_names_the_key_the_value_and_what_is_allowed(tmp_path, toml, expected):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert expected in str(exc.value)


def test_a_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_run_refuses_a_bad_flag_with_one_line_and_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "run", "--port", "99999"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines()[0]
        == "config error: dashboard.port = 99999: Input should be less than or equal to 65535"
    )
    assert "Traceback" not in proc.stderr


def test_run_beyond_loopback_needs_a_token():
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "run", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "dashboard.token is required" in proc.stderr


def test_a_partition_is_read_as_index_of_parts(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mqtt]\npartition = " 2/3 "\n')
    assert load_settings(cfg).mqtt.partition_parts() == (2, 3)
    cfg.write_text("[mqtt]\n")
    assert load_settings(cfg).mqtt.partition_parts() is None


def test_durations_in_the_config_read_as_people_write_them(tmp_path, monkeypatch):
    """The one duration reader (monitor/config/parse.py) behind every *_min and *_s setting."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[rules]\nsit_limit_min = "half an hour"\nmin_break_s = "2 min"\nrepeat_every_min = "90s"\n'
                   'slouch_after_s = 240\n')
    monkeypatch.setenv("SITWELL_RULES__COOLDOWN_MIN", "1h")
    s = load_settings(cfg)
    assert (s.rules.sit_limit_min, s.rules.min_break_s, s.rules.repeat_every_min) == (30, 120, 1.5)
    assert s.rules.slouch_after_s == 240 and s.rules.cooldown_min == 60
    cfg.write_text('[rules]\nsit_limit_min = "soon"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    message = str(exc.value)
    assert "rules.sit_limit_min = 'soon'" in message and "needs a number" in message and "1h30" in message
    assert "Value error" not in message
    cfg.write_text('[rules]\nsit_limit_min = "3h"\n')
    with pytest.raises(ConfigError, match="less than or equal to 120"):
        load_settings(cfg)
