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
from monitor.cli.options import DurationParam, cushion_input_options, mqtt_overrides
from monitor.model import Frame

log = logging.getLogger(__name__)

# A seat with someone on it loads many cells well above the noise; an empty one does not.
OCCUPIED_CELL_SHARE = 0.15  # of the cells whose load changed during the reading (a sitter moving)
OCCUPIED_CELL_LOAD = 0.05  # full-scale units of change that count as load
# A sitter who keeps still changes nothing, and offsets learnt from the frames themselves
# hide them; what gives them away is the load itself: cells far above the seat's own
# unloaded level (its 10th percentile cell: a sitter covers well under 90 % of a seat).
LOADED_ABOVE = 0.02  # full-scale units above the unloaded level: clearly a load, not noise
BASE_PERCENTILE = 10.0


def _above_unloaded(frames: list[Frame], scale: float) -> np.ndarray:
    level = np.median(np.stack([f.cells for f in frames]).astype(np.float32) * scale, axis=0)
    return level - np.percentile(level, BASE_PERCENTILE)


def _loaded(frames: list[Frame], scale: float) -> np.ndarray:
    return _above_unloaded(frames, scale) > LOADED_ABOVE


def seated_load(frames: list[Frame], scale: float) -> float:
    """The seat's load in the analysis' unit ("active load": full-scale units per cell of the
    whole grid, monitor/analysis/occupancy.py), measured against its least loaded cells."""
    above = _above_unloaded(frames, scale)
    return float(np.where(above > LOADED_ABOVE, above, 0.0).mean())


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


def seat_looks_occupied(frames: list[Frame], scale: float, occupancy_kg: float) -> str | None:
    """Why the seat does not look empty, or None: someone moved on it, or something as heavy
    as the daemon's occupancy threshold (analysis.occupancy_kg) sits on it."""
    from monitor.analysis.occupancy import LOAD_PER_KG

    spread = np.stack([f.cells for f in frames]).astype(np.float32) * scale
    changed = (spread.max(axis=0) - spread.min(axis=0)) > OCCUPIED_CELL_LOAD
    if changed.mean() > OCCUPIED_CELL_SHARE:
        return f"the load changed on {changed.mean():.0%} of the cells while reading"
    load = seated_load(frames, scale)
    if load >= occupancy_kg * LOAD_PER_KG:
        return (f"a steady load lies on {np.mean(_loaded(frames, scale)):.0%} of the cells, as much as the"
                f" daemon reads as someone seated (analysis.occupancy_kg = {occupancy_kg:g})")
    return None


@click.command("calibrate")
@cushion_input_options("Calibrate the cushion on this serial port.",
                       "Calibrate a cushion publishing to this broker (default port 1883).")
@click.option(
    "--recording",
    type=click.Path(exists=True, dir_okay=False),
    help="Take the frames from a recording of the empty seat.",
)
@click.option("--seconds", type=DurationParam("s", 1, 600), default=10.0, show_default=True,
              help="How long to read the empty seat (seconds, or e.g. 1 min).")
@click.option("--db", type=click.Path(dir_okay=False))
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Save even if the seat does not look empty.")
def calibrate_command(serial_port: str | None, codec: str | None, rows: int | None, cols: int | None,
                      max_value: int | None, baud: int | None, mqtt_host: tuple[str, int] | None, cushion: str | None,
                      recording: str | None, seconds: float, db: str | None, config_file: str | None,
                      force: bool) -> None:
    """Learn the empty seat's offsets, noise and bad cells (keep the seat empty meanwhile)."""
    from monitor.cli.main import settings_or_exit, setup_logging
    from monitor.runtime.inputs import build_input
    from monitor.sinks.store import Store

    overrides: dict[str, Any] = {
        "serial.port": serial_port, "serial.codec": codec, "serial.rows": rows, "serial.cols": cols,
        "serial.max_value": max_value, "serial.baud": baud, "cushion": cushion, "store.db": db,
    }
    if serial_port:
        overrides["input"] = "serial"
    overrides.update(mqtt_overrides(mqtt_host))
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
        click.echo(
            f"error: only {len(frames)} frame(s) arrived; is the cushion connected? (try `sitwell doctor`)", err=True
        )
        sys.exit(1)
    name = frames[0].cushion if (settings.input == "mqtt" and not cushion) or recording else settings.cushion
    frames = [f for f in frames if f.cushion == frames[0].cushion and f.shape == frames[0].shape]
    cal = calibrate_from_frames(frames)
    occupied = seat_looks_occupied(frames, float(cal.scale), settings.analysis.occupancy_kg)
    if occupied and not force:
        click.echo(f"error: the seat does not look empty: {occupied}. A tare taken now would make sitwell"
                   " read the sitter as an empty seat; nothing was saved. Empty the seat and try again,"
                   " or use --force if it really is empty.", err=True)
        sys.exit(1)
    if occupied:
        click.echo(f"warning: the seat does not look empty ({occupied}); saving anyway (--force)", err=True)
    store = Store(Path(settings.store.db))
    try:
        saved = store.load_calibration(name) or {}
        store.save_calibration(name, {**saved, "calibration": cal.state_dict()})
    finally:
        store.close()
    bad = int((~cal.mask).sum())
    click.echo(
        f"Calibrated {name}: {len(frames)} frames, {cal.rows}x{cal.cols} cells, "
        f"noise {cal.noise * cal.max_value:.1f} counts, "
        f"{bad} bad cell(s) masked. Saved to {settings.store.db}; a running daemon takes it at its next start."
    )
