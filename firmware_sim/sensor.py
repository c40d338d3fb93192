"""Sensor model: turns a force map (newtons per cell) into raw ADC readings.

A resistive pressure mat reads pressure, so a cell's reading is its force divided by its
area: a finer grid sees the same pressures in more cells (the raw sum grows with the cell
count, peaks stay about the same). On top: per-cell gain and offset, noise, dead cells
(stuck at 0), stuck cells, slow drift, mild saturation near full scale. Everything random
comes from the numpy Generator handed in, so the same seed gives the same readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import SEAT_CM


@dataclass(frozen=True, slots=True)
class SensorParams:
    """Imperfections of one cushion. Counts are for a 12-bit (4095) sensor and scale with max_value."""

    counts_per_kpa: float = 55.0  # sensitivity at gain 1
    noise: float = 10.0  # counts, standard deviation of each reading's noise
    noise_rel: float = 0.006  # extra noise proportional to the signal
    gain_spread: float = 0.08  # per-cell gain: lognormal sigma
    offset_mean: float = 26.0  # counts, per-cell zero-load reading
    offset_sd: float = 12.0
    dead_fraction: float = 0.02  # cells stuck at 0
    stuck_fraction: float = 0.003  # cells stuck at a random reading
    drift: float = 4.0  # counts, standard deviation of the slow common offset drift
    drift_tau_s: float = 900.0
    saturation_knee: float = 0.75  # share of full scale above which readings compress
    creep: float = 0.03  # a loaded cell reads up to this much more over creep_tau_s ...
    creep_tau_s: float = 60.0  # ... and keeps a fading residue after unloading

    @classmethod
    def scaled(cls, level: float = 1.0, **kw) -> SensorParams:
        """A cushion `level` times as imperfect as the default (noise, gains, dead cells)."""
        base = cls(**kw)
        return cls(
            counts_per_kpa=base.counts_per_kpa,
            noise=base.noise * level,
            noise_rel=base.noise_rel * level,
            gain_spread=base.gain_spread * level,
            offset_mean=base.offset_mean,
            offset_sd=base.offset_sd * max(level, 0.5),
            dead_fraction=min(0.2, base.dead_fraction * level),
            stuck_fraction=min(0.05, base.stuck_fraction * level),
            drift=base.drift * level,
            drift_tau_s=base.drift_tau_s,
            saturation_knee=base.saturation_knee,
            creep=base.creep * level,
            creep_tau_s=base.creep_tau_s,
        )


class Sensor:
    """One physical cushion: fixed per-cell properties drawn once, noise drawn per frame."""

    def __init__(
        self,
        rows: int,
        cols: int,
        rng: np.random.Generator,
        params: SensorParams | None = None,
        max_value: int = 4095,
        rate_hz: float = 10.0,
    ):
        self.rows, self.cols = rows, cols
        self.p = p = params or SensorParams()
        self.max_value = int(max_value)
        self.rate_hz = float(rate_hz)
        self.rng = rng
        scale = self.max_value / 4095.0
        self.scale = scale
        cell_cm2 = (SEAT_CM / rows) * (SEAT_CM / cols)
        # newtons per cell -> kPa: N / cm^2 * 10
        self.counts_per_newton = p.counts_per_kpa * 10.0 / cell_cm2 * scale
        shape = (rows, cols)
        self.gain = rng.lognormal(0.0, p.gain_spread, shape) if p.gain_spread > 0 else np.ones(shape)
        self.offset = np.clip(rng.normal(p.offset_mean, p.offset_sd, shape), 0.0, None) * scale
        n = rows * cols
        order = rng.permutation(n)
        n_dead = int(round(p.dead_fraction * n))
        n_stuck = int(round(p.stuck_fraction * n))
        self.dead = np.zeros(n, bool)
        self.dead[order[:n_dead]] = True
        self.stuck = np.zeros(n, bool)
        self.stuck[order[n_dead : n_dead + n_stuck]] = True
        self.dead = self.dead.reshape(shape)
        self.stuck = self.stuck.reshape(shape)
        self.stuck_value = rng.uniform(0.05, 0.9, shape) * self.max_value
        self._drift = 0.0
        self._creep = np.zeros(shape)  # low-passed signal: the polymer's slow relaxation
        self.burst = 0.0  # extra noise (counts at 4095 scale) while a fault injects a burst

    def read(self, force_n: np.ndarray) -> np.ndarray:
        """Raw readings (uint16) for one force map in newtons per cell."""
        return self.read_batch(force_n[None])[0]

    def read_batch(self, force_n: np.ndarray) -> np.ndarray:
        """Raw readings (B, rows, cols) uint16 for B consecutive force maps (newtons per cell)."""
        p, rng, m = self.p, self.rng, float(self.max_value)
        B = int(force_n.shape[0])
        signal = force_n * (self.counts_per_newton * self.gain)
        # slow common drift of the zero point: an Ornstein-Uhlenbeck process, frame by frame
        drift = np.zeros(B)
        if p.drift > 0:
            a = 1.0 / (self.rate_hz * p.drift_tau_s)
            b = p.drift * np.sqrt(2 * a)
            x = self._drift
            for i, z in enumerate(rng.standard_normal(B).tolist()):
                x += -a * x + b * z
                drift[i] = x
            self._drift = x
        sd = (p.noise + self.burst) * self.scale
        noise = rng.standard_normal(signal.shape)
        if p.noise_rel > 0:
            noise *= np.sqrt(sd * sd + (p.noise_rel * signal) ** 2)
        else:
            noise *= sd
        if p.creep > 0:
            # creep: the reading follows the load's slow average a little, so it rises under a
            # steady load and leaves a fading residue after the load goes (FSR/velostat mats)
            a = 1.0 / (self.rate_hz * p.creep_tau_s)
            c = self._creep
            slow = np.empty_like(signal)
            for i in range(B):
                c += a * (signal[i] - c)
                slow[i] = c
            self._creep = c
            signal = signal + p.creep * slow
        v = signal + self.offset + (drift * self.scale)[:, None, None] + noise
        # mild saturation: linear up to the knee, then a tanh approach to full scale
        knee = p.saturation_knee * m
        over = v > knee
        if over.any():
            v[over] = knee + (m - knee) * np.tanh((v[over] - knee) / (m - knee))
        v[:, self.stuck] = self.stuck_value[self.stuck]
        v[:, self.dead] = 0.0
        return np.clip(np.rint(v), 0, m).astype(np.uint16)
