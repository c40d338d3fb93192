"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API.

Fixtures:
- `browser_page`: function scope; a fresh Chromium with a new user data dir, and a page.
  Console errors and page errors are collected on `page.sitwell_errors`.
- `screenshot(page, name)`: saves test-artifacts/<name>.png (gitignored) for humans.
- `sitwell_run`, `inprocess_daemon`: the real daemon with its dashboard, as a
  `sitwell run` subprocess or in this process (see the section at the end).

`playwright install` is never run: the browser is the system's. If /usr/bin/chromium or
the playwright package is missing the test is skipped with the reason (CI's
SITWELL_REQUIRE_ALL=1 turns that skip into a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SITWELL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _require_browser() -> None:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium); browser tests need the system Chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")


@pytest.fixture
def browser_page(request, tmp_path_factory):
    """A fresh headless Chromium (its own new user data dir) and one page.

    Console errors and uncaught page errors are collected on `page.sitwell_errors`;
    a screenshot is saved to test-artifacts/ when the test fails.
    """
    _require_browser()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        # launch_persistent_context is Playwright's way to give Chromium an explicit
        # --user-data-dir; a new empty one per test keeps cookies and storage apart.
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on(
                "console",
                lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
            )
            page.sitwell_errors = errors  # type: ignore[attr-defined]
            page.set_default_timeout(10_000)
            yield page
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                with contextlib.suppress(Exception):  # the page may be gone; the failure itself matters more
                    screenshot(page, f"FAILED-{request.node.name}")
        finally:
            context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # keep the call-phase report on the item so `browser_page` knows whether to screenshot
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep


# ---- the real daemon, for the dashboard's HTTP and browser tests --------------------------
#
# `sitwell_run(*args)` starts `sitwell run --port 0 --db <tmp> ...` as a subprocess and
# waits for the address it prints; `inprocess_daemon(**app_kwargs)` runs monitor.runtime.daemon's
# Daemon and dashboard.app.create_app in a background thread of this process, for the
# tests that need create_app's options (require_token) or to look at the daemon.

STARTUP_TIMEOUT_S = 30.0


class SitwellProcess:
    """`sitwell run` as a subprocess on a free loopback port with its own database."""

    def __init__(self, workdir: Path, args: list[str]):
        self.workdir = workdir
        self.db = workdir / "sitwell.db"
        script = Path(sys.executable).parent / "sitwell"  # the console script, as a user runs it
        launcher = [str(script)] if script.exists() else [sys.executable, "-m", "monitor.cli"]
        cmd = [*launcher, "run", "--port", "0", "--db", str(self.db), *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SITWELL_CONFIG", None)
        self.log_path = workdir / "sitwell-run.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (the handle outlives this method: closed by stop())
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, env=env, cwd=workdir)
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        found: dict[str, str] = {}

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace")
                m = re.search(r"(http://\S+)", line)
                if m and "url" not in found:
                    found["url"] = m.group(1).rstrip("/")

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if "url" in found:
                return found["url"]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sitwell run did not print its address; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


@pytest.fixture
def sitwell_run(tmp_path):
    """Factory: sitwell_run('--speed', '120', '--scenario', 'demo') -> SitwellProcess."""
    started: list[SitwellProcess] = []

    def start(*args: str) -> SitwellProcess:
        workdir = tmp_path / f"run{len(started)}"
        workdir.mkdir()
        proc = SitwellProcess(workdir, list(args))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


class CountingRuntime:
    """Passes every call to the real daemon; counts live SSE subscriptions on the way."""

    def __init__(self, daemon):
        self._daemon = daemon
        self.subscriptions = 0

    def __getattr__(self, name):
        return getattr(self._daemon, name)

    def subscribe(self, cushion=None):
        queue = self._daemon.subscribe(cushion)
        self.subscriptions += 1
        return queue

    def unsubscribe(self, queue) -> None:
        self._daemon.unsubscribe(queue)
        self.subscriptions -= 1


class InProcessDaemon:
    """The real Daemon and the real app under uvicorn, on an event loop in a thread."""

    def __init__(self, tmp_path: Path, overrides: dict, app_kwargs: dict, frame_input=None,
                 max_cushions: int | None = None):
        from monitor.config.settings import load_settings
        from monitor.runtime.daemon import Daemon

        settings = load_settings(
            None, overrides={"store.db": str(tmp_path / "sitwell.db"), "dashboard.port": 0, **overrides}
        )
        self.daemon = Daemon(settings, frame_input=frame_input)
        if max_cushions is not None:  # the fleet tests' 1,000 cushions (tests/plugins/fleet_input.py)
            self.daemon.slots.limit = max_cushions
        self.runtime = CountingRuntime(self.daemon.runtime)
        self.app_kwargs = app_kwargs
        self.url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="inprocess-daemon", daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S) or self._error:
            raise RuntimeError(f"in-process daemon did not start: {self._error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        import uvicorn

        from dashboard.app import create_app

        self.loop = asyncio.get_running_loop()
        self.app = create_app(self.runtime, **self.app_kwargs)
        # SSE responses never end by themselves: give open streams 1 s at shutdown
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.server = server
        await self.daemon.start()
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await task
        await self.daemon.stop()

    def call(self, fn, *args, timeout: float = 5.0):
        """Run fn(*args) on the daemon's loop (where its state lives) and return the result."""

        async def wrapper():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def stop(self) -> None:
        if hasattr(self, "server"):
            self.call(self.app.state.close_streams)
            self.server.should_exit = True
        self._thread.join(timeout=15)


@pytest.fixture
def inprocess_daemon(tmp_path):
    """Factory: inprocess_daemon(overrides={...}, token=..., require_token=True) -> InProcessDaemon."""
    started: list[InProcessDaemon] = []

    def start(overrides: dict | None = None, **app_kwargs) -> InProcessDaemon:
        d = InProcessDaemon(tmp_path / f"d{len(started)}", {"sim.speed": 60.0, **(overrides or {})}, app_kwargs)
        started.append(d)
        return d

    for sub in range(4):
        (tmp_path / f"d{sub}").mkdir()
    yield start
    for d in started:
        d.stop()


def sse_events(response, deadline: float):
    """Yield (event, data) from an httpx streaming response until `deadline` (monotonic)."""
    import json

    event, data = "message", []
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            return
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    yield event, json.loads(text)
                except ValueError:
                    yield event, text
            event, data = "message", []
        elif line.startswith(":"):
            continue  # keep-alive comment
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def wait_for_event(base_url: str, want, timeout: float = 20.0, params: dict | None = None, headers=None):
    """Open /api/stream and return the first (event, payload) for which want(event, payload)."""
    import httpx

    deadline = time.monotonic() + timeout
    with (httpx.Client(timeout=timeout) as client,
          client.stream("GET", f"{base_url}/api/stream", params=params, headers=headers) as response):
        response.raise_for_status()
        try:
            for name, payload in sse_events(response, deadline):
                if want(name, payload):
                    return name, payload
        except httpx.ReadTimeout:
            pass
    raise AssertionError(f"no matching event on {base_url}/api/stream within {timeout} s")
