"""Real-cushion physics: which conditions are on, and one cushion's parameters drawn from a seed.

A condition is one way a real mat differs from the project's default simulated cushion
(docs/simulator.md, "Real-cushion physics"). Each can be switched on alone, all together
(`real`), or all but some (`real,-crosstalk`); a condition that is off behaves as the
default simulator does. Every parameter of every condition is always drawn, in a fixed
order, from the physics stream of the seed, so switching one condition off leaves the
others' draws unchanged: a per-condition comparison changes one thing at a time.

Spec syntax (the `--physics` option; a scenario's `[physics]` table says the same):
    real | all         every condition
    off | none         no condition (the default)
    NAME               that condition on          -NAME   that condition off
    KEY=VALUE          set one drawn parameter (and switch its condition on),
                       e.g. angle_deg=10, creep=0.19, broken=row:3, broken=none
Mounting faults are separate options: `mount` (none | rotate90 | rotate180 | rotate270 |
mirror) and `invert` (lower reading = more pressure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

CONDITIONS = (
    "placement",  # the cushion rotated, shifted and sized under the sitter
    "response",  # FSR/Velostat power-law, saturating divider read-out
    "gain",  # per-cell gain spread up to ~25 %
    "crosstalk",  # passive-matrix ghost load along rows and columns
    "creep",  # creep under constant load, hysteresis on unloading
    "drift",  # offset (and sensitivity) drift with the mat's temperature
    "traces",  # a broken row or column trace, dead and stuck cells
    "timing",  # jittered frame times, lost stretches of frames
    "people",  # sitters of 40-140 kg, left/right asymmetry, weak postures
    "cat",  # a moving cat on the empty seat now and then
    "hardware",  # grid, frame rate and full scale drawn (8x8..32x32, 2-50 Hz, 9..4095)
)
MOUNTS = ("none", "rotate90", "rotate180", "rotate270", "mirror")

# hardware draws: what cheap and clinical seat mats come as
GRIDS = ((8, 8), (10, 10), (12, 12), (16, 16), (20, 20), (24, 24), (32, 32), (10, 15), (12, 20), (15, 10))
FULL_SCALES = (9, 255, 1023, 4095)
RATES_HZ = (2.0, 4.0, 5.0, 8.0, 10.0, 12.5, 15.0, 20.0, 25.0, 40.0, 50.0)


class PhysicsSpecError(ValueError):
    """A physics spec (option or scenario table) that cannot be used; says what and why."""


@dataclass(frozen=True, slots=True)
class CushionDraw:
    """Every drawn parameter of one real cushion, its sitter and its link (see docs/simulator.md)."""

    # placement: the cushion's pose under the sitter (sitter frame: x right, y back, cm)
    angle_deg: float = 0.0
    shift_x_cm: float = 0.0
    shift_y_cm: float = 0.0
    width_cm: float = 40.0
    depth_cm: float = 40.0
    # response: divider read-out of a power-law conductance, G = ((p - p_act) / p_half) ** exponent
    exponent: float = 1.0
    half_kpa: float = 60.0  # the pressure that reads half of full scale
    act_kpa: float = 0.0  # actuation threshold: below it the cell does not conduct
    # gain: per-cell multiplicative spread of the conductance (lognormal sigma)
    gain_sd: float = 0.08
    # crosstalk: ghost fraction of the load added along rows x columns
    crosstalk: float = 0.0
    # creep and hysteresis
    creep: float = 0.03  # fraction a constant load's reading rises ...
    creep_tau_s: float = 60.0  # ... approached with this time constant
    hysteresis: float = 0.0  # fraction of a released load still read just after unloading ...
    hysteresis_tau_s: float = 20.0  # ... fading with this time constant
    # drift: the mat warms under a sitter and its offset and sensitivity follow
    warm_c: float = 0.0  # degrees C a seated body warms the mat
    warm_tau_s: float = 600.0
    offset_per_c: float = 0.0  # offset drift, fraction of full scale per degree C (mean over cells)
    gain_per_c: float = 0.0  # sensitivity change per degree C (FSRs conduct better warm)
    # traces
    broken: str = "none"  # "row:I", "col:J" or "none": a whole dead row or column
    dead_fraction: float = 0.02
    stuck_fraction: float = 0.003
    # timing
    jitter: float = 0.0  # frame-time jitter, standard deviation as a fraction of the frame period
    gap_per_min: float = 0.0  # lost stretches of frames per minute ...
    gap_max_s: float = 3.0  # ... each 0.3 s up to this long
    # people
    weight_kg: float | None = None  # None: the default person's draw
    asymmetry: float = 0.0  # + the sitter's natural load bias to the right (pelvis balance)
    thigh_asymmetry: float = 0.0  # + the right thigh carries more
    expressiveness: float | None = None  # how far this person leans, crosses, slouches (weak < 1)
    # cat
    cat_chance: float = 0.0  # chance that an away stretch of >= 40 s has a cat on the seat
    cat_kg: float = 4.0
    # hardware
    rows: int | None = None
    cols: int | None = None
    rate_hz: float | None = None
    max_value: int | None = None

    def summary(self, rows: int, cols: int) -> dict[str, Any]:
        """The drawn parameters as plain JSON values (rounded), for the recording header;
        the broken trace as it falls on a rows x cols grid."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            out[k] = round(v, 4) if isinstance(v, float) else v
        trace = broken_trace(self, rows, cols)
        out["broken"] = f"{trace[0]}:{trace[1]}" if trace else "none"
        return out


