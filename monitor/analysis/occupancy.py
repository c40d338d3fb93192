"""Is someone sitting? A load level with hysteresis (the 3 s debounce is the tracker's).

The level is the mean load of the cells clearly above noise, in full-scale units per cell of
the whole grid ("active load"). That unit is comparable across grid sizes (a sensor reads
pressure, so finer cells read about the same) and across ADC widths (full scale). On the
reference recordings (docs/accuracy.md) a seated adult reads 0.03-0.06, an empty seat ~0,
a bag of a few kg ~0.004; the threshold sits on a logarithmic midpoint between a light
person perched forward and a 5 kg object.

`occupancy_kg` (config) sets the threshold through a nominal sensor scale, LOAD_PER_KG. Once
someone has been seated for a while, the threshold also adapts (within bounds) to a fraction
of what a seated person produces on this cushion, so a cushion with a low or high gain still
separates people from objects.
"""

from __future__ import annotations

import math

from monitor.analysis.elapsed import elapsed

# Nominal: mean full-scale load per cell per kg of load on the seat (rough; see module doc).
LOAD_PER_KG = 0.0015
OFF_RATIO = 0.6  # leave "present" below 60 % of the enter threshold: hysteresis
SEATED_FRACTION = 0.3  # adaptive threshold: this fraction of the learnt seated load ...
ADAPT_BOUNDS = (0.75, 1.5)  # ... kept within these factors of the configured threshold
LEVEL_TAU_S = 0.3  # smoothing of the level against single noisy frames
SEATED_LEARN_AFTER_S = 20.0
SEATED_TAU_S = 120.0


class Occupancy:
    """Level hysteresis on the active load, with a learnt seated reference."""

    def __init__(self, occupancy_kg: float = 8.0) -> None:
        self.base_on = occupancy_kg * LOAD_PER_KG
        self.present = False
        self.level = 0.0
        self.seated_ref: float | None = None
        self.present_s = 0.0
        self._last_t: float | None = None

    @property
    def on_threshold(self) -> float:
        if self.seated_ref is None:
            return self.base_on
        lo, hi = ADAPT_BOUNDS
        return min(
            max(SEATED_FRACTION * self.seated_ref, lo * self.base_on), hi * self.base_on
        )

    @property
    def off_threshold(self) -> float:
        return OFF_RATIO * self.on_threshold

    def update(self, t: float, active_load: float) -> bool:
        dt = elapsed(self._last_t, t, 1.0)
        self._last_t = t
        if not math.isfinite(active_load):
            active_load = 0.0
        if dt == 0.0 and self.level == 0.0:
            self.level = active_load
        else:
            a = 1.0 - math.exp(-dt / LEVEL_TAU_S) if dt > 0 else 0.0
            self.level += a * (active_load - self.level)
        on = self.on_threshold  # once (off_threshold is OFF_RATIO * on_threshold)
        self.present = self.level >= (OFF_RATIO * on if self.present else on)
        if self.present:
            self.present_s += dt
            if self.present_s >= SEATED_LEARN_AFTER_S:
                if self.seated_ref is None:
                    self.seated_ref = self.level
                else:
                    self.seated_ref += (1.0 - math.exp(-dt / SEATED_TAU_S)) * (
                        self.level - self.seated_ref
                    )
        else:
            self.present_s = 0.0
        return self.present

    def state_dict(self) -> dict:
        return {"seated_ref": self.seated_ref}

    def load_state(self, d: dict) -> None:
        ref = d.get("seated_ref")
        if isinstance(ref, (int, float)) and math.isfinite(ref) and ref > 0:
            self.seated_ref = float(ref)
