"""`sitwell doctor`: check the set-up and say what to fix.

Each check returns a `Check` (OK, WARN or FAIL, what it saw, and for anything not OK a
one-line fix). Exit status 1 when any check FAILs. The checks only look: they open and
close the serial port, connect to the broker under their own client id (the daemon's
id would kick the running daemon off the broker), and try the database in a scratch
file when the real one does not exist yet.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from monitor.cli.config import overrides_from_flags, workstation_flags
from monitor.cli.preflight import sitwell_answers
from monitor.config.settings import ConfigError, Settings, load_settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"
NET_TIMEOUT_S = 3.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None


# ---- the checks ----------------------------------------------------------------------------


def check_config(config_file: str | None, overrides: dict) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(config_file, overrides)
    except ConfigError as exc:
        return Check(
            "config", FAIL, str(exc),
            "fix the key named above in the config file, the SITWELL_* environment or the flags",
        ), None
    where = settings._toml_file or "no file, defaults"
    return Check("config", OK, f"valid ({where}); input: {settings.input}"), settings


def check_secrets_private(settings: Settings) -> Check | None:
    """A config file holding a password or token should not be readable by other users."""
    path = settings._toml_file
    if path is None or os.name != "posix":
        return None
    from monitor.cli.config import SECRET_KEYS, file_keys

    held = sorted(SECRET_KEYS & file_keys(path))
    if not held:
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return Check(
            "secrets",
            WARN,
            f"{path} holds {', '.join(held)} and is readable by others (mode {mode:o})",
            f"chmod 600 {path}",
        )
    return Check("secrets", OK, f"{path} holds {', '.join(held)} and is private (mode {mode:o})")


def check_serial(settings: Settings) -> Check | None:
    port = settings.serial.port
    if not port:
        return None
    is_url = "://" in port
    if not is_url:
        if not os.path.exists(port):
            return Check(
                "serial",
                FAIL,
                f"{port} does not exist",
                "plug the cushion in and find its port with `ls /dev/ttyACM* /dev/ttyUSB*` (or `dmesg | tail`), "
                "then set serial.port",
            )
        if not os.access(port, os.R_OK | os.W_OK):
            return Check(
                "serial", FAIL, f"{port} exists but this user may not open it",
                "sudo usermod -aG dialout $USER, then log out and back in",
            )
    import serial  # pyserial

    try:
        # Opening may reset an Arduino (DTR); the daemon reconnects, so that is harmless.
        handle = serial.serial_for_url(port, baudrate=settings.serial.baud, timeout=0)
        handle.close()
    except (serial.SerialException, OSError, ValueError) as exc:
        busy = isinstance(exc, OSError) and exc.errno == errno.EBUSY or "busy" in str(exc).lower()
        fix = "close the other program using it (a serial monitor, another sitwell)" if busy else (
            "check serial.port (a device path or a pyserial URL such as socket://host:port)"
        )
        return Check("serial", FAIL, f"cannot open {port}: {exc}", fix)
    return Check("serial", OK, f"{port} opens ({settings.serial.codec} codec, {settings.serial.baud} baud)")


def check_broker(settings: Settings) -> Check | None:
    cfg = settings.mqtt
    if not cfg.host:
        return None
    where = f"{cfg.host}:{cfg.port}"
    try:
        with socket.create_connection((cfg.host, cfg.port), timeout=NET_TIMEOUT_S):
            pass
    except OSError as exc:
        return Check(
            "broker", FAIL, f"cannot reach {where}: {exc.strerror or exc}",
            "start the broker (e.g. `sudo systemctl start mosquitto`) or fix mqtt.host / mqtt.port",
        )
    reason = _mqtt_connack(settings)
    if reason is not None:
        fix = (
            "check mqtt.username / mqtt.password and the broker's ACL"
            if "authori" in reason.lower() or "password" in reason.lower()
            else ("check mqtt.tls, mqtt.ca_file and mqtt.protocol against the broker's listener")
        )
        return Check("broker", FAIL, f"{where} accepts TCP but MQTT connect failed: {reason}", fix)
    return Check("broker", OK, f"{where} answers MQTT {cfg.protocol} (CONNACK accepted)")


def _mqtt_connack(settings: Settings) -> str | None:
    """Connect once with paho and wait for CONNACK; None when accepted, else the reason."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    cfg = settings.mqtt
    protocol = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"sitwell-doctor-{os.getpid()}", protocol=protocol
    )
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls:
        try:
            client.tls_set(
                ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
                certfile=str(cfg.cert_file) if cfg.cert_file else None,
                keyfile=str(cfg.key_file) if cfg.key_file else None,
            )
        except (OSError, ValueError) as exc:
            return f"TLS set-up: {exc}"
    done = threading.Event()
    result: dict[str, str | None] = {"reason": f"no CONNACK within {NET_TIMEOUT_S:g} s"}

    def on_connect(_client, _userdata, _flags, reason_code, _properties=None):
        result["reason"] = None if not reason_code.is_failure else str(reason_code)
        done.set()

    client.on_connect = on_connect
    try:
        assert cfg.host is not None  # check_broker asks only when mqtt.host is set
        client.connect(cfg.host, cfg.port, keepalive=10)
        client.loop_start()
        done.wait(NET_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        return str(exc)
    finally:
        try:
            client.disconnect()
            client.loop_stop()
        except Exception:  # cleaning up a failed probe must not hide its result
            pass
    return result["reason"]


def check_database(settings: Settings) -> Check:
    db = Path(settings.store.db).expanduser()
    if db.exists():
        return _open_wal(db, f"{db} opens in WAL mode")
    directory = db.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(
            "database", FAIL, f"cannot create {db}: {existing} is not writable",
            "set store.db (--db) to a file in a directory you own",
        )
    if not directory.exists():
        return Check("database", OK, f"{db} will be created ({directory} does not exist yet; {existing} is writable)")
    # Prove the directory's filesystem takes SQLite in WAL mode (network filesystems may not).
    fd, scratch = tempfile.mkstemp(prefix=".sitwell-doctor-", suffix=".db", dir=directory)
    os.close(fd)
    try:
        check = _open_wal(
            Path(scratch), f"{directory} is writable and SQLite runs there in WAL mode; {db.name} will be created"
        )
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch + suffix)
    return check


