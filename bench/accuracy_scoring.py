"""Scoring of sitwell's seat analysis on labelled recordings (used by bench/accuracy.py).

Reads CONTRACT section 4 recordings with their `label`s, runs `SeatAnalyzer` over them and
scores the readings against the labels: the method is in bench/accuracy.py's docstring and
docs/accuracy.md.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor.analysis.seat import SeatAnalyzer
from monitor.config.settings import AnalysisConfig
from monitor.model import POSTURES, DeviceInfo, Frame

log = logging.getLogger("bench.accuracy")

HOLDOUT_S = 5.0
DEBOUNCE_S = 3.0
MIN_BREAK_S = 60.0
CHUNK = 2000


# ---- reading labelled recordings ----------------------------------------------------------


def read_labelled(
    path: Path,
) -> tuple[dict[str, Any], Iterator[tuple[float, np.ndarray, dict | None]]]:
    """Header and a stream of (t, cells, label) of a CONTRACT section 4 file (.jsonl or .gz).

    monitor.recording.RecordingReader drops labels (the monitor must ignore them), so the
    benchmark reads them itself; bad lines are skipped and counted.
    """
    raw = open(path, "rb")  # noqa: SIM115 - closed by the frame generator below
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    fh = io.TextIOWrapper(gzip.GzipFile(fileobj=raw) if gz else raw, encoding="utf-8")
    header = json.loads(fh.readline())
    rows, cols = int(header["rows"]), int(header["cols"])

    def frames() -> Iterator[tuple[float, np.ndarray, dict | None]]:
        bad = 0
        with fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                    cells = np.asarray(obj["cells"], dtype=np.int64)
                    if cells.shape != (rows, cols):
                        raise ValueError("shape")
                    yield float(obj["t"]), cells, obj.get("label")
                except (ValueError, KeyError, TypeError):
                    bad += 1
        if bad:
            log.warning("%s: %d bad lines skipped", path, bad)

    return header, frames()


# ---- running the analysis -----------------------------------------------------------------


@dataclass
class Run:
    name: str
    t: np.ndarray
    present: np.ndarray
    posture: list[str]
    left: np.ndarray  # nan where None
    truth_occ: np.ndarray
    truth_posture: list[str]
    truth_left: np.ndarray
    seconds: float = 0.0  # analysis CPU time
    info: dict[str, Any] = field(default_factory=dict)


def analyse_stream(
    name: str,
    device: DeviceInfo,
    frames,
    config: AnalysisConfig,
    per_frame: bool = False,
) -> Run:
    """Analyse a labelled stream in chunks with process_batch (or frame by frame with process)."""
    an = SeatAnalyzer(device, config)
    ts, pres, post, left, tocc, tpost, tleft = [], [], [], [], [], [], []
    cpu = 0.0
    buf_t: list[float] = []
    buf_c: list[np.ndarray] = []

    def flush() -> None:
        nonlocal cpu
        if not buf_t:
            return
        t0 = time.process_time()
        if per_frame:
            readings = [
                an.process(Frame(device.device, t, c, device.max_value))
                for t, c in zip(buf_t, buf_c, strict=True)
            ]
        else:
            readings = an.process_batch(np.asarray(buf_t), np.stack(buf_c))
        cpu += time.process_time() - t0
        for r in readings:
            ts.append(r.t)
            pres.append(r.present)
            post.append(r.posture)
            left.append(np.nan if r.left_share is None else r.left_share)
        buf_t.clear()
        buf_c.clear()

    for t, cells, label in frames:
        label = label or {}
        buf_t.append(t)
        buf_c.append(cells)
        occ = bool(label.get("occupied", False))
        tocc.append(occ)
        tpost.append(str(label.get("posture", "empty")))
        ls = label.get("left_share")
        tleft.append(np.nan if ls is None else float(ls))
        if len(buf_t) >= CHUNK:
            flush()
    flush()
    return Run(
        name,
        np.asarray(ts),
        np.asarray(pres, bool),
        post,
        np.asarray(left, float),
        np.asarray(tocc, bool),
        tpost,
        np.asarray(tleft, float),
        cpu,
    )


# ---- scoring ------------------------------------------------------------------------------


def debounce(
    t: np.ndarray, level: np.ndarray, after_s: float = DEBOUNCE_S
) -> np.ndarray:
    """CONTRACT section 6: the state flips once the level has held the other value after_s."""
    out = np.zeros(len(t), bool)
    state = False
    since: float | None = None
    for i in range(len(t)):
        if level[i] != state:
            if since is None:
                since = t[i]
            if t[i] - since >= after_s:
                state = bool(level[i])
                since = None
        else:
            since = None
        out[i] = state
    return out


def spells(
    t: np.ndarray, occ: np.ndarray, min_break: float = MIN_BREAK_S
) -> list[tuple[float, float]]:
    """Occupied runs, gaps shorter than min_break merged."""
    runs: list[list[float]] = []
    start = None
    for i in range(len(t)):
        if occ[i] and start is None:
            start = t[i]
        elif not occ[i] and start is not None:
            runs.append([start, t[i]])
            start = None
    if start is not None:
        runs.append([start, t[-1]])
    merged: list[list[float]] = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < min_break:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(a, b) for a, b in merged]


def second_index(t: np.ndarray, truth_key: list) -> np.ndarray:
    """Indices of the last frame of each whole second, outside HOLDOUT_S after a truth change."""
    if len(t) == 0:
        return np.zeros(0, int)
    sec = np.floor(t).astype(np.int64)
    last = np.flatnonzero(np.r_[sec[1:] != sec[:-1], True])
    change_t = np.full(len(t), -np.inf)
    last_change = -np.inf
    for i in range(1, len(t)):
        if truth_key[i] != truth_key[i - 1]:
            last_change = t[i]
        change_t[i] = last_change
    keep = (t[last] - change_t[last]) >= HOLDOUT_S
    return last[keep]


@dataclass
class Score:
    seconds: int = 0
    occ_ok: int = 0
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)
    ls_err: list[float] = field(default_factory=list)
    spell_err: list[float] = field(default_factory=list)
    spell_counts: list[tuple[int, int]] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.seconds += other.seconds
        self.occ_ok += other.occ_ok
        for k, v in other.confusion.items():
            self.confusion[k] = self.confusion.get(k, 0) + v
        self.ls_err += other.ls_err
        self.spell_err += other.spell_err
        self.spell_counts += other.spell_counts

    @property
    def occ_acc(self) -> float:
        return self.occ_ok / self.seconds if self.seconds else float("nan")

    def per_class(self) -> dict[str, tuple[float, float, float, int]]:
        out = {}
        for c in POSTURES:
            tp = self.confusion.get((c, c), 0)
            n_true = sum(v for (a, _), v in self.confusion.items() if a == c)
            n_pred = sum(v for (_, b), v in self.confusion.items() if b == c)
            if n_true == 0 and n_pred == 0:
                continue
            p = tp / n_pred if n_pred else 0.0
            r = tp / n_true if n_true else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            out[c] = (p, r, f1, n_true)
        return out

    @property
    def macro_f1(self) -> float:
        f = [v[2] for v in self.per_class().values() if v[3] > 0]
        return float(np.mean(f)) if f else float("nan")

    @property
    def ls_mae(self) -> float:
        return float(np.mean(self.ls_err)) if self.ls_err else float("nan")

    @property
    def spell_max_err(self) -> float:
        return max(self.spell_err) if self.spell_err else float("nan")


def score(run: Run) -> Score:
    s = Score()
    occ = debounce(run.t, run.present)
    key = list(zip(run.truth_occ.tolist(), run.truth_posture, strict=True))
    idx = second_index(run.t, key)
    s.seconds = len(idx)
    s.occ_ok = int((occ[idx] == run.truth_occ[idx]).sum())
    for i in idx:
        pred = run.posture[i] if occ[i] else "empty"
        k = (run.truth_posture[i], pred)
        s.confusion[k] = s.confusion.get(k, 0) + 1
        if (
            run.truth_occ[i]
            and np.isfinite(run.truth_left[i])
            and np.isfinite(run.left[i])
        ):
            s.ls_err.append(abs(run.left[i] - run.truth_left[i]))
    true_sp = spells(run.t, run.truth_occ)
    pred_sp = spells(run.t, occ)
    s.spell_counts.append((len(true_sp), len(pred_sp)))
    for a, b in true_sp:
        best = min(pred_sp, key=lambda p: abs(p[0] - a) + abs(p[1] - b), default=None)
        if best is None:
            s.spell_err.append(float("inf"))
        else:
            s.spell_err.append(max(abs(best[0] - a), abs(best[1] - b)))
    if len(pred_sp) != len(true_sp):
        s.spell_err.append(float("inf"))
    return s
