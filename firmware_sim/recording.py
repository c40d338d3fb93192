"""Recording files (CONTRACT section 4) written by the simulator, with ground-truth labels."""

from __future__ import annotations

import gzip
import io
import json
import logging
from pathlib import Path
from typing import IO, Any

from .simulator import Simulator
from .wire import cells_json

log = logging.getLogger(__name__)


def header(sim: Simulator, cushion: str, start: str | None = None) -> dict[str, Any]:
    return {
        "type": "header",
        "format": "sitwell-recording",
        "version": 1,
        "cushion": cushion,
        "rows": sim.rows,
        "cols": sim.cols,
        "max_value": sim.max_value,
        "rate_hz": sim.rate_hz,
        "start": start or sim.scenario.start,
        "source": _source(sim),
    }


def _source(sim: Simulator) -> dict[str, Any]:
    src: dict[str, Any] = {"simulator": "firmware_sim", "scenario": sim.scenario.name, "seed": sim.seed}
    physics = sim.physics_info()
    if physics is not None:  # only with real-cushion physics: default recordings stay as they were
        src["physics"] = physics
    return src


def write_frames(
    sim: Simulator, out: IO[str], cushion: str = "sim-1", start: str | None = None, labels: bool = True
) -> int:
    """Write the header and every frame to a text stream; returns the number of frames."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    out.write(dumps(header(sim, cushion, start)) + "\n")
    n = 0
    buf: list[str] = []
    for f in sim.frames():
        # built by hand around json's C encoder for the cells: this loop is the hot path
        line = '{"t":' + repr(round(f.t, 4)) + ',"cells":' + cells_json(f.cells)
        if labels:
            line += ',"label":' + dumps(f.label)
        buf.append(line + "}\n")
        n += 1
        if len(buf) >= 256:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    return n


def write_recording(
    sim: Simulator,
    path_or_file: str | Path | IO[str] | IO[bytes],
    cushion: str = "sim-1",
    gz: bool | None = None,
    start: str | None = None,
    labels: bool = True,
) -> int:
    """Write `sim` as a CONTRACT section 4 recording, as fast as the machine allows.

    `path_or_file`: a path (gzipped when it ends in .gz, unless `gz` says otherwise) or an
    open file (text, or binary - gzipped only if `gz` is true). Returns the frame count.
    """
    if isinstance(path_or_file, (str, Path)):
        path = Path(path_or_file)
        zipped = path.name.endswith(".gz") if gz is None else gz
        if zipped:
            # level 4: close to level 9's size on this data at a fraction of the time
            with gzip.open(path, "wt", encoding="utf-8", compresslevel=4) as fh:
                n = write_frames(sim, fh, cushion, start, labels)
        else:
            with open(path, "w", encoding="utf-8") as fh:
                n = write_frames(sim, fh, cushion, start, labels)
        log.info("wrote %d frames to %s", n, path)
        return n
    stream = path_or_file
    if isinstance(stream, io.TextIOBase):
        return write_frames(sim, stream, cushion, start, labels)
    if gz:
        with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=4) as zf:  # type: ignore[arg-type]
            text = io.TextIOWrapper(zf, encoding="utf-8")
            n = write_frames(sim, text, cushion, start, labels)
            text.flush()
            text.detach()
        return n
    text = io.TextIOWrapper(stream, encoding="utf-8")  # type: ignore[arg-type]
    n = write_frames(sim, text, cushion, start, labels)
    text.flush()
    text.detach()
    return n