# which condition each parameter belongs to (setting one switches the condition on)
PARAM_CONDITION: dict[str, str] = {
    **dict.fromkeys(("angle_deg", "shift_x_cm", "shift_y_cm", "width_cm", "depth_cm"), "placement"),
    **dict.fromkeys(("exponent", "half_kpa", "act_kpa"), "response"),
    "gain_sd": "gain",
    "crosstalk": "crosstalk",
    **dict.fromkeys(("creep", "creep_tau_s", "hysteresis", "hysteresis_tau_s"), "creep"),
    **dict.fromkeys(("warm_c", "warm_tau_s", "offset_per_c", "gain_per_c"), "drift"),
    **dict.fromkeys(("broken", "dead_fraction", "stuck_fraction"), "traces"),
    **dict.fromkeys(("jitter", "gap_per_min", "gap_max_s"), "timing"),
    **dict.fromkeys(("weight_kg", "asymmetry", "thigh_asymmetry", "expressiveness"), "people"),
    **dict.fromkeys(("cat_chance", "cat_kg"), "cat"),
    **dict.fromkeys(("rows", "cols", "rate_hz", "max_value"), "hardware"),
}
_LIMITS: dict[str, tuple[float, float]] = {
    "angle_deg": (-180, 180),
    "shift_x_cm": (-10, 10),
    "shift_y_cm": (-10, 10),
    "width_cm": (20, 70),
    "depth_cm": (20, 70),
    "exponent": (0.2, 3),
    "half_kpa": (1, 1000),
    "act_kpa": (0, 10),
    "gain_sd": (0, 1),
    "crosstalk": (0, 0.5),
    "creep": (0, 1),
    "creep_tau_s": (1, 36000),
    "hysteresis": (0, 0.5),
    "hysteresis_tau_s": (0.1, 3600),
    "warm_c": (0, 30),
    "warm_tau_s": (1, 36000),
    "offset_per_c": (-0.05, 0.05),
    "gain_per_c": (-0.05, 0.05),
    "dead_fraction": (0, 0.5),
    "stuck_fraction": (0, 0.2),
    "jitter": (0, 0.45),
    "gap_per_min": (0, 60),
    "gap_max_s": (0.3, 600),
    "weight_kg": (30, 200),
    "asymmetry": (-0.3, 0.3),
    "thigh_asymmetry": (-0.5, 0.5),
    "expressiveness": (0.1, 2),
    "cat_chance": (0, 1),
    "cat_kg": (1, 10),
    "rows": (4, 64),
    "cols": (4, 64),
    "rate_hz": (1, 100),
    "max_value": (1, 65535),
}


