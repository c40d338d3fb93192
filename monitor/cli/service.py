"""`sitwell service install|uninstall|status`: run the daemon as a systemd user service.

The unit starts this very installation (the absolute path of the running `sitwell`
script, so a venv install works without activating anything) with `run` and the flags
given here, restarts it on failure, and leaves logging to the journal (stdout/stderr):
`journalctl --user -u sitwell -f`.

systemctl may be missing or unable to reach the user's bus (containers, ssh sessions
without lingering): the unit file is still written and the commands to run are printed;
nothing here crashes over it. macOS (launchd) and Windows (Task Scheduler) equivalents
are in docs/workstation.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

UNIT_NAME = "sitwell.service"
SYSTEMCTL_TIMEOUT_S = 20
# What `systemctl is-enabled` / `is-active` print when they could ask systemd at all.
ENABLED_WORDS = frozenset(
    "enabled enabled-runtime linked linked-runtime alias masked masked-runtime static indirect disabled generated"
    " transient not-found".split()
)
ACTIVE_WORDS = frozenset("active inactive failed activating deactivating reloading refreshing unknown".split())


def unit_dir() -> Path:
    """Where systemd looks for a user's own units ($XDG_CONFIG_HOME/systemd/user)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def unit_path() -> Path:
    return unit_dir() / UNIT_NAME


def sitwell_command() -> list[str]:
    """argv that starts this installation of sitwell, as absolute paths."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "sitwell" and argv0.exists():
        # absolute() not resolve(): keep a stable symlink (~/.local/bin/sitwell from pipx)
        return [str(argv0.absolute())]
    # Run from elsewhere (python -m, tests): the console script next to this interpreter.
    beside = Path(sys.executable).parent / "sitwell"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "monitor.cli"]


def systemd_quote(arg: str) -> str:
    """One ExecStart word: systemd expands % specifiers and $VARS, and splits on spaces."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(run_args: list[str]) -> str:
    exec_start = " ".join(systemd_quote(a) for a in [*sitwell_command(), "run", *run_args])
    return f"""[Unit]
Description=sitwell posture monitor (pressure cushion daemon and dashboard)

[Service]
Type=simple
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
# Logs go to the journal: journalctl --user -u sitwell -f
StandardOutput=journal
StandardError=journal
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
"""


def run_args_from(
    serial: str | None, codec: str | None, rows: int | None, cols: int | None, max_value: int | None,
    baud: int | None, mqtt: str | None, cushion: str | None, host: str | None, port: int | None,
    db: str | None, config: str | None, extra: tuple[str, ...],
) -> list[str]:
    """The `sitwell run` flags for the unit; paths made absolute (a service has no cwd to speak of)."""
    args: list[str] = []

    def add(flag: str, value: object) -> None:
        if value is not None:
            args.extend([flag, str(value)])

    def absolute(p: str | None) -> str | None:
        return None if p is None else str(Path(p).expanduser().absolute())

    add("--serial", serial if serial is None or "://" in serial else absolute(serial))
    add("--codec", codec)
    add("--rows", rows)
    add("--cols", cols)
    add("--max-value", max_value)
    add("--baud", baud)
    add("--mqtt", mqtt)
    add("--cushion", cushion)
    add("--host", host)
    add("--port", port)
    add("--db", absolute(db))
    add("--config", absolute(config))
    args.extend(extra)
    return args


def settings_problem(config: str | None, extra_overrides: dict[str, Any], serial: str | None, mqtt: str | None,
                     host: str | None, port: int | None, db: str | None) -> str | None:
    """Why `sitwell run` with these flags would refuse to start, or None."""
    from monitor.cli.config import overrides_from_flags
    from monitor.config.settings import ConfigError, load_settings

    overrides = {**extra_overrides, **overrides_from_flags(serial, mqtt, host, port, db)}
    try:
        settings = load_settings(config, overrides)
    except ConfigError as exc:
        return str(exc)
    except click.BadParameter as exc:
        return exc.format_message()
    dash = settings.dashboard
    if dash.host not in ("127.0.0.1", "localhost", "::1") and not dash.token:
        return f"config error: dashboard.token is required when the dashboard listens on {dash.host}"
    return None


