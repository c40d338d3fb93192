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

Real mats do not return to zero when someone gets up: hysteresis leaves a fading print of the
sitter, and a mat warmed by a body reads its per-cell offsets shifted for many minutes (docs/
accuracy.md, real-cushion physics). So the level is also judged against the sitter and the
empty seat themselves:

* leaving: a sitter's level is learnt while they sit (`sitter_level`); a drop below
  LEAVE_FRACTION of it is someone getting up, whatever the print left behind reads. No
  posture, lean or perch takes away half of the load on a seat.
* the empty seat's own floor: while nobody sits, `floor` follows the level down at once and up
  slowly (FLOOR_TAU_S), so a fading print, a warm mat or a bag left lying becomes the floor,
  and someone sitting down is a rise above it (a person sits down in ~2 s, far faster).
* the same sitter back within FORGET_S must bring back RETURN_FRACTION of their level: a cat
  jumping onto the warm print, or a bag put down, does not.
* the adaptive threshold has no upper bound: a cushion on which people read high reads cats
  and bags high too.
"""

from __future__ import annotations

import math

from monitor.analysis.elapsed import elapsed

# Nominal: mean full-scale load per cell per kg of load on the seat (rough; see module doc).
LOAD_PER_KG = 0.0015
OFF_RATIO = 0.6  # leave "present" below 60 % of the enter threshold: hysteresis
SEATED_FRACTION = 0.3  # adaptive threshold: this fraction of the learnt seated load ...
ADAPT_MIN = 0.75  # ... and at least this factor of the configured one
LEVEL_TAU_S = 0.3  # smoothing of the level against single noisy frames
SEATED_LEARN_AFTER_S = 20.0
SEATED_TAU_S = 120.0
LEAVE_FRACTION = 0.45  # below this share of the sitter's own level: they got up
RETURN_FRACTION = 0.6  # the same sitter coming back brings at least this share of it
SITTER_AFTER_S = 2.0  # the sitter's level is learnt from this long after sitting down ...
SITTER_TAU_S = 30.0  # ... following slow changes (creep, posture)
FLOOR_TAU_S = 20.0  # the empty seat's floor rises this slowly
FORGET_S = 60.0  # empty this long: the next sitter may be someone else


class Occupancy:
    """Level hysteresis on the active load, with a learnt seated reference."""

    def __init__(self, occupancy_kg: float = 8.0) -> None:
        self.base_on = occupancy_kg * LOAD_PER_KG
        self.present = False
        self.level = 0.0
        self.seated_ref: float | None = None
        self.present_s = 0.0
        self.sitter_level: float | None = None  # this sitter's level, learnt while they sit
        self.floor = 0.0  # the empty seat's own level
        self.absent_s = 0.0
        self._last_t: float | None = None

    @property
    def on_threshold(self) -> float:
        if self.seated_ref is None:
            return self.base_on
        return max(SEATED_FRACTION * self.seated_ref, ADAPT_MIN * self.base_on)

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
        level = self.level
        if self.present:
            sitter = self.sitter_level
            self.present = level >= OFF_RATIO * on and (
                sitter is None or level >= LEAVE_FRACTION * sitter
            )
            if not self.present:  # what is left when they got up is the empty seat's floor
                self.floor = level
        else:
            self.absent_s += dt
            if level <= self.floor:
                self.floor = level
            elif dt > 0:
                self.floor += (1.0 - math.exp(-dt / FLOOR_TAU_S)) * (level - self.floor)
            self.present = level - self.floor >= on
            if self.present and self.sitter_level is not None and self.absent_s < FORGET_S:
                self.present = level >= RETURN_FRACTION * self.sitter_level
            if self.absent_s >= FORGET_S:
                self.sitter_level = None
        if self.present:
            self.absent_s = 0.0
            self.present_s += dt
            if self.present_s >= SITTER_AFTER_S:
                if self.sitter_level is None:
                    self.sitter_level = level
                else:
                    self.sitter_level += (1.0 - math.exp(-dt / SITTER_TAU_S)) * (
                        level - self.sitter_level
                    )
            if self.present_s >= SEATED_LEARN_AFTER_S:
                if self.seated_ref is None:
                    self.seated_ref = level
                else:
                    self.seated_ref += (1.0 - math.exp(-dt / SEATED_TAU_S)) * (
                        level - self.seated_ref
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