@dataclass(frozen=True, slots=True)
class PhysicsSpec:
    """Which conditions are on, parameters set by hand, and mounting faults."""

    on: frozenset[str] = frozenset()
    params: dict[str, Any] = field(default_factory=dict)
    mount: str = "none"
    invert: bool = False

    @property
    def active(self) -> bool:
        return bool(self.on) or self.mount != "none" or self.invert

    def with_tokens(self, spec: str | None) -> PhysicsSpec:
        """This spec with the comma-separated tokens of `spec` applied in order."""
        if not spec:
            return self
        on, params = set(self.on), dict(self.params)
        for tok in (t.strip() for t in spec.split(",")):
            if not tok:
                continue
            if tok in ("real", "all"):
                on |= set(CONDITIONS)
            elif tok in ("off", "none"):
                on.clear()
                params.clear()
            elif "=" in tok:
                key, _, val = tok.partition("=")
                key = key.strip()
                params[key] = _param_value(key, val.strip())
                on.add(PARAM_CONDITION[key])
            elif tok.startswith("-") and tok[1:] in CONDITIONS:
                on.discard(tok[1:])
            elif tok in CONDITIONS:
                on.add(tok)
            else:
                raise PhysicsSpecError(
                    f"unknown physics condition {tok!r} (known: real, off, {', '.join(CONDITIONS)}, "
                    f"-NAME to switch one off, KEY=VALUE to set a parameter)"
                )
        return replace(self, on=frozenset(on), params=params)

    def with_mount(self, mount: str | None = None, invert: bool | None = None) -> PhysicsSpec:
        m = self.mount if mount is None else mount
        if m not in MOUNTS:
            raise PhysicsSpecError(f"mount must be one of {', '.join(MOUNTS)}, got {m!r}")
        return replace(self, mount=m, invert=self.invert if invert is None else bool(invert))


def _param_value(key: str, raw: Any) -> Any:
    if key not in PARAM_CONDITION:
        raise PhysicsSpecError(f"unknown physics parameter {key!r} (known: {', '.join(sorted(PARAM_CONDITION))})")
    if key == "broken":
        s = str(raw).strip()
        kind, _, idx = s.partition(":")
        if s != "none" and not (kind in ("row", "col") and idx.isdigit()):
            raise PhysicsSpecError(f"broken must be row:I, col:J or none, got {s!r}")
        return s
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise PhysicsSpecError(f"physics parameter {key} must be a number, got {raw!r}") from None
    lo, hi = _LIMITS[key]
    if not lo <= v <= hi:
        raise PhysicsSpecError(f"physics parameter {key} must be in {lo:g}..{hi:g}, got {v:g}")
    if key in ("rows", "cols", "max_value"):
        return int(v)
    return v


def parse_physics(spec: str | None, mount: str | None = None, invert: bool | None = None) -> PhysicsSpec:
    """A PhysicsSpec from option values, e.g. parse_physics("real,-crosstalk", mount="rotate180")."""
    return PhysicsSpec().with_tokens(spec).with_mount(mount, invert)


def spec_from_table(table: dict[str, Any], where: str) -> PhysicsSpec:
    """A scenario's [physics] table: preset, on / off lists, mount, invert, any parameter."""
    if not isinstance(table, dict):
        raise PhysicsSpecError(f"{where}: [physics] must be a table")
    t = dict(table)
    spec = PhysicsSpec()
    try:
        preset = t.pop("preset", "off")
        if preset not in ("real", "all", "off", "none"):
            raise PhysicsSpecError(f"preset must be real or off, got {preset!r}")
        tokens = [str(preset)]
        for key, sign in (("on", ""), ("off", "-")):
            names = t.pop(key, [])
            if not isinstance(names, list) or any(n not in CONDITIONS for n in names):
                raise PhysicsSpecError(f"{key} must be a list of conditions ({', '.join(CONDITIONS)}), got {names!r}")
            tokens += [sign + n for n in names]
        spec = spec.with_tokens(",".join(tokens))
        mount, invert = t.pop("mount", None), t.pop("invert", None)
        if invert is not None and not isinstance(invert, bool):
            raise PhysicsSpecError(f"invert must be true or false, got {invert!r}")
        spec = spec.with_mount(mount, invert)
        params = dict(spec.params)
        on = set(spec.on)
        for key, val in t.items():
            params[key] = _param_value(key, val)
            on.add(PARAM_CONDITION[key])
        return replace(spec, on=frozenset(on), params=params)
    except PhysicsSpecError as e:
        raise PhysicsSpecError(f"{where}: [physics] {e}") from None


