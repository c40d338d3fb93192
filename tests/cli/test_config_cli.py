"""`sitwell config init|show`: the generated default file and the per-key sources."""

from __future__ import annotations

import re
import tomllib

import pytest
from click.testing import CliRunner

from monitor.cli.config import default_config_toml, toml_value
from monitor.cli.main import main
from monitor.config.settings import Settings, default_config_path, load_settings


def _sources(output: str) -> dict[str, tuple[str, str]]:
    """'[section]' + 'key = value   # source' lines -> {dotted key: (value text, source)}."""
    found, section = {}, ""
    for line in output.splitlines():
        if m := re.match(r"^\[(\w+)\]$", line):
            section = m.group(1) + "."
        elif m := re.match(r"^(?:# )?(\w+) = (.*?)\s+# (.+)$", line):
            found[section + m.group(1)] = (m.group(2), m.group(3))
    return found


def test_init_writes_a_file_that_loads_back_as_the_defaults(home):
    result = CliRunner().invoke(main, ["config", "init"])
    assert result.exit_code == 0, result.output
    path = default_config_path()
    assert path.is_file() and str(path).startswith(str(home / "config"))
    tomllib.loads(path.read_text())  # valid TOML
    from_file = load_settings(path)
    assert from_file._toml_file == path
    assert from_file.model_dump() == load_settings(None).model_dump() == Settings().model_dump()


def test_init_covers_every_key_of_the_model(home):
    text = default_config_toml()
    sections = re.split(r"^\[(\w+)\]$", text, flags=re.M)
    top, by_section = sections[0], dict(zip(sections[1::2], sections[2::2], strict=True))
    for name, field in Settings.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and hasattr(model, "model_fields"):
            assert name in by_section, f"section [{name}] missing"
            for key, sub in model.model_fields.items():
                assert re.search(rf"^(# )?{key} = ", by_section[name], re.M), f"{name}.{key} missing"
                if sub.description:
                    assert sub.description in by_section[name]
        else:
            assert re.search(rf"^(# )?{name} = ", top, re.M), f"{name} missing"
    assert "# 5 to 120\nsit_limit_min = 25.0" in text  # range from the model's constraints
    assert "binary | text | detect" in text  # allowed values from the Literal


def test_init_refuses_to_overwrite_without_force(home):
    target = home / "elsewhere" / "sitwell.toml"
    assert CliRunner().invoke(main, ["config", "init", "--path", str(target)]).exit_code == 0
    target.write_text('cushion = "mine"\n')
    again = CliRunner().invoke(main, ["config", "init", "--path", str(target)])
    assert again.exit_code == 1 and "--force" in again.output
    assert target.read_text() == 'cushion = "mine"\n'
    forced = CliRunner().invoke(main, ["config", "init", "--path", str(target), "--force"])
    assert forced.exit_code == 0
    assert load_settings(target).cushion == "cushion-1"


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "tab\there", "Zoë 🪑", "", "line\nbreak"])
def test_toml_values_round_trip(value):
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value
    assert tomllib.loads(f"v = {toml_value([value, 1, 2.5, True])}")["v"] == [value, 1, 2.5, True]


def test_show_names_file_env_flag_and_default_sources(home, monkeypatch):
    cfg = home / "c.toml"
    cfg.write_text(
        'cushion = "desk-7"\n'
        "[rules]\nsit_limit_min = 40\n"
        "[dashboard]\nport = 8001\n"
        '[mqtt]\npassword = "hunter2-secret"\n'
    )
    monkeypatch.setenv("SITWELL_DASHBOARD__PORT", "8002")  # env beats the file
    monkeypatch.setenv("SITWELL_RULES__COOLDOWN_MIN", "15")
    result = CliRunner().invoke(
        main, ["config", "show", "--config", str(cfg), "--host", "localhost", "--set", "rules.repeat_every_min=7"]
    )
    assert result.exit_code == 0, result.output
    src = _sources(result.output)
    assert src["cushion"] == ('"desk-7"', "file")
    assert src["rules.sit_limit_min"] == ("40.0", "file")
    assert src["dashboard.port"] == ("8002", "env SITWELL_DASHBOARD__PORT")
    assert src["rules.cooldown_min"] == ("15.0", "env SITWELL_RULES__COOLDOWN_MIN")
    assert src["dashboard.host"] == ('"localhost"', "flag")
    assert src["rules.repeat_every_min"] == ("7.0", "flag")
    assert src["rules.min_break_s"] == ("60.0", "default")
    assert src["input"][1].startswith("derived")
    assert f"# config file: {cfg}" in result.output
    # secrets are masked, wherever they came from
    assert src["mqtt.password"] == ('"********"', "file")
    assert "hunter2" not in result.output


def test_show_flag_beats_env_and_masks_a_token(home, monkeypatch):
    monkeypatch.setenv("SITWELL_DASHBOARD__PORT", "8002")
    monkeypatch.setenv("SITWELL_DASHBOARD__TOKEN", "tok-secret-123")
    result = CliRunner().invoke(main, ["config", "show", "--port", "9001"])
    assert result.exit_code == 0, result.output
    src = _sources(result.output)
    assert src["dashboard.port"] == ("9001", "flag")
    assert src["dashboard.token"] == ('"********"', "env SITWELL_DASHBOARD__TOKEN")
    assert "tok-secret-123" not in result.output
    assert "config file: none" in result.output


def test_show_whole_section_from_json_env(home, monkeypatch):
    monkeypatch.setenv("SITWELL_RULES", '{"sit_limit_min": 33}')
    src = _sources(CliRunner().invoke(main, ["config", "show"]).output)
    assert src["rules.sit_limit_min"] == ("33.0", "env SITWELL_RULES")
    assert src["rules.cooldown_min"][1] == "default"


def test_show_reports_a_bad_value_and_exits_2(home):
    cfg = home / "bad.toml"
    cfg.write_text("[rules]\nsit_limit_min = 500\n")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "rules.sit_limit_min" in result.output and "500" in result.output


def test_show_output_is_toml_when_nothing_is_masked(home):
    """What `config show` prints can be saved as a config file (unset keys are comments)."""
    out = CliRunner().invoke(main, ["config", "show", "--db", str(home / "s.db")]).output
    saved = home / "saved.toml"
    saved.write_text(out)
    assert load_settings(saved).model_dump() == load_settings(None, {"store.db": str(home / "s.db")}).model_dump()


def test_init_writes_a_private_file(home):
    """The file is where the MQTT password and the dashboard token go."""
    assert CliRunner().invoke(main, ["config", "init"]).exit_code == 0
    assert default_config_path().stat().st_mode & 0o777 == 0o600
