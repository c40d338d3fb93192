"""One cushion's analysis: raw Frame -> calibration -> features -> occupancy + posture -> SeatReading.

`process(frame)` and `process_batch(t, cells)` share one code path: calibration steps through
the frames in order (it is stateful; `Calibrator.process_batch` vectorises the runs of frames
between its state changes, with bit-identical results), the features of the whole batch are
computed at once (vectorised, the same function the per-frame path calls on a stack of one),
and the same stateful decision step runs over the frames in order. So offline analysis of a recording gives exactly what the
daemon gives live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..calibration import Calibrator
from ..config import AnalysisConfig
from ..model import DeviceInfo, Frame, SeatReading
from .features import FeatureBatch, SeatGeometry, extract_batch
from .occupancy import LOAD_PER_KG, Occupancy
from .posture import PostureClassifier

LEFT_SHARE_TAU_S = 0.5  # light smoothing of left_share against noise
FORGET_SITTER_S = (
    60.0  # empty this long: the next sitter may be someone else (CONTRACT min break)
)


class SeatAnalyzer:
    def __init__(
        self, device: DeviceInfo, config: AnalysisConfig | None = None
    ) -> None:
        self.device = device
        self.config = config or AnalysisConfig()
        self.geometry = SeatGeometry(device.rows, device.cols)
        self.calibrator = Calibrator(device.rows, device.cols, device.max_value)
        self.occupancy = Occupancy(self.config.occupancy_kg)
        self.posture = PostureClassifier(self.config.sensitivity)
        self._left: float | None = None
        self._last_t: float | None = None
        self._empty_s = 0.0
        self._noise = np.zeros(1, np.float32)

    # ---- public API ---------------------------------------------------------------------

    def process(self, frame: Frame) -> SeatReading:
        cal = self.calibrator.process(frame)
        self._noise[0] = self.calibrator.noise
        fb = extract_batch(self.geometry, cal.load[None], self._noise)
        return self._decide(frame.t, fb.rows()[0])

    def process_batch(self, t: np.ndarray, cells: np.ndarray) -> list[SeatReading]:
        t = np.asarray(t, dtype=np.float64)
        cells = np.asarray(cells)
        n = len(t)
        if n == 0:
            return []
        # Calibration is stateful; process_batch steps through the frames in order exactly as
        # process() would, vectorised between the frames that change its state.
        loads, noise = self.calibrator.process_batch(t, cells)
        fb: FeatureBatch = extract_batch(self.geometry, loads, noise)
        return [self._decide(ti, f) for ti, f in zip(t.tolist(), fb.rows())]

    def update_config(self, config: AnalysisConfig) -> None:
        """New settings without a restart; what was learnt (tare, seated reference) is kept."""
        if config == self.config:
            return
        self.config = config
        self.occupancy.base_on = config.occupancy_kg * LOAD_PER_KG
        self.posture = PostureClassifier(config.sensitivity)

    def state_dict(self) -> dict[str, Any]:
        """What to keep per cushion across restarts (calibration and the seated reference)."""
        return {
            "calibration": self.calibrator.state_dict(),
            "occupancy": self.occupancy.state_dict(),
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        if isinstance(d.get("calibration"), dict):
            self.calibrator.load_state(d["calibration"])
        if isinstance(d.get("occupancy"), dict):
            self.occupancy.load_state(d["occupancy"])

    # ---- the one stateful decision step ---------------------------------------------------

    def _decide(self, t: float, f: dict[str, Any]) -> SeatReading:
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 5.0)
        self._last_t = t
        present = self.occupancy.update(t, f["active_load"])
        if present:
            self._empty_s = 0.0
            posture, conf = self.posture.update(t, f)
            ls = f["left_share"]
            if self._left is None or not math.isfinite(self._left):
                self._left = ls
            else:
                self._left += (1.0 - math.exp(-dt / LEFT_SHARE_TAU_S)) * (
                    ls - self._left
                )
            left_share: float | None = min(1.0, max(0.0, self._left))
        else:
            self._empty_s += dt
            if self.posture.smooth is not None:
                self.posture.reset(keep_baseline=True)
            if self._empty_s >= FORGET_SITTER_S and self.posture.baseline is not None:
                self.posture.reset()
            self._left = None
            posture, conf, left_share = "empty", _empty_conf(self.occupancy), None
        found = bool(f["peaks_found"])
        features = {
            "peaks": [
                [round(f["pl_r"], 2), round(f["pl_c"], 2)],
                [round(f["pr_r"], 2), round(f["pr_c"], 2)],
            ]
            if found
            else [],
            "midline_col": round(f["midline"], 3) if found else None,
            "cop": [round(f["cop_r"], 2), round(f["cop_c"], 2)],
            "mean_load": round(f["mean_load"], 5),
            "active_load": round(f["active_load"], 5),
            "area": round(f["area"], 3),
            "raw_left_share": round(f["left_share"], 4),
            "front_share": round(f["front_share"], 4),
            "thigh_l": round(f["thigh_l"], 4),
            "thigh_r": round(f["thigh_r"], 4),
            "sacral": round(f["sacral"], 4),
        }
        return SeatReading(
            t=t,
            present=present,
            posture=posture,
            left_share=left_share,
            total_load=float(f["total"]),
            confidence=round(conf, 3),
            features=features,
        )


def _empty_conf(occ: Occupancy) -> float:
    """How sure 'empty' is: 1 with no load, 0.5 at the threshold."""
    thr = occ.on_threshold
    return max(0.0, min(1.0, 1.0 - 0.5 * occ.level / thr)) if thr > 0 else 1.0