def draw_cushion(rng: np.random.Generator, spec: PhysicsSpec) -> CushionDraw:
    """One cushion's parameters: drawn for every condition, kept only where it is on.

    The draws always happen in the same order, so the seed fixes every condition's values
    whichever are switched on; hand-set parameters replace the drawn ones.
    """
    u = rng.uniform(0.0, 1.0, 40).tolist()  # fixed budget: new parameters take unused slots
    drawn: dict[str, Any] = {
        "angle_deg": -12.0 + 24.0 * u[0],
        "shift_x_cm": -5.0 + 10.0 * u[1],
        "shift_y_cm": -5.0 + 10.0 * u[2],
        "width_cm": 36.0 + 12.0 * u[3],
        "depth_cm": 36.0 + 12.0 * u[4],
        # Velostat and FSR fits: R ~ F^-n with n ~ 0.5 (soft Velostat stacks) .. 1.2 (FSR 400)
        "exponent": 0.5 + 0.7 * u[5],
        # a 75 kg sitter's upright sit-bone peak (~40 kPa in this body model) reads 45-85 % of full scale
        "half_kpa": 40.0 / _odds(0.45 + 0.4 * u[6]) ** (1.0 / (0.5 + 0.7 * u[5])),
        "act_kpa": 0.1 + 0.6 * u[7],
        "gain_sd": 0.04 + 0.21 * u[8],
        "crosstalk": 0.01 + 0.11 * u[9],
        "creep": 0.12 + 0.14 * u[10],  # around the ~19 % of clinical mats
        "creep_tau_s": 180.0 + 300.0 * u[11],
        "hysteresis": 0.05 + 0.07 * u[12],  # FSR 400 datasheet: +10 % average
        "hysteresis_tau_s": 10.0 + 50.0 * u[13],
        "warm_c": 5.0 + 7.0 * u[14],
        "warm_tau_s": 300.0 + 900.0 * u[15],
        "offset_per_c": (0.0005 + 0.0025 * u[16]) * (1.0 if u[17] < 0.75 else -1.0),
        "gain_per_c": 0.001 + 0.004 * u[18],
        "broken": ("none" if u[19] < 0.45 else ("row:" if u[20] < 0.5 else "col:") + str(int(u[21] * 1e6))),
        "dead_fraction": 0.04 * u[22],
        "stuck_fraction": 0.012 * u[23],
        "jitter": 0.03 + 0.09 * u[24],
        "gap_per_min": 0.2 + 1.6 * u[25],
        "gap_max_s": 1.0 + 3.0 * u[26],
        "weight_kg": 40.0 + 100.0 * u[27],
        "asymmetry": float(np.clip((u[28] - 0.5) * 0.16, -0.08, 0.08)),
        "thigh_asymmetry": (u[29] - 0.5) * 0.3,
        "expressiveness": 0.5 + 0.55 * u[30],
        "cat_chance": 0.6,
        "cat_kg": 3.0 + 2.0 * u[31],
        "rows": GRIDS[int(u[32] * len(GRIDS))][0],
        "cols": GRIDS[int(u[32] * len(GRIDS))][1],
        "rate_hz": RATES_HZ[int(u[33] * len(RATES_HZ))],
        "max_value": FULL_SCALES[int(u[34] * len(FULL_SCALES))],
    }
    default = CushionDraw()
    kept = {}
    for f in fields(CushionDraw):
        if PARAM_CONDITION[f.name] in spec.on:
            kept[f.name] = spec.params.get(f.name, drawn[f.name])
        else:
            kept[f.name] = getattr(default, f.name)
    return CushionDraw(**kept)


def _odds(frac: float) -> float:
    return frac / (1.0 - frac)


def broken_trace(draw: CushionDraw, rows: int, cols: int) -> tuple[str, int] | None:
    """("row", i) or ("col", j) of the broken trace on this grid, or None."""
    if draw.broken == "none":
        return None
    kind, _, idx = draw.broken.partition(":")
    n = rows if kind == "row" else cols
    return kind, int(idx) % n
