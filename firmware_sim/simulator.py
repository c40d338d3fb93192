"""The simulated cushion: a scenario played through the body model and the sensor model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from .body import ForceRenderer, Person, Pose, components, pose_array
from .physics import (
    CushionDraw,
    PhysicsSpec,
    PhysicsSpecError,
    draw_cushion,
    spec_from_table,
)
from .scenario import Scenario, ScenarioError, Segment, load_scenario, pose_of
from .sensor import Sensor, SensorParams

FW_VERSION = "sim-1.0.0"
BLEND_S = 2.0  # posture changes, sitting down and standing up take this long
MAX_VALUES = (9, 255, 1023, 4095, 65535)
PHYSICS_SEED_KEYS = (5, 6, 7, 8, 9)  # cushion draw, real sensor, timing, cat, cat placement (4: faults)
CHUNK = 64  # frames computed together
RESETTLE_S = 90.0  # a fidget-1 person shifts on the seat about every 90 s ...
RESETTLE_CM, RESETTLE_BAL = 0.8, 0.04  # ... by about this much (sd)


@dataclass(slots=True)
class SimFrame:
    t: float  # seconds since the start of the scenario
    seq: int  # u16, wraps like the firmware's counter
    cells: np.ndarray  # (rows, cols) uint16 raw readings
    label: dict[str, Any]  # ground truth: occupied, posture, left_share


class _OU:
    """Ornstein-Uhlenbeck process: a value that wanders around 0 with a given spread and memory."""

    def __init__(self, sd: float, tau_s: float, dt: float):
        self.sd = sd
        self.a = math.exp(-dt / tau_s)
        self.b = sd * math.sqrt(1.0 - self.a * self.a)
        self.x = 0.0

    def step(self, z: float) -> float:
        self.x = self.a * self.x + self.b * z
        return self.x


class Motion:
    """The seated body's micro-movements: slow wandering, shifts now and then, breathing.

    Draws from `rng` in a fixed order per chunk, so runs are reproducible and a shorter run
    is a prefix of a longer one.
    """

    def __init__(self, rng: np.random.Generator, fidget: float, dt: float):
        self.rng, self.f, self.dt = rng, fidget, dt
        f = fidget
        self.ous = [_OU(0.45 * f, 25.0, dt), _OU(0.35 * f, 25.0, dt), _OU(0.035 * f, 12.0, dt), _OU(0.012, 30.0, dt)]
        self.breath_period = float(rng.uniform(3.4, 5.0))
        self.breath_phase = float(rng.uniform(0, 2 * math.pi))

    def chunk(self, t: np.ndarray) -> np.ndarray:
        """(len(t), 4) jitter: dx, dy, balance, load for the frames at times t."""
        rng, f, dt, n = self.rng, self.f, self.dt, t.shape[0]
        z = rng.standard_normal((n, 4))
        # now and then the sitter shifts on the seat: a kick to position and balance
        # that the slow processes then carry and relax (fidget / RESETTLE_S per second)
        kicks = rng.random(n) < f * dt / RESETTLE_S
        kick = rng.normal(0.0, 1.0, (n, 3)) * (RESETTLE_CM, RESETTLE_CM, RESETTLE_BAL)
        jit = np.empty((n, 4))
        for j, ou in enumerate(self.ous):
            col = jit[:, j]
            kj = np.where(kicks, kick[:, j], 0.0).tolist() if j < 3 else None
            for i, zi in enumerate(z[:, j].tolist()):
                if kj is not None and kj[i]:
                    ou.x += kj[i]
                col[i] = ou.step(zi)
        breath = np.sin(2 * math.pi * t / self.breath_period + self.breath_phase)
        jit[:, 1] += 0.25 * breath
        jit[:, 3] += 0.01 * breath
        return jit


class Simulator:
    """Plays `scenario` as a cushion of rows x cols cells scanned rate_hz times a second.

    Grid, rate and max_value default to the scenario's [sensor] table, then 16x16, 10 Hz,
    4095. `noise_level` scales every sensor imperfection (0.5 a good cushion, 2 a poor one);
    `weight_kg`/`offset_cm` override the scenario's person (else drawn from the seed).
    `physics` switches real-cushion conditions on (physics.py: "real", "real,-crosstalk",
    "creep,angle_deg=8", or a PhysicsSpec), on top of the scenario's [physics] table;
    `mount` and `invert` add mounting faults. The same arguments always give the same frames;
    with physics off they are the frames this simulator has always made.
    """

    def __init__(
        self,
        scenario: Scenario | str,
        rows: int | None = None,
        cols: int | None = None,
        rate_hz: float | None = None,
        seed: int = 1,
        max_value: int | None = None,
        *,
        cushion: str = "sim-1",
        duration_s: float | None = None,
        noise_level: float = 1.0,
        weight_kg: float | None = None,
        offset_cm: tuple[float, float] | None = None,
        sensor_params: SensorParams | None = None,
        physics: PhysicsSpec | str | None = None,
        mount: str | None = None,
        invert: bool | None = None,
    ):
        self.scenario = load_scenario(scenario)
        sc = self.scenario.sensor
        self.seed = int(seed)
        try:
            spec = physics if isinstance(physics, PhysicsSpec) else (
                spec_from_table(self.scenario.physics, self.scenario.name).with_tokens(physics))
            spec = spec.with_mount(mount, invert)
        except PhysicsSpecError as e:
            raise ScenarioError(str(e)) from None
        self.physics = spec
        self._phys_seeds = [np.random.SeedSequence(self.seed, spawn_key=(k,)) for k in PHYSICS_SEED_KEYS]
        self.draw: CushionDraw = draw_cushion(np.random.default_rng(self._phys_seeds[0]), spec)
        d = self.draw
        self.rows = int(rows if rows is not None else sc.get("rows", d.rows or 16))
        self.cols = int(cols if cols is not None else sc.get("cols", d.cols or 16))
        self.rate_hz = float(rate_hz if rate_hz is not None else sc.get("rate_hz", d.rate_hz or 10.0))
        self.max_value = int(max_value if max_value is not None else sc.get("max_value", d.max_value or 4095))
        if not (4 <= self.rows <= 64 and 4 <= self.cols <= 64):
            raise ValueError(f"grid must be 4..64 x 4..64, got {self.rows}x{self.cols}")
        if not 1.0 <= self.rate_hz <= 100.0:
            raise ValueError(f"rate_hz must be in 1..100, got {self.rate_hz}")
        if self.max_value not in MAX_VALUES:
            raise ValueError(f"max_value must be one of {MAX_VALUES}, got {self.max_value}")
        self.cushion = cushion
        ss = np.random.SeedSequence(self.seed)
        self._seeds = ss.spawn(4)  # person, scenario, motion, sensor: independent streams
        pr = self.scenario.person
        self.person = Person.random(
            np.random.default_rng(self._seeds[0]),
            weight_kg=weight_kg if weight_kg is not None else pr.get("weight_kg"),
            offset_cm=offset_cm if offset_cm is not None else pr.get("offset_cm"),
            fidget=pr.get("fidget"),
        )
        self.segments: list[Segment] = self.scenario.expand(np.random.default_rng(self._seeds[1]))
        self.real = spec.active or any(s.kind == "cat" for s in self.segments)
        if self.real:
            from .population import add_cats, real_person

            if "people" in spec.on:
                given = weight_kg is not None or pr.get("weight_kg") is not None
                self.person = real_person(self.person, d, given)
            if "cat" in spec.on:
                self.segments = add_cats(self.segments, np.random.default_rng(self._phys_seeds[4]), d)
        total = sum(s.duration_s for s in self.segments)
        self.duration_s = float(min(total, duration_s) if duration_s is not None else total)
        if sensor_params is None:
            known = {f.name for f in fields(SensorParams)}
            kw = {k: float(v) for k, v in sc.items() if k in known}
            sensor_params = SensorParams.scaled(noise_level, **kw)
        self.sensor_params = sensor_params

    @property
    def n_frames(self) -> int:
        return int(math.floor(self.duration_s * self.rate_hz + 1e-9))

    def physics_info(self) -> dict[str, Any] | None:
        """What the real-cushion physics drew (for the recording header); None when off."""
        if not self.real:
            return None
        s = self.physics
        draw = self.draw.summary(self.rows, self.cols)
        return {"conditions": sorted(s.on), "mount": s.mount, "invert": s.invert, "draw": draw}

    def device_info(self) -> dict[str, Any]:
        """The hello packet's JSON body (CONTRACT 2.1)."""
        return {
            "device": self.cushion,
            "fw": FW_VERSION,
            "rows": self.rows,
            "cols": self.cols,
            "max_value": self.max_value,
            "rate_hz": self.rate_hz,
        }

    def new_sensor(self) -> Sensor:
        return Sensor(
            self.rows,
            self.cols,
            np.random.default_rng(self._seeds[3]),
            self.sensor_params,
            max_value=self.max_value,
            rate_hz=self.rate_hz,
        )

    def _segment_poses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start times, and (S, F) matrices of the pose each segment blends from and settles in.

        Sitting down takes the posture at once and only the load grows; standing up keeps
        the posture while the load fades: a body does not glide through "upright" on its way.
        """
        starts = np.cumsum([0.0] + [s.duration_s for s in self.segments])[:-1]
        targets: list[Pose] = []
        froms: list[Pose] = []
        for seg in self.segments:
            tgt = pose_of(seg, self.person.expressiveness)
            src = targets[-1] if targets else tgt  # the first segment starts settled
            if tgt.seat_frac == 0.0 and src.seat_frac > 0.0:  # standing up
                tgt = replace(src, seat_frac=0.0, bag_kg=tgt.bag_kg)
            elif src.seat_frac == 0.0 and tgt.seat_frac > 0.0:  # sitting down
                src = replace(tgt, seat_frac=0.0, bag_kg=src.bag_kg)
            froms.append(src)
            targets.append(tgt)
        return starts, pose_array(froms), pose_array(targets)

    def frames(self) -> Iterator[SimFrame]:
        """Every frame of the scenario, in order (a fresh, identical run on every call).

        Frames are computed CHUNK at a time with numpy; random numbers are always drawn for
        whole chunks, so a shorter run is an exact prefix of a longer one.
        """
        if self.real:
            from .realsim import real_frames

            yield from real_frames(self)
            return
        renderer = ForceRenderer(self.rows, self.cols)
        sensor = self.new_sensor()
        dt = 1.0 / self.rate_hz
        motion = Motion(np.random.default_rng(self._seeds[2]), self.person.fidget, dt)
        starts, froms, targets = self._segment_poses()
        occupied = [s.occupied for s in self.segments]
        postures = [s.label_posture for s in self.segments]
        kinds = [s.kind for s in self.segments]
        n = self.n_frames
        for c0 in range(0, n, CHUNK):
            idx = np.arange(c0, c0 + CHUNK)
            t = idx * dt
            k = np.searchsorted(starts, t + 1e-9, side="right") - 1
            a = np.clip((t - starts[k]) / BLEND_S, 0.0, 1.0)
            a = (a * a * (3.0 - 2.0 * a))[:, None]  # smoothstep
            pose = froms[k] * (1.0 - a) + targets[k] * a
            jit = motion.chunk(t)
            force, share = renderer.render_batch(components(self.person, pose, jit))
            cells = sensor.read_batch(force)
            m = min(CHUNK, n - c0)
            shares = np.round(share[:m], 4).tolist()
            for i in range(m):
                seg = int(k[i])
                occ = occupied[seg]
                # seg / seg_t as in the independent sample recordings: the scripted segment
                # (sit, stand, away, object) and seconds since it began (the first 2 blend)
                label = {
                    "occupied": occ,
                    "posture": postures[seg],
                    "left_share": shares[i] if occ else None,
                    "seg": kinds[seg],
                    "seg_t": round(float(t[i] - starts[seg]), 3),
                }
                yield SimFrame(round(float(t[i]), 6), int(idx[i]) & 0xFFFF, cells[i], label)
