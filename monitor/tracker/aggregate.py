"""Per-minute aggregates of a cushion's states, for the store and the daily statistics.

Each state holds from its frame time until the next state's; that interval is split at
wall-clock minute boundaries (epoch + t) and added to the minute it falls in. An interval
longer than `max_gap_s` (input lost) counts only its first `max_gap_s` seconds, so a
dropped connection is not counted as sitting, and one state costs the same work whatever
the step in frame time before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.model import CushionState


@dataclass(slots=True)
class MinuteRow:
    cushion: str
    minute: str  # ISO-8601 wall time of the minute's start (epoch's time zone)
    observed_s: float = 0.0  # seconds with frames
    seated_s: float = 0.0  # seconds the seat was (debounced) occupied
    postures: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # seated postures only
    left_share_sum: float = 0.0  # sum of left_share * seconds
    left_share_s: float = 0.0  # seconds with a left_share
    # sit-bone dose added in this minute: left, right (load x s), left_norm, right_norm (upright-seconds)
    sitbone: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    @property
    def mean_left_share(self) -> float | None:
        return self.left_share_sum / self.left_share_s if self.left_share_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cushion": self.cushion,
            "minute": self.minute,
            "observed_s": round(self.observed_s, 3),
            "seated_s": round(self.seated_s, 3),
            "postures": {k: round(v, 3) for k, v in self.postures.items() if v > 0},
            "mean_left_share": None if self.mean_left_share is None else round(self.mean_left_share, 5),
            "left_share_s": round(self.left_share_s, 3),
        }


class MinuteAggregator:
    def __init__(self, cushion: str, epoch: datetime, max_gap_s: float = 5.0):
        self.cushion = cushion
        self.epoch = epoch
        self.max_gap_s = max_gap_s
        self._prev: CushionState | None = None
        self._row: MinuteRow | None = None
        self._row_end_t = 0.0  # frame time where the current row's minute ends
        self._dose_carry = [0.0, 0.0, 0.0, 0.0]  # dose seen while no row was open
        self._max_pieces = int(max_gap_s // 60.0) + 2  # minutes one interval can touch

    def add_dose(self, added: tuple[float, float, float, float] | None) -> None:
        """Sit-bone dose of the interval before the state about to be added (call before add()):
        it goes to the minute that interval started in."""
        if not added:
            return
        target = self._row.sitbone if self._row is not None else self._dose_carry
        for i in range(4):
            target[i] += added[i]

    def add(self, state: CushionState) -> list[MinuteRow]:
        """Account the time since the previous state; returns the minutes completed."""
        done: list[MinuteRow] = []
        prev, self._prev = self._prev, state
        if prev is None:
            return done
        start = prev.t
        end = min(state.t, prev.t + self.max_gap_s)
        # At most the minutes `max_gap_s` spans, whatever the step in frame time: the work
        # of one state is bounded (a minute boundary that rounding puts at or before
        # `start`, far from frame time 0, closes the piece instead of looping).
        for _ in range(self._max_pieces):
            if not end > start:
                break
            if self._row is None or start >= self._row_end_t:
                if self._row is not None:
                    done.append(self._row)
                self._open_minute(start)
            piece_end = min(end, self._row_end_t) if self._row_end_t > start else end
            self._account(prev, piece_end - start)
            start = piece_end
        if self._row is not None and state.t >= self._row_end_t:
            done.append(self._row)
            self._row = None
        return done

    def flush(self) -> list[MinuteRow]:
        """The minute in progress (e.g. at shutdown); later states start a new row for it."""
        row, self._row = self._row, None
        return [row] if row is not None and row.observed_s > 0 else []

    def _open_minute(self, t: float) -> None:
        wall = self.epoch + timedelta(seconds=t)
        minute = wall.replace(second=0, microsecond=0)
        self._row = MinuteRow(self.cushion, minute.isoformat())
        self._row.sitbone, self._dose_carry = self._dose_carry, [0.0, 0.0, 0.0, 0.0]
        self._row_end_t = (minute + timedelta(minutes=1) - self.epoch).total_seconds()

    def _account(self, state: CushionState, seconds: float) -> None:
        row = self._row
        assert row is not None
        row.observed_s += seconds
        if state.occupied:
            row.seated_s += seconds
            row.postures[state.posture] += seconds
            if state.left_share is not None:
                row.left_share_sum += state.left_share * seconds
                row.left_share_s += seconds
