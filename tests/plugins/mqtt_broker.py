"""A real Mosquitto broker for tests, on a free loopback port.

Fixtures:
- `mosquitto`: function scope; a fresh broker per test (use it for restart tests).
- `mosquitto_session`: session scope; one broker shared by tests that only need
  a broker (faster). Do not stop/restart it.

- `mosquitto_factory`: function scope; `mosquitto_factory(users=..., tls=..., require_certificate=...)`
  starts brokers with passwords and/or TLS (a throw-away CA made with openssl).

Each yields a `MosquittoBroker` with `.host`, `.port`, `.stop()`, `.start()`,
`.restart()`, `.kill()`. The broker keeps persistence (sessions, queued QoS 1
messages, retained messages) in a temp dir; stop/start reuses the same port and dir,
so persistent sessions survive a restart, like a real broker's restart.

The machine's shared broker on 127.0.0.1:1883 is never touched.
If the binary is missing the test is skipped (CI turns skips into failures).
"""

from __future__ import annotations

import getpass
import logging
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MosquittoBroker:
    """One mosquitto process, restartable on the same port with the same persistence dir."""

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: bool = False,
        require_certificate: bool = False,
        conf: tuple[str, ...] = (),
    ) -> None:
        """`users`: name -> password, and anonymous clients are refused. `tls`: the listener
        speaks TLS with a fresh test CA (`ca_file`; `client_cert`/`client_key` are signed by
        it too); `require_certificate`: clients must present such a certificate; `conf`: more
        mosquitto.conf lines (e.g. "max_queued_messages 50")."""
        self.workdir = workdir
        self.port = port or _free_port()
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = workdir / "mosquitto.log"
        self.conf_file = workdir / "mosquitto.conf"
        self.ca_file = self.client_cert = self.client_key = None
        extra: list[str] = []
        if users:
            passwd = workdir / "passwd"
            for i, (name, password) in enumerate(users.items()):
                flags = ["-c"] if i == 0 else []
                subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwd), name, password], check=True,
                               capture_output=True)
            extra += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            extra += ["allow_anonymous true"]
        if tls:
            self.ca_file, server_cert, server_key, self.client_cert, self.client_key = _make_test_pki(workdir)
            extra += [f"cafile {self.ca_file}", f"certfile {server_cert}", f"keyfile {server_key}"]
            if require_certificate:
                extra += ["require_certificate true"]
        self.conf_file.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *extra,
                    # started as root, mosquitto drops to user "mosquitto", which cannot
                    # write our temp dir; stay the user we are
                    f"user {getpass.getuser()}",
                    "persistence true",
                    f"persistence_location {self.data_dir}/",
                    # the file is written on a clean shutdown (SIGTERM); autosave on every
                    # change as well so even kill() loses little
                    "autosave_interval 1",
                    "autosave_on_changes true",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "log_type information",
                    "connection_messages true",
                    "max_queued_messages 10000",
                    *conf,  # last: mosquitto takes the last value of a setting
                    "",
                ]
            )
        )
        self.proc: subprocess.Popen | None = None
        self._log_handle = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self._log_handle = open(self.log_file, "ab")  # noqa: SIM115 (the handle outlives this method: closed by stop())
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_file)],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"mosquitto did not accept connections on port {self.port}:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        """Clean shutdown (SIGTERM): the broker writes its persistence file."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def kill(self) -> None:
        """Hard kill (SIGKILL), like a crash; persistence as of the last autosave."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        if down_s:
            time.sleep(down_s)
        self.start()

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        return f"MosquittoBroker({self.host}:{self.port}, running={self.running})"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_test_pki(workdir: Path) -> tuple[Path, Path, Path, Path, Path]:
    """A throw-away CA with a server certificate for 127.0.0.1 and a client certificate.

    EC keys: generated in milliseconds, unlike RSA."""
    d = workdir / "pki"
    d.mkdir(exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=sitwell test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subj in (("server", "/CN=127.0.0.1"), ("client", "/CN=sitwell-client")):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        ext = ["-extfile", "server.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
    return d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key"


def _require_binary() -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip(f"mosquitto binary not found ({MOSQUITTO}); apt-get install mosquitto")


@pytest.fixture
def mosquitto(tmp_path_factory):
    """A fresh broker for one test; restartable (same port, same persistence)."""
    _require_binary()
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@pytest.fixture
def mosquitto_factory(tmp_path_factory):
    """Start brokers with options: `mosquitto_factory(users={...}, tls=True, require_certificate=True)`."""
    _require_binary()
    brokers: list[MosquittoBroker] = []

    def make(**options) -> MosquittoBroker:
        broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"), **options)
        brokers.append(broker)
        broker.start()
        return broker

    try:
        yield make
    finally:
        for broker in brokers:
            broker.kill()


@pytest.fixture(scope="session")
def mosquitto_session(tmp_path_factory):
    """One broker shared by the whole session; tests must not stop it."""
    _require_binary()
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto-session"))
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
