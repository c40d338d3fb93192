"""Real-cushion sensor physics: pressure per cell -> raw readings, one effect per condition.

The chain, per frame (docs/simulator.md, "Real-cushion physics", gives the figures):

    pressure (kPa) -> conductance G: power law of (p - actuation), or linear      [response]
                   x per-cell gain (lognormal)                                     [gain]
                   x (1 + gain_per_c * warmth)                                     [drift]
                   creep (slow rise under load) + hysteresis (residue on release)  [creep]
                   + passive-matrix ghost load along rows x columns                [crosstalk]
                   -> share of full scale: divider G / (1 + G), or linear + knee   [response]
                   + offset + offset drift with warmth (or a slow random drift)    [drift]
                   + noise -> dead / stuck cells, a broken trace                   [traces]
                   -> inverted wiring (full scale - reading)                       [invert]
                   -> quantised to the full scale (9: a digit 0-9 of a 10-bit ADC)

A condition that is off behaves as the default sensor (sensor.py) does, with its default
figures (scaled by `noise_level` like there). Each effect is a small function of arrays so
the tests can check it against its stated figure on its own.
"""

from __future__ import annotations

import math

import numpy as np

from .physics import CushionDraw, broken_trace
from .sensor import SensorParams

LINEAR_COUNTS_PER_KPA = 55.0  # the default sensor's sensitivity at 4095 (sensor.py)


def power_law(p_kpa: np.ndarray, half_kpa: float, exponent: float, act_kpa: float = 0.0) -> np.ndarray:
    """FSR / Velostat conductance, normalised so G = 1 at `half_kpa` (reads half of full scale).

    A force-sensing resistor's resistance falls as an inverse power of the force (Interlink
    FSR 400 datasheet and integration guide; Velostat fits R ~ F^-n), so its conductance
    rises as a power; below the actuation pressure the layers do not touch.
    """
    return (np.maximum(p_kpa - act_kpa, 0.0) / half_kpa) ** exponent


def divider(g: np.ndarray) -> np.ndarray:
    """Share of full scale read through a voltage divider whose fixed resistor matches G = 1:
    saturating, half scale at G = 1, approaching (never reaching) full scale."""
    return g / (1.0 + g)


def crosstalk(g: np.ndarray, fraction: float) -> np.ndarray:
    """Add passive-matrix ghost load: fraction * row_sum x col_sum / total, per frame.

    Without a diode per cell, current driven into a row also finds paths through loaded
    cells of other rows and columns, so a cell whose row and column both carry load reads
    some of it. The ghost map is the outer product of the row and column sums: it lies
    along rows and columns through the load, a lone loaded cell gets no ghost elsewhere,
    and the ghost load adds up to `fraction` of the real load.
    """
    if fraction <= 0:
        return g
    rows = g.sum(axis=2, keepdims=True)
    cols = g.sum(axis=1, keepdims=True)
    total = rows.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ghost = np.where(total > 0, rows * cols / np.where(total > 0, total, 1.0), 0.0)
    return g + fraction * ghost


