"""`sitwell calibrate`: learn a cushion's offsets, noise and bad cells from an empty seat, now.

sitwell also calibrates by itself from every empty-seat period; this command is for a new
cushion, or after moving one, when you want a clean tare before the first sitting.
"""

from __future__ import annotations

import logging
import queue
import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from monitor.calibration.explicit import calibrate_from_frames
from monitor.model import Frame

log = logging.getLogger(__name__)

# A seat with someone on it loads many cells well above the noise; an empty one does not.
OCCUPIED_CELL_SHARE = 0.15
OCCUPIED_CELL_LOAD = 0.05  # full-scale units above the learnt offset


def collect_frames(frame_input: Any, seconds: float, cushion: str | None) -> list[Frame]:
    frames: queue.Queue[Frame] = queue.Queue()
    frame_input.start(frames.put)
    got: list[Frame] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                f = frames.get(timeout=0.2)
            except queue.Empty:
                continue
            if cushion is None or f.cushion == cushion:
                got.append(f)
    finally:
        frame_input.stop()
    return got


def seat_looks_occupied(frames: list[Frame], offset: np.ndarray, scale: float) -> bool:
    last = frames[-1].cells.astype(np.float32) * scale - offset
    spread = np.stack([f.cells for f in frames]).astype(np.float32) * scale
    loaded = (spread.max(axis=0) - spread.min(axis=0)) > OCCUPIED_CELL_LOAD
    return bool(loaded.mean() > OCCUPIED_CELL_SHARE or (last > OCCUPIED_CELL_LOAD).mean() > OCCUPIED_CELL_SHARE)


@click.command("calibrate")
@click.option("--serial", "serial_port", metavar="PORT", help="Calibrate the cushion on this serial port.")
@click.option("--codec", type=click.Choice(["binary", "text", "detect"]))
@click.option("--rows", type=int)
@click.option("--cols", type=int)
@click.option("--max-value", type=int)
@click.option("--baud", type=int)
@click.option("--mqtt", "mqtt_host", metavar="HOST[:PORT]", help="Calibrate a cushion publishing to this broker.")
@click.option("--cushion", help="Which cushion (default cushion-1; with --mqtt: the first one heard).")
@click.option("--recording", type=click.Path(exists=True, dir_okay=False), help="Take the frames from a recording of the empty seat.")
@click.option("--seconds", type=click.FloatRange(1, 600), default=10.0, show_default=True, help="How long to read the empty seat.")
@click.option("--db", type=click.Path(dir_okay=False))
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Save even if the seat does not look empty.")
def calibrate_command(serial_port: str | None, codec: str | None, rows: int | None, cols: int | None,
                      max_value: int | None, baud: int | None, mqtt_host: str | None, cushion: str | None,
                      recording: str | None, seconds: float, db: str | None, config_file: str | None,
                      force: bool) -> None:
    """Learn the empty seat's offsets, noise and bad cells (keep the seat empty meanwhile)."""
    from monitor.cli.main import _split_host, settings_or_exit, setup_logging
    from monitor.runtime.inputs import build_input
    from monitor.sinks.store import Store

    overrides: dict[str, Any] = {
        "serial.port": serial_port, "serial.codec": codec, "serial.rows": rows, "serial.cols": cols,
        "serial.max_value": max_value, "serial.baud": baud, "cushion": cushion, "store.db": db,
    }
    if serial_port:
        overrides["input"] = "serial"
    if mqtt_host:
        h, p = _split_host(mqtt_host, 1883)
        overrides.update({"mqtt.host": h, "mqtt.port": p, "input": "mqtt"})
    settings = settings_or_exit(config_file, overrides)
    setup_logging("WARNING")
    if recording:
        from monitor.codec.recording import RecordingError, RecordingReader

        try:
            with RecordingReader(recording) as reader:
                frames = [f for f in reader if f.t <= seconds]
        except RecordingError as exc:
            click.echo(f"error: {recording}: {exc}", err=True)
            sys.exit(2)
    else:
        if settings.input == "sim":
            click.echo("error: nothing to calibrate: give --serial PORT, --mqtt HOST or --recording FILE", err=True)
            sys.exit(2)
        click.echo(f"Reading the empty seat for {seconds:g} s — please keep it empty…", err=True)
        only = None if settings.input == "mqtt" and not cushion else settings.cushion
        frames = collect_frames(build_input(settings), seconds, only)
    if len(frames) < 3:
        click.echo(f"error: only {len(frames)} frame(s) arrived; is the cushion connected? (try `sitwell doctor`)", err=True)
        sys.exit(1)
    name = frames[0].cushion if (settings.input == "mqtt" and not cushion) or recording else settings.cushion
    frames = [f for f in frames if f.cushion == frames[0].cushion and f.shape == frames[0].shape]
    cal = calibrate_from_frames(frames)
    if seat_looks_occupied(frames, cal.offset, float(cal.scale)) and not force:
        click.echo("error: the seat does not look empty (load changes across many cells); "
                   "empty it and try again, or use --force", err=True)
        sys.exit(1)
    store = Store(Path(settings.store.db))
    try:
        saved = store.load_calibration(name) or {}
        store.save_calibration(name, {**saved, "calibration": cal.state_dict()})
    finally:
        store.close()
    bad = int((~cal.mask).sum())
    click.echo(
        f"Calibrated {name}: {len(frames)} frames, {cal.rows}x{cal.cols} cells, noise {cal.noise * cal.max_value:.1f} counts, "
        f"{bad} bad cell(s) masked. Saved to {settings.store.db}; a running daemon takes it at its next start."
    )
