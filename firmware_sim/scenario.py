"""Scenarios: what happens on the seat, segment by segment (TOML files, docs/simulator.md).

A scenario is a list of segments plus optional `person` and `sensor` tables, or a
`[random]` table naming a generator (`workday`) whose segments are drawn from the
simulator's seed, so `workday` with seed 1 and seed 2 are two different, repeatable days.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .body import pose_for

DEFAULT_START = "2026-11-24T09:00:00Z"  # recordings are reproducible: no wall-clock start
SEGMENT_KINDS = ("sit", "stand", "away", "object", "cat")
SEATED = ("upright", "lean_left", "lean_right", "cross_left", "cross_right", "slouch", "forward")


class ScenarioError(ValueError):
    """A scenario file or name that cannot be used; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str = "sit"  # sit | stand | away | object | cat
    duration_s: float = 60.0
    posture: str = "upright"  # for sit; empty otherwise
    intensity: float = 1.0  # 0 = upright .. 1 typical .. 1.5 strong
    object_kg: float = 3.0  # object: a light bag (< 5 kg keeps the seat "empty"); cat: its weight

    def __post_init__(self) -> None:
        if self.kind != "sit":  # nobody seated: the posture is "empty" whatever was passed
            object.__setattr__(self, "posture", "empty")

    @property
    def occupied(self) -> bool:
        return self.kind == "sit"

    @property
    def label_posture(self) -> str:
        return self.posture if self.kind == "sit" else "empty"


@dataclass(slots=True)
class Scenario:
    name: str
    description: str = ""
    segments: list[Segment] = field(default_factory=list)
    person: dict[str, Any] = field(default_factory=dict)  # weight_kg, offset_cm, fidget
    sensor: dict[str, Any] = field(default_factory=dict)  # rows, cols, rate_hz, max_value, noise ...
    random: dict[str, Any] | None = None  # generator spec, e.g. {"kind": "workday", "hours": 8}
    start: str = DEFAULT_START
    physics: dict[str, Any] = field(default_factory=dict)  # the [physics] table (physics.spec_from_table)

    def expand(self, rng: np.random.Generator) -> list[Segment]:
        """The concrete segments for one run (drawn from rng for generated scenarios)."""
        if self.random is None:
            return list(self.segments)
        spec = dict(self.random)
        kind = spec.pop("kind", "workday")
        if kind == "session":
            from .population import generate_session  # population builds on this module

            return list(self.segments) + generate_session(rng, **spec)
        if kind != "workday":
            raise ScenarioError(f"{self.name}: unknown random generator {kind!r} (known: workday, session)")
        return list(self.segments) + generate_workday(rng, **spec)

    def duration_s(self, rng: np.random.Generator) -> float:
        return sum(s.duration_s for s in self.expand(rng))


def _segment(raw: dict[str, Any], where: str) -> Segment:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a segment must be a table, got {raw!r}")
    unknown = set(raw) - {"kind", "duration_s", "posture", "intensity", "object_kg"}
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    kind = raw.get("kind", "sit")
    if kind not in SEGMENT_KINDS:
        raise ScenarioError(f"{where}: kind must be one of {SEGMENT_KINDS}, got {kind!r}")
    posture = raw.get("posture", "upright" if kind == "sit" else "empty")
    if kind == "sit" and posture not in SEATED:
        raise ScenarioError(f"{where}: posture must be one of {SEATED}, got {posture!r}")
    try:
        duration = float(raw["duration_s"])
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(f"{where}: duration_s (seconds > 0) is required") from None
    if not duration > 0:
        raise ScenarioError(f"{where}: duration_s must be > 0, got {duration}")
    intensity = float(raw.get("intensity", 1.0))
    if not 0 <= intensity <= 2:
        raise ScenarioError(f"{where}: intensity must be in 0..2, got {intensity}")
    object_kg = float(raw.get("object_kg", 4.0 if kind == "cat" else 3.0))
    if kind == "cat" and not 1 <= object_kg <= 10:
        raise ScenarioError(f"{where}: a cat's object_kg must be in 1..10, got {object_kg}")
    if kind != "cat" and not 0 < object_kg < 5:
        raise ScenarioError(f"{where}: object_kg must be in (0, 5), got {object_kg}")
    return Segment(kind, duration, posture if kind == "sit" else "empty", intensity, object_kg)


def parse_scenario(data: dict[str, Any], name: str) -> Scenario:
    """A Scenario from a parsed TOML document; raises ScenarioError naming the bad key."""
    known = {"name", "description", "segments", "person", "sensor", "random", "start", "physics"}
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(f"{name}: unknown top-level keys {sorted(unknown)} (known: {sorted(known)})")
    segs = [_segment(s, f"{name}: segments[{i}]") for i, s in enumerate(data.get("segments", []))]
    rnd = data.get("random")
    if not segs and rnd is None:
        raise ScenarioError(f"{name}: needs [[segments]] or a [random] table")
    person = dict(data.get("person", {}))
    bad = set(person) - {"weight_kg", "offset_cm", "fidget"}
    if bad:
        raise ScenarioError(f"{name}: unknown [person] keys {sorted(bad)}")
    if "weight_kg" in person and not 30 <= float(person["weight_kg"]) <= 200:
        raise ScenarioError(f"{name}: person.weight_kg must be in 30..200")
    if "offset_cm" in person:
        off = person["offset_cm"]
        if not (isinstance(off, list) and len(off) == 2 and all(abs(float(v)) <= 10 for v in off)):
            raise ScenarioError(f"{name}: person.offset_cm must be [x, y] with |v| <= 10 cm")
    sensor = dict(data.get("sensor", {}))
    bad = set(sensor) - SENSOR_KEYS
    if bad:
        raise ScenarioError(f"{name}: unknown [sensor] keys {sorted(bad)} (known: {sorted(SENSOR_KEYS)})")
    return Scenario(
        name=str(data.get("name", name)),
        description=str(data.get("description", "")),
        segments=segs,
        person=person,
        sensor=sensor,
        random=dict(rnd) if rnd is not None else None,
        start=str(data.get("start", DEFAULT_START)),
        physics=_physics_table(data.get("physics", {}), name),
    )