class CreepState:
    """Creep under a constant load and hysteresis after unloading, per cell.

    creep: a loaded cell conducts better the longer it is loaded: its reading rises by
    `creep` x (1 - exp(-t / tau)) under a constant load (viscoelastic creep is about
    proportional to the load, so the fraction is the same for light and heavy cells), and
    the cell forgets with the same time constant once unloaded. An unloaded cell reads no
    creep: the layers part and conduct nothing. hysteresis: a released load still reads
    `hysteresis` of the drop at once, fading with `hysteresis_tau_s` (the unloading curve
    lies above the loading one, as the FSR 400 datasheet's +10 % average hysteresis says).
    """

    LOADED_G = 0.0005  # conductance (share of the half-scale one) above which a cell counts as loaded

    def __init__(
        self,
        shape: tuple[int, int],
        rate_hz: float,
        creep: float,
        creep_tau_s: float,
        hysteresis: float,
        hysteresis_tau_s: float,
    ):
        self.creep, self.hysteresis = creep, hysteresis
        self.a_creep = 1.0 - math.exp(-1.0 / (rate_hz * creep_tau_s))
        self.a_hyst = 1.0 - math.exp(-1.0 / (rate_hz * hysteresis_tau_s))
        self.crept = np.zeros(shape)  # 0..1: how far each cell has crept
        self.peak = np.zeros(shape)  # the recent peak, fading towards the load

    def step_batch(self, g: np.ndarray) -> np.ndarray:
        if self.creep <= 0 and self.hysteresis <= 0:
            return g
        out = np.empty_like(g)
        crept, peak = self.crept, self.peak
        for i in range(g.shape[0]):
            gi = g[i]
            crept += self.a_creep * (gi / (gi + self.LOADED_G) - crept)
            np.maximum(peak + self.a_hyst * (gi - peak), gi, out=peak)
            out[i] = gi * (1.0 + self.creep * crept) + self.hysteresis * (peak - gi)
        return out


