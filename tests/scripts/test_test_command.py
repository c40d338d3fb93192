"""The README's two commands, in order, from a copy of the repository (issue 17.2): a
`sitwell run` installed into .venv keeps serving its dashboard while `./scripts/test` runs,
because the test command keeps to an environment of its own (.venv-test).

To stay within a test's time, the two environments get sitwell's dependencies from the one
running this test (a .pth file) instead of downloading them again; sitwell itself is really
installed into .venv (`pip install --no-deps .`, the README's install minus the dependencies).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPS = sysconfig.get_paths()["purelib"]


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _venv(path: Path, *extra_paths: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(path / "bin" / "python"), "-c", where],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz-deps.pth").write_text("\n".join([*extra_paths, DEPS]) + "\n")
    return site


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_scripts_test_leaves_a_running_sitwell_alone(tmp_path):
    repo = tmp_path / "sitwell"
    repo.mkdir()
    _copy_repo(repo)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
           "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share")}
    env.pop("SITWELL_TEST_VENV", None)
    env.pop("VIRTUAL_ENV", None)
    # what is under test is where the test command installs and runs, not the linters (the
    # pre-built .venv-test below has no ruff or mypy); the real run lints in CI
    env["SITWELL_NO_LINT"] = "1"
    # 1. install and start sitwell from .venv, as the README's first command does
    site = _venv(repo / ".venv")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(repo / ".venv" / "bin" / "python"), "install", "-q",
                    "--no-deps", "."], cwd=repo, env=env, check=True, timeout=300)
    assert (site / "dashboard" / "static" / "index.html").is_file()
    installed = _tree_digest(site)
    sitwell = str(repo / ".venv" / "bin" / "sitwell")
    run = subprocess.Popen([sitwell, "run", "--port", "0", "--db", str(tmp_path / "s.db")],
                           cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = run.stdout.readline()
            if line.startswith("sitwell dashboard: "):
                url = line.split(": ", 1)[1].strip()
            elif not line and run.poll() is not None:
                break
        assert url, "sitwell run did not start"
        threading.Thread(target=lambda: run.stdout.read(), daemon=True).start()  # keep its pipe drained
        assert httpx.get(url, timeout=10).status_code == 200
        # 2. the test command, with its environment already made (sitwell from the source tree,
        #    as its editable install would) and stamped as up to date with pyproject.toml
        test_site = _venv(repo / ".venv-test", str(repo))
        (repo / ".venv-test" / ".sitwell-installed").write_text(
            hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest() + "\n")
        proc = subprocess.run(["./scripts/test", "tests/config/test_parse.py", "-q", "-p", "no:cacheprovider"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert " passed" in proc.stdout
        assert test_site.is_dir()
        # 3. the first command's sitwell is untouched and still serves its page
        assert _tree_digest(site) == installed
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "sitwell" in page.text
        assert run.poll() is None
    finally:
        run.terminate()
        run.wait(15)


def test_scripts_test_uses_its_own_environment_and_no_recommends():
    script = (REPO / "scripts" / "test").read_text()
    assert "--no-install-recommends" in script
    assert ".venv-test" in script and ".venv-test/" in (REPO / ".gitignore").read_text().splitlines()
    commands = [line for line in script.splitlines() if "pip install" in line]
    assert commands and all(".venv/" not in line for line in commands)
