"""`sitwell run`: the daemon and the dashboard in one process, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from monitor.config.settings import Settings
from monitor.runtime import log_repeats
from monitor.runtime.connections import raise_open_file_limit, uvicorn_limits
from monitor.runtime.daemon import Daemon

log = logging.getLogger(__name__)


TICK_S = 1.0  # how often the web server looks at its clock (uvicorn: every 0.1 s)


def quiet_server(config):  # noqa: ANN001, ANN201 - uvicorn is imported lazily (it is slow to import)
    """A uvicorn Server whose main loop wakes once a second, not ten times: its tick only
    refreshes the Date header (once a second anyway) and looks at `should_exit`, and an idle
    daemon's event loop woke ten times a second for it. Setting `should_exit` wakes it at once."""
    import uvicorn

    class QuietServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            self._exit_now = asyncio.Event()
            self._should_exit = False
            super().__init__(config)

        @property
        def should_exit(self) -> bool:
            return self._should_exit

        @should_exit.setter
        def should_exit(self, value: bool) -> None:
            self._should_exit = value
            if value:
                self._exit_now.set()

        async def main_loop(self) -> None:
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._exit_now.wait(), TICK_S)
                counter = (counter + 10) % 864000  # on_tick's count of 0.1 s ticks
                should_exit = await self.on_tick(counter)

    return QuietServer(config)


async def serve(settings: Settings, announce: Callable[[str], object] | None = None,
                reload_settings: Callable[[], Settings] | None = None) -> None:
    """Run the daemon and the dashboard until SIGINT/SIGTERM; SIGHUP reloads the config.

    `reload_settings()` returns freshly loaded Settings (or raises ConfigError)."""
    import uvicorn

    from dashboard.app import create_app

    log_repeats.install()  # no input may flood the log
    raise_open_file_limit()
    daemon = Daemon(settings)
    d = settings.dashboard
    loopback = d.host in ("127.0.0.1", "localhost", "::1")
    app = create_app(daemon.runtime, token=d.token, require_token=not loopback)
    config = uvicorn.Config(app, host=d.host, port=d.port, log_level="warning", lifespan="on", access_log=False,
                            **uvicorn_limits())
    server = quiet_server(config)
    # uvicorn before 0.29 installed its own SIGINT/SIGTERM handlers through this method (off: ours
    # run); later ones catch the signal during serve() and raise it again for ours on the way out.
    server.install_signal_handlers = lambda: None
    await daemon.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def on_hup() -> None:
        if reload_settings is None:
            return
        try:
            daemon.reload(reload_settings())
        except Exception as exc:  # a bad edit keeps the running config
            log.error("SIGHUP: configuration not reloaded, keeping the running one:\n%s", exc)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    serve_task = asyncio.create_task(server.serve())
    while not server.started and not serve_task.done():
        await asyncio.sleep(0.05)
    if serve_task.done():
        await daemon.stop()
        with contextlib.suppress(SystemExit, OSError):  # uvicorn has logged the reason (e.g. address in use)
            serve_task.result()
        raise RuntimeError(
            f"the dashboard could not listen on {d.host}:{d.port}: is another sitwell running there? "
            "Choose another --port"
        )
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else d.port
    url = f"http://{'127.0.0.1' if d.host in ('0.0.0.0', '') else d.host}:{port}/"
    if announce:
        announce(url)
    await stop.wait()
    log.info("shutting down")
    app.state.close_streams()  # open SSE streams would otherwise hold the server up
    server.should_exit = True
    await daemon.stop()
    try:
        await asyncio.wait_for(serve_task, timeout=2.0)
    except TimeoutError:
        serve_task.cancel()