class RealSensor:
    """One real cushion: per-cell properties drawn once, state carried from frame to frame."""

    def __init__(
        self,
        rows: int,
        cols: int,
        rng: np.random.Generator,
        draw: CushionDraw,
        on: frozenset[str],
        params: SensorParams,
        max_value: int,
        rate_hz: float,
        invert: bool = False,
    ):
        self.rows, self.cols, self.draw, self.on = rows, cols, draw, on
        self.p, self.rng = params, rng
        self.max_value, self.rate_hz, self.invert = int(max_value), float(rate_hz), invert
        self.scale = self.max_value / 4095.0
        shape = (rows, cols)
        n = rows * cols
        # every per-cell property is always drawn (same order), whichever conditions are on
        z_gain = rng.standard_normal(shape)
        z_off = rng.standard_normal(shape)
        z_tc = rng.standard_normal(shape)
        order = rng.permutation(n)
        stuck_u = rng.uniform(0.05, 0.9, shape)
        gain_sd = draw.gain_sd if "gain" in on else params.gain_spread
        # lognormal with mean 1: sigma is the spread of the gains (std ~ sigma for small sigma)
        self.gain = np.exp(gain_sd * z_gain - 0.5 * gain_sd * gain_sd)
        self.offset = np.clip(params.offset_mean + params.offset_sd * z_off, 0.0, None) * self.scale
        if "drift" in on:
            self.offset_tc = draw.offset_per_c * self.max_value * (1.0 + 0.5 * z_tc)  # counts per degree
        dead_f = draw.dead_fraction if "traces" in on else params.dead_fraction
        stuck_f = draw.stuck_fraction if "traces" in on else params.stuck_fraction
        n_dead, n_stuck = int(round(dead_f * n)), int(round(stuck_f * n))
        dead = np.zeros(n, bool)
        dead[order[:n_dead]] = True
        stuck = np.zeros(n, bool)
        stuck[order[n_dead : n_dead + n_stuck]] = True
        self.dead, self.stuck = dead.reshape(shape), stuck.reshape(shape)
        self.broken = broken_trace(draw, rows, cols) if "traces" in on else None
        self.trace = np.zeros(shape, bool)  # the cells of a broken row or column
        if self.broken is not None:
            kind, i = self.broken
            if kind == "row":
                self.trace[i, :] = True
            else:
                self.trace[:, i] = True
            self.stuck &= ~self.trace
            self.dead &= ~self.trace
        self.stuck_value = stuck_u * self.max_value
        if "creep" in on:
            self.creep = CreepState(
                shape, rate_hz, draw.creep, draw.creep_tau_s, draw.hysteresis, draw.hysteresis_tau_s
            )
        else:
            self.creep = CreepState(shape, rate_hz, params.creep, params.creep_tau_s, 0.0, 1.0)
        self.warmth = 0.0  # degrees C above the room the mat is
        self._drift = 0.0  # the default sensor's slow common offset drift (drift off)
        self.burst = 0.0  # extra noise (counts at 4095 scale) while a fault injects a burst

    def read_batch(self, pressure_kpa: np.ndarray, heat: np.ndarray) -> np.ndarray:
        """Raw readings (B, rows, cols) uint16 for B consecutive pressure maps.

        `heat` (B,): 0..1, how much of a seated body's warmth the mat gets in each frame.
        """
        p, rng, m, d = self.p, self.rng, float(self.max_value), self.draw
        B = pressure_kpa.shape[0]
        warmth = self._warm(heat)
        if "response" in self.on:
            g = power_law(pressure_kpa, d.half_kpa, d.exponent, d.act_kpa)
        else:  # the default sensor: linear in pressure (share of full scale)
            g = pressure_kpa * (p.counts_per_kpa / 4095.0)
        g = g * self.gain
        if "drift" in self.on:
            g = g * (1.0 + d.gain_per_c * warmth)[:, None, None]
        g = self.creep.step_batch(g)
        if "crosstalk" in self.on:
            g = crosstalk(g, d.crosstalk)
        if "response" in self.on:
            v = divider(g) * m
        else:
            v = g * m
            knee = p.saturation_knee * m  # the default sensor's mild saturation
            over = v > knee
            if over.any():
                v[over] = knee + (m - knee) * np.tanh((v[over] - knee) / (m - knee))
        v[:, self.dead | self.trace] = 0.0
        v += self.offset
        if "drift" in self.on:
            v += warmth[:, None, None] * self.offset_tc
        else:
            v += (self._common_drift(B) * self.scale)[:, None, None]
        sd = (p.noise + self.burst) * self.scale
        noise = rng.standard_normal(v.shape)
        v += noise * np.sqrt(sd * sd + (p.noise_rel * v) ** 2) if p.noise_rel > 0 else noise * sd
        v[:, self.stuck] = self.stuck_value[self.stuck]
        v[:, self.dead] = 0.0
        if self.broken is not None:  # an open trace floats low: nothing but a little pick-up
            v[:, self.trace] = np.abs(noise[:, self.trace]) * sd * 0.5
        if self.invert:
            v = m - v
        return quantise(v, self.max_value)

    def _warm(self, heat: np.ndarray) -> np.ndarray:
        out = np.empty(heat.shape[0])
        if "drift" not in self.on:
            out[:] = 0.0
            return out
        d = self.draw
        a = 1.0 - math.exp(-1.0 / (self.rate_hz * d.warm_tau_s))
        x = self.warmth
        for i, h in enumerate(heat.tolist()):
            x += a * (d.warm_c * h - x)
            out[i] = x
        self.warmth = x
        return out

    def _common_drift(self, B: int) -> np.ndarray:
        p = self.p
        out = np.zeros(B)
        if p.drift > 0:
            a = 1.0 / (self.rate_hz * p.drift_tau_s)
            b = p.drift * math.sqrt(2 * a)
            x = self._drift
            for i, z in enumerate(self.rng.standard_normal(B).tolist()):
                x += -a * x + b * z
                out[i] = x
            self._drift = x
        return out


def quantise(v: np.ndarray, max_value: int) -> np.ndarray:
    """Analogue readings (counts of full scale max_value) -> uint16 codes 0..max_value.

    A digit cushion (max_value 9) reads a 10-bit ADC and sends code * 10 // 1024, one digit
    a cell (CONTRACT 2.2); every other full scale rounds to the nearest code.
    """
    if max_value == 9:
        adc = np.clip(np.rint(v * (1023.0 / 9.0)), 0, 1023)
        return (adc * 10 // 1024).astype(np.uint16)
    return np.clip(np.rint(v), 0, max_value).astype(np.uint16)
