"""`sitwell setup`: the guided set-up in the terminal (analysis/setup_steps.py does the work).

Reads the cushion from wherever `sitwell run` would (a serial port or pty, an MQTT broker,
the simulator with its `setup` scenario) or from a recording, runs its frames through the
daemon's engine with the cushion's current mounting, and walks the sitter through the steps
with a live line ("I see: leaning left", a progress bar) and a clear "got it". The result (the
sitter's profile, a mirrored cushion) is stored per cushion in the database; the daemon takes
it when it next starts (the dashboard's set-up page applies it at once). Redo it any time.
"""

from __future__ import annotations

import logging
import queue
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.analysis.setup_steps import STEPS, SetupSession, SetupStatus
from monitor.cli.options import cushion_input_options
from monitor.config.settings import Settings

if TYPE_CHECKING:
    from monitor.calibration.mounting import Mounting

log = logging.getLogger(__name__)
LIVE_EVERY_S = 1.0
BATCH = 16


def _bar(progress: float, width: int = 20) -> str:
    n = round(progress * width)
    return "[" + "#" * n + "-" * (width - n) + "]"


class Printer:
    """Step headers, a live line at most every LIVE_EVERY_S (rewritten in place on a terminal),
    and "got it"."""

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._step: int | None = None
        self._phase: str | None = None
        self._live_at = 0.0

    def _line(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\033[K")
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, st: SetupStatus) -> None:
        if st.step != self._step and st.phase != "done":
            self._step, self._phase = st.step, None
            self._line(f"Step {st.step + 1}/{len(STEPS)}: {st.instruction}")
        if st.phase != self._phase:
            self._phase = st.phase
            if st.phase == "got_it":
                self._line("  got it ✓")
            elif st.phase == "waiting" and st.name == "empty":
                self._line("  waiting for the seat to be empty…")
            elif st.phase == "waiting":
                self._line("  waiting for you…")
            elif st.phase == "recording":
                self._line("  hold it…")
        now = time.monotonic()
        if st.phase in ("settling", "recording", "waiting") and now - self._live_at >= LIVE_EVERY_S:
            self._live_at = now
            text = f"  {_bar(st.progress)} {round(100 * st.progress):3d} %   I see: {st.seeing}"
            if self.tty:
                self.out.write("\r\033[K" + text)
                self.out.flush()
            else:
                self._line(text)


def _saved_mounting(settings: Settings, store: Any, cushion: str) -> Mounting:
    """The cushion's mounting: config file, then what the dashboard saved (as the daemon does)."""
    from monitor.calibration.mounting import Mounting

    entry = settings.mounting.for_cushion(cushion)
    saved = ((store.load_settings() or {}).get("mounting") or {}).get("cushions", {}).get(cushion) or {}
    return Mounting(saved.get("orientation", entry.orientation), bool(saved.get("mirror", entry.mirror)),
                    bool(saved.get("invert", entry.invert)))


def run_session(frames: Any, settings: Settings, store: Any, cushion: str | None, printer: Printer | None,
                step_s: float, timeout_s: float) -> tuple[SetupSession, Any, str] | None:
    """Feed frames (an iterator of Frame, or a queue.Queue) through an engine and the session."""
    from monitor.runtime.engine import CushionEngine

    session = SetupSession(step_s=step_s)
    engine = None
    name = cushion
    deadline = time.monotonic() + timeout_s
    pending: list[Any] = []

    def next_frame() -> Any:
        if isinstance(frames, queue.Queue):
            try:
                return frames.get(timeout=0.2)
            except queue.Empty:
                return None
        return next(frames, StopIteration)

    while not session.done and time.monotonic() < deadline:
        f = next_frame()
        if f is StopIteration:
            break
        if f is None:
            continue
        if name is None:
            name = f.cushion
        if f.cushion != name:
            continue
        if engine is None:
            from monitor.model import DeviceInfo

            device = DeviceInfo(device=name, rows=f.shape[0], cols=f.shape[1], max_value=f.max_value)
            engine = CushionEngine(name, device, settings.rules, settings.analysis, datetime.now(UTC),
                                   mounting=_saved_mounting(settings, store, name))
        if f.shape != (engine.device.rows, engine.device.cols):
            continue
        pending.append(f)
        if len(pending) < BATCH and isinstance(frames, queue.Queue) and not frames.empty():
            continue
        for step in engine.process_batch(pending):
            st = session.feed(step.frame.t, step.reading)
            if printer is not None:
                printer.show(st)
        pending = []
    if engine is None or name is None:
        return None
    return session, engine, name


def save_result(store: Any, name: str, session: SetupSession, engine: Any, settings: Settings) -> Any:
    result = session.result(settings.analysis.sensitivity)
    store.save_profile(name, {**result.profile.as_json(), "mirrored": result.mirrored,
                              "cannot_tell": result.cannot_tell, "skipped": result.skipped})
    if result.mirrored:
        m = engine.mounting
        store.save_settings({"mounting": {"cushions": {name: {"orientation": m.orientation, "mirror": not m.mirror,
                                                               "invert": m.invert}}}})
    elif "empty" in session.done_steps:  # the empty seat's tare, as `sitwell calibrate` keeps it
        store.save_calibration(name, engine.analyzer.state_dict())
    return result


@click.command("setup")
@cushion_input_options("The cushion on this serial port or pty.", "A cushion publishing to this broker.")
@click.option("--recording", type=click.Path(exists=True, dir_okay=False), help="Take the frames from a recording.")
@click.option("--step-seconds", type=click.FloatRange(3, 60), default=8.0, show_default=True,
              help="How long each posture is recorded (after 2 s of settling).")
@click.option("--speed", type=click.FloatRange(0.1, 100), help="Simulated cushion only: play it X times faster.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(10, 3600), default=900.0, show_default=True)
@click.option("--db", type=click.Path(dir_okay=False))
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
def setup_command(serial_port: str | None, codec: str | None, rows: int | None, cols: int | None,
                  max_value: int | None, baud: int | None, mqtt_host: str | None, cushion: str | None,
                  recording: str | None, step_seconds: float, speed: float | None, timeout_s: float, db: str | None,
                  config_file: str | None) -> None:
    """Guided set-up: empty seat, then sit upright, lean left/right, cross each leg, slouch, perch
    forward (~10 s each). Learns your own way of sitting; redo it any time."""
    from monitor.cli.main import settings_or_exit, setup_logging
    from monitor.cli.options import mqtt_overrides
    from monitor.sinks.store import Store

    overrides: dict[str, Any] = {
        "serial.port": serial_port, "serial.codec": codec, "serial.rows": rows, "serial.cols": cols,
        "serial.max_value": max_value, "serial.baud": baud, "cushion": cushion, "store.db": db,
    }
    if serial_port:
        overrides["input"] = "serial"
    overrides.update(mqtt_overrides(mqtt_host))
    if not (serial_port or mqtt_host or recording):
        overrides.update({"sim.scenario": "setup", "sim.speed": speed})
    settings = settings_or_exit(config_file, overrides)
    setup_logging("WARNING")
    printer = Printer()
    store = Store(Path(settings.store.db))
    inp = None
    try:
        only = None if (settings.input == "mqtt" and not cushion) else settings.cushion
        if recording:
            from monitor.codec.recording import RecordingReader

            reader = RecordingReader(recording)
            source: Any = iter(reader)
            only = cushion or reader.cushion
        else:
            from monitor.runtime.daemon import build_input

            inp = build_input(settings)
            source = queue.Queue()
            inp.start(source.put)
        click.echo("sitwell set-up: follow each step; hold each posture until it says \"got it\".")
        got = run_session(source, settings, store, only, printer, step_seconds, timeout_s)
        if got is None:
            click.echo("error: no frames arrived; is the cushion connected? (try `sitwell doctor`)", err=True)
            sys.exit(1)
        session, engine, name = got
        if not session.done:
            click.echo(f"error: the set-up did not finish (stopped at step {session.index + 1}); run it again",
                       err=True)
            sys.exit(1)
        result = save_result(store, name, session, engine, settings)
    finally:
        if inp is not None:
            inp.stop()
        store.close()
    click.echo("")
    for line in result.summary_lines():
        click.echo(line)
    click.echo(f"Saved for cushion {name} in {settings.store.db}; a running sitwell takes it at its next start"
               " (or use the dashboard's set-up page). Run `sitwell setup` again to redo it.")