def systemctl(*args: str) -> tuple[bool, str]:
    """Run `systemctl --user ARGS`; (ok, what it said). Never raises."""
    exe = shutil.which("systemctl")
    if exe is None:
        return False, "systemctl not found (not a systemd system?)"
    try:
        done = subprocess.run(
            [exe, "--user", *args], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"systemctl --user {' '.join(args)}: {exc}"
    said = (done.stdout + done.stderr).strip()
    return done.returncode == 0, said


def _manual_steps(steps: list[str]) -> str:
    return "run these yourself in your desktop session:\n" + "\n".join(f"  {s}" for s in steps)


@click.group("service")
def service_group() -> None:
    """Run sitwell in the background as a systemd user service (starts at log-in)."""


@service_group.command("install")
@click.option("--serial", metavar="PORT", help="As `sitwell run --serial`.")
@click.option("--codec", type=click.Choice(["binary", "text", "detect"]))
@click.option("--rows", type=int)
@click.option("--cols", type=int)
@click.option("--max-value", type=int)
@click.option("--baud", type=int)
@click.option("--mqtt", metavar="HOST[:PORT]", help="As `sitwell run --mqtt` (default port 1883).")
@click.option("--cushion")
@click.option("--host", help="Dashboard address.")
@click.option("--port", type=int, help="Dashboard port.")
@click.option("--db", type=click.Path(dir_okay=False))
@click.option("--config", type=click.Path(dir_okay=False), help="A TOML config file (made absolute).")
@click.option("--dry-run", is_flag=True, help="Print the unit and change nothing.")
@click.option("--no-start", is_flag=True, help="Write and enable the unit, but do not start it now.")
@click.argument("extra", nargs=-1, metavar="[-- MORE RUN FLAGS]")
def install(
    serial, codec, rows, cols, max_value, baud, mqtt, cushion, host, port, db, config, dry_run, no_start, extra
):
    """Write ~/.config/systemd/user/sitwell.service running `sitwell run` with these flags, and start it.

    Secrets (the dashboard token, the MQTT password) belong in the config file or in
    `systemctl --user edit sitwell` (Environment=...), not on the command line.
    """
    args = run_args_from(serial, codec, rows, cols, max_value, baud, mqtt, cushion, host, port, db, config, extra)
    text = unit_text(args)
    path = unit_path()
    problem = settings_problem(config, {
        "serial.codec": codec, "serial.rows": rows, "serial.cols": cols, "serial.max_value": max_value,
        "serial.baud": baud, "cushion": cushion,
    }, serial, mqtt, host, port, db)
    if problem and not dry_run:
        # A unit that cannot start would restart every few seconds, forever: refuse instead.
        click.echo(f"{problem}\nnot installed: fix that first (`sitwell doctor` checks the rest)", err=True)
        sys.exit(2)
    if dry_run:
        click.echo(f"# {path}")
        click.echo(text, nl=False)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        click.echo(f"cannot write {path}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"wrote {path}")
    enable = ["enable", "sitwell"] if no_start else ["enable", "--now", "sitwell"]
    steps = [["daemon-reload"], enable]
    for i, step in enumerate(steps):
        ok, said = systemctl(*step)
        if not ok:
            todo = [f"systemctl --user {' '.join(s)}" for s in steps[i:]]
            click.echo(f"systemctl --user {' '.join(step)} failed: {said or 'no message'}", err=True)
            click.echo(_manual_steps(todo), err=True)
            click.echo("(the unit file is in place; on a server also: loginctl enable-linger $USER)", err=True)
            return
    click.echo("sitwell is enabled" + ("" if no_start else " and running") + "; logs: journalctl --user -u sitwell -f")


@service_group.command("uninstall")
def uninstall() -> None:
    """Stop and disable the service and remove its unit file."""
    path = unit_path()
    ok, said = systemctl("disable", "--now", "sitwell")
    if not ok and path.exists():
        click.echo(f"systemctl --user disable --now sitwell failed: {said or 'no message'}", err=True)
    if path.exists():
        try:
            path.unlink()
        except OSError as exc:
            click.echo(f"cannot remove {path}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"removed {path}")
    else:
        click.echo(f"{path} was not installed")
    ok, said = systemctl("daemon-reload")
    if not ok:
        click.echo(
            _manual_steps(["systemctl --user disable --now sitwell", "systemctl --user daemon-reload"]), err=True
        )


@service_group.command("status")
def service_status() -> None:
    """Whether the unit is installed, enabled and running, and what it runs."""
    path = unit_path()
    if not path.exists():
        click.echo(f"not installed ({path} does not exist); `sitwell service install` writes it")
        sys.exit(1)
    exec_start = next((ln.split("=", 1)[1] for ln in path.read_text().splitlines() if ln.startswith("ExecStart=")), "?")
    click.echo(f"unit:    {path}")
    click.echo(f"runs:    {exec_start}")
    _, enabled = systemctl("is-enabled", "sitwell")
    ok_a, active = systemctl("is-active", "sitwell")
    enabled_word = enabled.splitlines()[-1].strip() if enabled else ""
    active_word = active.splitlines()[-1].strip() if active else ""
    if enabled_word not in ENABLED_WORDS and active_word not in ACTIVE_WORDS:
        click.echo(f"state:   unknown, systemctl could not be asked: {active or enabled or 'no answer'}")
        return
    click.echo(f"enabled: {enabled_word if enabled_word in ENABLED_WORDS else 'unknown: ' + enabled}")
    click.echo(f"active:  {active_word if active_word in ACTIVE_WORDS else 'unknown: ' + active}")
    click.echo("logs:    journalctl --user -u sitwell -f")
    sys.exit(0 if ok_a else 3)  # like systemctl is-active: non-zero when not running