def _physics_table(table: Any, name: str) -> dict[str, Any]:
    """The [physics] table, checked now so a bad key is reported when the scenario loads."""
    from .physics import PhysicsSpecError, spec_from_table

    try:
        spec_from_table(table, name)
    except PhysicsSpecError as e:
        raise ScenarioError(str(e)) from None
    return dict(table)


SENSOR_KEYS = {
    "rows",
    "cols",
    "rate_hz",
    "max_value",
    "noise",
    "noise_rel",
    "gain_spread",
    "offset_mean",
    "offset_sd",
    "dead_fraction",
    "stuck_fraction",
    "drift",
    "counts_per_kpa",
}


def builtin_names() -> list[str]:
    folder = resources.files("firmware_sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """A named built-in scenario (`workday`, `tour`, ...) or a TOML file."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text: str
    label = str(name_or_path)
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"scenario file not found: {path}")
        text = path.read_text(encoding="utf-8")
        label = path.stem
    else:
        res = resources.files("firmware_sim") / "scenarios" / f"{label}.toml"
        if not res.is_file():
            raise ScenarioError(f"unknown scenario {label!r}; built-in: {', '.join(builtin_names())}, or a .toml file")
        text = res.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{label}: not valid TOML: {e}") from None
    return parse_scenario(data, label)


def generate_workday(
    rng: np.random.Generator,
    hours: float = 8.0,
    spell_min: tuple[float, float] | list[float] = (15.0, 50.0),
    break_min: tuple[float, float] | list[float] = (2.0, 15.0),
    lunch_min: float = 40.0,
    posture_min: tuple[float, float] | list[float] = (1.0, 12.0),
    stand_chance: float = 0.25,
    bag_chance: float = 0.15,
) -> list[Segment]:
    """A working day: spells of sitting with posture changes and short stands, breaks between.

    Upright dominates, other postures come in runs of a few minutes (long enough to trigger
    reminders now and then); short stands (< 60 s) stay inside a spell, breaks end it.
    """
    posture_p = np.array([0.42, 0.09, 0.09, 0.09, 0.09, 0.14, 0.08])
    posture_p = posture_p / posture_p.sum()
    total = hours * 3600.0
    segs: list[Segment] = [Segment("away", float(rng.uniform(20, 90)), "empty")]
    t = segs[0].duration_s
    lunch_done = False
    while t < total:
        spell = float(rng.uniform(*spell_min)) * 60.0
        spell = min(spell, max(60.0, total - t))
        end = t + spell
        while t < end:
            if rng.random() < stand_chance * 0.15 and t > segs[-1].duration_s:
                d = float(rng.uniform(8, 45))  # a short stand (reach a shelf, stretch)
                segs.append(Segment("stand", d, "empty"))
                t += d
                continue
            posture = str(SEATED[int(rng.choice(len(SEATED), p=posture_p))])
            if segs[-1].kind == "sit" and posture == segs[-1].posture:
                posture = "upright" if posture != "upright" else str(SEATED[1 + int(rng.integers(len(SEATED) - 1))])
            d = float(rng.uniform(*posture_min)) * 60.0
            if posture != "upright":
                d *= 0.7
            d = min(d, end - t) if end - t > 20 else d
            intensity = float(np.clip(rng.normal(1.0, 0.15), 0.6, 1.4)) if posture != "upright" else 1.0
            segs.append(Segment("sit", round(d, 1), posture, round(intensity, 2)))
            t += d
        if t >= total:
            break
        if not lunch_done and t > total * 0.45:
            d = lunch_min * 60.0 * float(rng.uniform(0.8, 1.2))
            lunch_done = True
        else:
            d = float(rng.uniform(*break_min)) * 60.0
        if rng.random() < bag_chance:
            first = min(20.0, d / 3)
            segs.append(Segment("away", round(first, 1), "empty"))
            bag_kg = round(float(rng.uniform(1, 4.5)), 1)
            segs.append(Segment("object", round(d - 2 * first, 1), "empty", object_kg=bag_kg))
            segs.append(Segment("away", round(first, 1), "empty"))
        else:
            segs.append(Segment("away", round(d, 1), "empty"))
        t += d
    return segs


def pose_of(seg: Segment, expressiveness: float = 1.0):
    """The body pose a segment settles into (the simulator blends between them)."""
    from dataclasses import replace

    if seg.kind == "sit":
        return pose_for(seg.posture, seg.intensity * expressiveness)
    p = pose_for("empty")
    if seg.kind == "object":
        p = replace(p, bag_kg=seg.object_kg)
    return p
