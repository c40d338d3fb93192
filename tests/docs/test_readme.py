"""The README agrees with the code (issue 17.10): the configuration it shows as the defaults
is what `sitwell config show` reports, and every link it (or docs/) makes stays inside the
repository, the interface contract included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from monitor.config.settings import RulesConfig, Settings

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"


def _config_block() -> str:
    text = README.read_text()
    section = text[text.index("## Configuration"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_the_rules_the_readme_calls_defaults_are_the_defaults(tmp_path):
    shown = tomllib.loads(_config_block())
    defaults = RulesConfig()
    for key, value in shown["rules"].items():
        assert getattr(defaults, key) == value, key
    assert Settings.model_fields["dashboard"].default_factory().port == shown["dashboard"]["port"]
    # working hours are not set by default: the README must not show a value as the default
    assert defaults.working_hours is None and "working_hours" not in shown["rules"]
    # and `sitwell config show` says the same, from a file holding exactly the README's block
    cfg = tmp_path / "c.toml"
    cfg.write_text(_config_block())
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("SITWELL_CONFIG", None)
    out = subprocess.run([sys.executable, "-m", "monitor.cli", "config", "show", "--config", str(cfg)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^# working_hours = \(unset\)", out.stdout, re.M), out.stdout
    assert re.search(r"^sit_limit_min = 25(\.0)?\s", out.stdout, re.M)


def test_links_stay_inside_the_repository():
    docs = [README, *sorted((REPO / "docs").glob("*.md"))]
    for doc in docs:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links {target}, which is not in the repository"
        # the contract is named by its copy in docs/, never as a file outside the repository
        assert not re.search(r"`CONTRACT\.md`", text), f"{doc.name} names CONTRACT.md, which is not in the repository"
    assert "[docs/contract.md](docs/contract.md)" in README.read_text()
    contract = (REPO / "docs" / "contract.md").read_text()
    assert "fixed interface" in contract.lower() and "## 1." in contract
