"""`sitwell analyze`: run a recording through the daemon's engine and report as JSON Lines.

CONTRACT section 7: a `state` line for every whole second S (the state after every frame
with t <= S), a `spell` line per sitting spell, a `reminder` line per reminder the daemon
would have sent, and a `summary` line last.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from monitor.codec.recording import RecordingReader
from monitor.config.settings import Settings
from monitor.model import CushionState, Frame, Spell
from monitor.offline.analyze_decide import decide_front
from monitor.offline.analyze_feed import FrontFeed, default_processes, keep_freed_memory, make_engine
from monitor.tracker.events import TrackerUpdate

BATCH = 512


@dataclass
class AnalysisTotals:
    frames: int = 0
    seconds: int = 0
    seconds_occupied: int = 0
    posture_seconds: Counter = field(default_factory=Counter)
    spells: list[dict[str, Any]] = field(default_factory=list)
    reminders: Counter = field(default_factory=Counter)
    left_share_sum: float = 0.0
    left_share_n: int = 0


def _spell_line(spell: Spell, open_: bool = False) -> dict[str, Any]:
    end = spell.end if spell.end is not None else spell.start
    line = {
        "type": "spell",
        "start": round(spell.start, 2),
        "end": round(end, 2),
        "seconds": round(end - spell.start, 1),
    }
    if open_:
        line["open"] = True  # the recording stopped before this spell ended
    return line


def _batches(frames: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for f in frames:
        batch.append(f)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def analyze_recording(
    path: str | Path,
    settings: Settings,
    emit: Callable[[dict[str, Any]], None],
    progress: bool = False,
    fast: bool = True,
    processes: int | None = None,
) -> dict[str, Any]:
    """Stream `path` through a CushionEngine, calling `emit` for each output object.

    `fast` (the default) reads the file in large chunks with the cells taken from the bytes
    and, with `processes` 3 (the default where there are two cores), reads in one child
    process, calibrates in a second and decides here (analyze_feed.py; 2: one child reads and
    calibrates; 1: all here), without a SeatReading per frame (analyze_decide.py);
    `fast=False` is the plain path, a Frame at a time through `CushionEngine.process_batch`.
    Both give the same output (tests/offline/test_analyze_fast.py)."""
    reader = RecordingReader(path)
    h = reader.header
    engine = make_engine(reader, settings)
    totals = AnalysisTotals()
    next_second: int | None = None
    state: CushionState | None = None
    bar = tqdm(
        total=Path(path).stat().st_size,
        unit="B",
        unit_scale=True,
        disable=not progress,
        file=sys.stderr,
        desc="analyze",
    )

    def emit_seconds_until(t: float) -> None:
        # Whole seconds S < t are settled: every frame with time <= S has been seen.
        nonlocal next_second
        assert state is not None and next_second is not None
        while next_second < t:
            line = state.second_json(next_second)
            emit(line)
            totals.seconds += 1
            if line["occupied"]:
                totals.seconds_occupied += 1
                totals.posture_seconds[line["posture"]] += 1
                if line["left_share"] is not None:
                    totals.left_share_sum += line["left_share"]
                    totals.left_share_n += 1
            next_second += 1

    def handle(t: float, update: TrackerUpdate) -> None:
        nonlocal state, next_second
        if next_second is None:
            next_second = math.ceil(t)
        elif state is not None:
            emit_seconds_until(t)
        state = update.state
        for reminder in update.reminders:
            totals.reminders[reminder.kind] += 1
            emit({"type": "reminder", **reminder.as_json()})
        if update.spell_ended is not None:
            line = _spell_line(update.spell_ended)
            totals.spells.append(line)
            emit(line)

    last_t = 0.0
    drops = reader.drops
    try:
        with reader:
            if fast:
                reader.close()  # the feed reads the file afresh, in chunks
                keep_freed_memory()
                feed = FrontFeed(path, settings, BATCH, default_processes() if processes is None else processes)
                track = engine.tracker.step
                for front, sitbone_loads in feed:
                    ts, present, postures, left_shares, sitbones = decide_front(engine, front, sitbone_loads)
                    for t, p, posture, ls, sitbone in zip(ts, present, postures, left_shares, sitbones, strict=True):
                        handle(t, track(t, p, posture, ls, sitbone))
                    totals.frames += len(ts)
                    last_t = ts[-1]
                    if progress:
                        bar.n = feed.position()
                        bar.refresh()
                drops = feed.drops
            else:
                for batch in _batches(iter(reader), BATCH):
                    for step in engine.process_batch(batch):
                        handle(step.frame.t, step.update)
                    totals.frames += len(batch)
                    last_t = batch[-1].t
                    if progress:
                        bar.n = reader.bytes_read()
                        bar.refresh()
    finally:
        bar.close()
    if state is not None:
        emit_seconds_until(math.floor(last_t) + 1)
    open_spell = engine.tracker.finish(last_t) if hasattr(engine.tracker, "finish") else None
    if open_spell is not None:
        line = _spell_line(open_spell, open_=open_spell.end is None or getattr(open_spell, "open", False))
        totals.spells.append(line)
        emit(line)
    summary = {
        "type": "summary",
        "cushion": reader.cushion,
        "rows": h.rows,
        "cols": h.cols,
        "frames": totals.frames,
        "dropped": dict(drops),
        "duration_s": round(last_t, 2),
        "start": h.start.isoformat().replace("+00:00", "Z"),
        "end": (h.start + timedelta(seconds=last_t)).isoformat().replace("+00:00", "Z"),
        "seconds": totals.seconds,
        "seconds_occupied": totals.seconds_occupied,
        "spells": len(totals.spells),
        "longest_spell_s": max((s["seconds"] for s in totals.spells), default=0),
        "posture_seconds": dict(totals.posture_seconds),
        "mean_left_share": round(totals.left_share_sum / totals.left_share_n, 4) if totals.left_share_n else None,
        "reminders": dict(totals.reminders),
    }
    # Set-up problems, said plainly (only when there are some: a sound recording's summary is
    # as it always was): how the cushion lies and is wired, readings above the full scale.
    from monitor.offline.setup_summary import setup_warnings

    summary.update(setup_warnings(reader.cushion, engine, h.max_value, dict(drops)))
    emit(summary)
    return summary


def jsonl_writer(out: IO[str]) -> Callable[[dict[str, Any]], None]:
    def emit(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")

    return emit