def _open_wal(path: Path, ok_text: str) -> Check:
    try:
        conn = sqlite3.connect(path, timeout=2)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return Check(
            "database",
            FAIL,
            f"{path}: {exc}",
            "move the file aside (it is not a usable SQLite database) or set store.db",
        )
    if str(mode).lower() != "wal":
        return Check(
            "database", FAIL, f"{path}: SQLite refuses WAL mode (got {mode})", "put store.db on a local filesystem"
        )
    return Check("database", OK, ok_text)


def check_dashboard(settings: Settings) -> Check:
    host, port = settings.dashboard.host, settings.dashboard.port
    if host not in LOOPBACK and not settings.dashboard.token:
        return Check(
            "dashboard", FAIL, f"listens on {host} without a token; `sitwell run` refuses that",
            "set dashboard.token (or SITWELL_DASHBOARD__TOKEN), or keep dashboard.host = 127.0.0.1",
        )
    if port == 0:
        return Check("dashboard", OK, "port 0: the daemon picks a free port and prints it")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind((host, port))
        return Check("dashboard", OK, f"{host}:{port} is free")
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            return Check(
                "dashboard", FAIL, f"cannot listen on {host}:{port}: {exc.strerror or exc}", "fix dashboard.host"
            )
    if sitwell_answers(host, port):
        return Check("dashboard", OK, f"{host}:{port} is taken by a running sitwell (see `sitwell status`)")
    return Check(
        "dashboard", FAIL, f"{host}:{port} is in use by another program",
        "pick another port: --port N or dashboard.port (0 picks a free one)",
    )


def check_notify(settings: Settings) -> Check | None:
    if not settings.notify.desktop:
        return None
    import shutil

    if shutil.which("notify-send"):
        return Check("notify", OK, "notify-send found")
    return Check("notify", WARN, "notify.desktop is on but notify-send is missing", "sudo apt install libnotify-bin")


def check_setup(settings: Settings) -> Check | None:
    """A cushion mounted or wired wrong, a full scale that does not fit (cli/doctor_setup.py)."""
    from monitor.cli.doctor_setup import check_setup as setup

    return setup(settings, Check, OK, WARN)


def run_checks(config_file: str | None, overrides: dict) -> list[Check]:
    config, settings = check_config(config_file, overrides)
    checks = [config]
    if settings is None:
        return checks
    steps: list[Callable[[Settings], Check | None]] = [
        check_secrets_private, check_serial, check_broker, check_database, check_dashboard, check_notify,
        check_setup,
    ]
    for step in steps:
        try:
            result = step(settings)
        except Exception as exc:  # a bug in one check must not hide the others
            result = Check(step.__name__.removeprefix("check_"), FAIL, f"check crashed: {exc!r}", "please report this")
        if result is not None:
            checks.append(result)
    return checks


def format_check(check: Check) -> str:
    lines = [f"{check.status:<5} {check.name:<10} {check.detail.splitlines()[0] if check.detail else ''}"]
    for extra in check.detail.splitlines()[1:]:
        lines.append(f"{'':16}{extra}")
    if check.fix and check.status != OK:
        lines.append(f"{'':16}fix: {check.fix}")
    return "\n".join(lines)


@click.command("doctor")
@workstation_flags
def doctor_command(config_file: str | None, serial_port: str | None, mqtt_host: str | None, host: str | None,
                   port: int | None, db: str | None, sets: tuple[str, ...]) -> None:
    """Check the set-up (config, serial port, broker, database, dashboard port) and say what to fix."""
    overrides = overrides_from_flags(serial_port, mqtt_host, host, port, db, sets)
    checks = run_checks(config_file, overrides)
    for check in checks:
        click.echo(format_check(check))
    failed = [c for c in checks if c.status == FAIL]
    click.echo(f"{len(failed)} problem(s) found" if failed else "all checks passed")
    sys.exit(1 if failed else 0)
