"""One cushion's analysis: raw Frame -> calibration -> features -> occupancy + posture -> SeatReading.

`process(frame)` and `process_batch(t, cells)` share one code path: calibration steps through
the frames in order (it is stateful; `Calibrator.process_batch` vectorises the runs of frames
between its state changes, with bit-identical results), the features of the whole batch are
computed at once (vectorised, the same function the per-frame path calls on a stack of one),
and the same stateful decision step runs over the frames in order. So offline analysis of a
recording gives exactly what the daemon gives live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from monitor.analysis.elapsed import elapsed
from monitor.analysis.features import FeatureBatch, SeatGeometry, extract_batch
from monitor.analysis.occupancy import LOAD_PER_KG, Occupancy
from monitor.analysis.posture import BASELINE_PRIOR, PRIOR_MAX, PostureClassifier, thigh_contrast
from monitor.analysis.profile import SitterProfile
from monitor.analysis.pyround import round_table
from monitor.calibration.calibrator import Calibrator
from monitor.config.settings import AnalysisConfig
from monitor.model import CalibratedBatch, CalibratedFrame, DeviceInfo, Frame, SeatReading, SitBonePeaks

LEFT_SHARE_TAU_S = 0.5  # light smoothing of left_share against noise
FORGET_SITTER_S = (
    60.0  # empty this long: the next sitter may be someone else (CONTRACT min break)
)


class SeatAnalyzer:
    def __init__(
        self, device: DeviceInfo, config: AnalysisConfig | None = None, profile: SitterProfile | None = None
    ) -> None:
        self.device = device
        self.config = config or AnalysisConfig()
        self.geometry = SeatGeometry(device.rows, device.cols)
        self.calibrator = Calibrator(device.rows, device.cols, device.max_value)
        self.occupancy = Occupancy(self.config.occupancy_kg)
        self.profile = profile  # the sitter's own thresholds (analysis/profile.py), or None
        self.posture = PostureClassifier(self.config.sensitivity, profile)
        self._left: float | None = None
        self._last_t: float | None = None
        self._empty_s = 0.0
        self._noise = np.zeros(1, np.float32)
        self._gamma = np.ones(1, np.float32)

    # ---- public API ---------------------------------------------------------------------

    def process(self, frame: Frame) -> SeatReading:
        return self.analyze_frame(self.calibrator.process(frame))

    def process_batch(self, t: np.ndarray, cells: np.ndarray) -> list[SeatReading]:
        if len(t) == 0:
            return []
        # Calibration is stateful; process_batch steps through the frames in order exactly as
        # process() would, vectorised between the frames that change its state.
        return self.analyze(self.calibrator.process_batch(t, cells))

    def analyze_frame(self, cal: CalibratedFrame) -> SeatReading:
        """The reading of one frame `self.calibrator.process` has just calibrated."""
        self._noise[0] = cal.noise
        self._gamma[0] = cal.gamma
        fb = extract_batch(self.geometry, cal.load[None], self._noise, self._gamma)
        return self._decide_all([cal.t], fb)[0]

    def analyze(self, cal: CalibratedBatch) -> list[SeatReading]:
        """The readings of frames `self.calibrator.process_batch` has just calibrated, in order."""
        if len(cal) == 0:
            return []
        return self.decide(cal, self.features(cal))

    def features(self, cal: CalibratedBatch) -> FeatureBatch:
        """The features of a calibrated batch: no state, so any process may compute them."""
        return extract_batch(self.geometry, cal.load, cal.noise, cal.gamma)

    def decide(self, cal: CalibratedBatch, fb: FeatureBatch,
               rounded: list[list[float]] | None = None) -> list[SeatReading]:
        """The stateful decision step over `features(cal)`, in order; `rounded`: what
        `rounded_features(fb)` gives, when the caller rounded a larger stack at once."""
        if len(cal) == 0:
            return []
        return self._decide_all(cal.t.tolist(), fb, rounded)

    @staticmethod
    def rounded_features(fb: FeatureBatch) -> list[list[float]]:
        """The reported features of each frame, rounded (no state: a stack of many cushions'
        frames at once is rounded the same, and far cheaper than cushion by cushion)."""
        return round_table([getattr(fb, name) for name in _ROUNDED], _ROUNDED.values())

    def update_config(self, config: AnalysisConfig) -> None:
        """New settings without a restart; what was learnt (tare, seated reference) is kept."""
        if config == self.config:
            return
        self.config = config
        self.occupancy.base_on = config.occupancy_kg * LOAD_PER_KG
        prior = self.posture.prior
        self.posture = PostureClassifier(config.sensitivity, self.profile)
        self.posture.prior = prior

    def set_profile(self, profile: SitterProfile | None) -> None:
        """The sitter's own thresholds from now on (a correction, a set-up). What the classifier
        follows in time (smoothed features, baseline, the posture held) carries on."""
        old = self.posture
        self.profile = profile
        self.posture = PostureClassifier(self.config.sensitivity, profile)
        for name in _POSTURE_STATE:
            setattr(self.posture, name, getattr(old, name))

    def state_dict(self) -> dict[str, Any]:
        """What to keep per cushion across restarts (calibration and the seated reference)."""
        return {
            "calibration": self.calibrator.state_dict(),
            "occupancy": self.occupancy.state_dict(),
            "posture": {"prior": self.posture.prior},
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        if isinstance(d.get("calibration"), dict):
            self.calibrator.load_state(d["calibration"])
        if isinstance(d.get("occupancy"), dict):
            self.occupancy.load_state(d["occupancy"])
        prior = d.get("posture", {}).get("prior") if isinstance(d.get("posture"), dict) else None
        if isinstance(prior, (int, float)) and math.isfinite(prior):
            self.posture.prior = max(BASELINE_PRIOR, min(float(prior), PRIOR_MAX))

    # ---- the one stateful decision step ---------------------------------------------------

    def _decide_all(self, ts: list[float], fb: FeatureBatch, rnd: list[list[float]] | None = None) -> list[SeatReading]:
        """The decision step over the frames of `fb`, in order.

        What does not depend on the state is done per column, once per batch: the rounding
        of the reported features (`round_table`: exactly Python's `round`, vectorised where
        that is provably the same) and the conversion to Python floats (`tolist`, what
        `.item()` gives)."""
        if rnd is None:
            rnd = self.rounded_features(fb)
        raw = [
            getattr(fb, name).tolist()
            for name in (
                "peaks_found", "total", "active_load", "left_share",
                "front_share", "thigh_l", "thigh_r", "sacral",
            )
        ]  # fmt: skip
        decide = self._decide
        posture = self.posture
        out = []
        for t, found, total, act, ls, front, tl, tr, sac, r, g in zip(ts, *raw, rnd, fb.gamma.tolist(), strict=True):
            posture.gamma = g
            out.append(decide(t, found, total, act, ls, front, tl, tr, sac, r))
        return out

    def decide_states(self, ts: list[float], fb: FeatureBatch) -> tuple[list[bool], list[str], list[float | None]]:
        """What the tracker reads of `decide`'s readings, per frame (present, posture,
        left_share), by the same steps in the same order, without the reported features the
        readings carry (`sitwell analyze` does not report them)."""
        step = self._step
        classifier = self.posture
        steps = []
        for t, act, ls, front, tl, tr, sac, g in zip(
            ts, *(getattr(fb, name).tolist() for name in _STEPPED), fb.gamma.tolist(), strict=True
        ):
            classifier.gamma = g  # as _decide_all: the posture rules read the cushion's exponent
            steps.append(step(t, act, ls, front, tl, tr, sac))
        present, posture, _, left_share = zip(*steps, strict=True) if steps else ((), (), (), ())
        return list(present), list(posture), list(left_share)

    def _step(
        self, t: float, active_load: float, ls: float, front: float, thigh_l: float, thigh_r: float, sacral: float
    ) -> tuple[bool, str, float, float | None]:
        """The state step of one frame: present, posture, confidence, left_share."""
        dt = elapsed(self._last_t, t, 5.0)
        self._last_t = t
        present = self.occupancy.update(t, active_load)
        if present:
            self._empty_s = 0.0
            posture, conf = self.posture.step(
                t, front, thigh_contrast(thigh_l, thigh_r), ls, sacral
            )
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
        return present, posture, conf, left_share

    def _decide(
        self,
        t: float,
        found: bool,
        total: float,
        active_load: float,
        ls: float,
        front: float,
        thigh_l: float,
        thigh_r: float,
        sacral: float,
        r: list[float],
    ) -> SeatReading:
        """One frame: its features (as Python floats) and its reported features rounded
        (`r`, in the order of _ROUNDED)."""
        present, posture, conf, left_share = self._step(t, active_load, ls, front, thigh_l, thigh_r, sacral)
        pl_r, pl_c, pr_r, pr_c, cop_r, cop_c, mid, area, mean, act, *shares = r
        raw_ls, front_r, thigh_l_r, thigh_r_r, sacral_r = shares
        features = {
            "midline_col": mid if found else None,
            "cop": [cop_r, cop_c],
            "mean_load": mean,
            "active_load": act,
            "area": area,
            "raw_left_share": raw_ls,
            "front_share": front_r,
            "thigh_l": thigh_l_r,
            "thigh_r": thigh_r_r,
            "sacral": sacral_r,
        }
        return SeatReading(
            t=t,
            present=present,
            posture=posture,
            left_share=left_share,
            total_load=total,
            confidence=round(conf, 3),
            features=features,
            peaks=SitBonePeaks((pl_r, pl_c), (pr_r, pr_c)) if found else None,
        )


# The reported features: which column, rounded to how many decimals (in the order _decide
# unpacks them).
_ROUNDED = {
    "pl_r": 2, "pl_c": 2, "pr_r": 2, "pr_c": 2, "cop_r": 2, "cop_c": 2,
    "midline": 3, "area": 3, "mean_load": 5, "active_load": 5,
    "left_share": 4, "front_share": 4, "thigh_l": 4, "thigh_r": 4, "sacral": 4,
}  # fmt: skip


# The features the state step reads, in the order of _step's arguments.
_STEPPED = ("active_load", "left_share", "front_share", "thigh_l", "thigh_r", "sacral")

# What a PostureClassifier follows in time (posture.py `reset`): carried over to a new one.
_POSTURE_STATE = ("smooth", "baseline", "baseline_s", "even", "thigh_even", "prior", "posture", "confidence",
                  "_cand", "_cand_since", "_last_t", "_seated_s")


def _empty_conf(occ: Occupancy) -> float:
    """How sure 'empty' is: 1 with no load, 0.5 at the threshold."""
    thr = occ.on_threshold
    return max(0.0, min(1.0, 1.0 - 0.5 * occ.level / thr)) if thr > 0 else 1.0
