"""Who and what is on the seat under real-cushion physics: people, sessions, bags and cats.

- people: sitters of 40-140 kg (adult body mass spans about that), each with a natural
  left/right load bias (pelvic obliquity and leg dominance shift a few per cent of the
  seat load to one side in healthy sitters) and a personal expressiveness of 0.5-1.05, so
  some people's leans and crosses are weak.
- session: a seeded ~15-minute session like the independent real-physics samples: an
  empty seat, upright sitting, a few other postures, a break that may leave a bag.
- cat: a 3-5 kg cat on the empty seat that lies (a soft round blob) or stands and walks
  (four paws), moves about, and may hang partly off the cushion; labelled `empty` with
  seg `cat`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .body import GAUSS, SEAT_CM, Person
from .physics import CushionDraw
from .scenario import SEATED, Segment

G = 9.81


def real_person(person: Person, draw: CushionDraw, weight_given: bool) -> Person:
    """The default person's draw with the people condition's weight and expressiveness."""
    w = person.weight_kg if weight_given or draw.weight_kg is None else draw.weight_kg
    size = (w / 75.0) ** 0.35
    old = (person.weight_kg / 75.0) ** 0.35
    return replace(
        person,
        weight_kg=w,
        thigh_spacing=person.thigh_spacing * (size / old) ** 0.5,
        spread=person.spread * size / old,
        expressiveness=draw.expressiveness if draw.expressiveness is not None else person.expressiveness,
    )


def apply_asymmetry(poses: np.ndarray, fields: tuple[str, ...], draw: CushionDraw) -> np.ndarray:
    """Poses (N, F) with the sitter's natural left/right bias added (seated poses only)."""
    out = poses.copy()
    f = {n: i for i, n in enumerate(fields)}
    seated = out[:, f["seat_frac"]] > 0
    a, t = draw.asymmetry, draw.thigh_asymmetry
    out[seated, f["pelvis_l"]] *= 1.0 - a
    out[seated, f["pelvis_r"]] *= 1.0 + a
    out[seated, f["thigh_l"]] *= 1.0 - t
    out[seated, f["thigh_r"]] *= 1.0 + t
    return out


def generate_session(
    rng: np.random.Generator, minutes: float = 15.0, bag_chance: float = 0.5, postures: int | None = None
) -> list[Segment]:
    """A ~`minutes` session: away, upright, 2-4 other postures between upright stretches,
    a break (maybe with a bag on the seat), more sitting."""
    total = minutes * 60.0
    others = [p for p in SEATED if p != "upright"]
    k = int(postures if postures is not None else rng.integers(2, 5))
    chosen = [others[i] for i in rng.permutation(len(others))[:k]]
    segs = [Segment("away", round(float(rng.uniform(15, 40)), 1))]
    t = segs[0].duration_s
    brk_at = total * float(rng.uniform(0.4, 0.6))
    had_break = False
    queue = list(chosen)
    while t < total:
        if not had_break and t >= brk_at:
            d = float(rng.uniform(60, 180))
            if rng.random() < bag_chance:
                edge = 15.0
                segs += [
                    Segment("away", edge),
                    Segment("object", round(d - 2 * edge, 1), object_kg=round(float(rng.uniform(0.8, 4.5)), 1)),
                    Segment("away", edge),
                ]
            else:
                segs.append(Segment("away", round(d, 1)))
            t += d
            had_break = True
            continue
        d = float(rng.uniform(60, 150))
        segs.append(Segment("sit", round(d, 1), "upright"))
        t += d
        if queue and t < total:
            p = queue.pop(0)
            d = float(rng.uniform(60, 180))
            segs.append(Segment("sit", round(d, 1), p, round(float(np.clip(rng.normal(1.0, 0.15), 0.6, 1.3)), 2)))
            t += d
    return segs


def add_cats(segments: list[Segment], rng: np.random.Generator, draw: CushionDraw) -> list[Segment]:
    """Away stretches of >= 40 s get a cat in their middle with probability draw.cat_chance."""
    out: list[Segment] = []
    for s in segments:
        if s.kind == "away" and s.duration_s >= 40.0 and rng.random() < draw.cat_chance:
            edge = min(15.0, s.duration_s / 4)
            out += [
                Segment("away", edge),
                Segment("cat", s.duration_s - 2 * edge, object_kg=draw.cat_kg),
                Segment("away", edge),
            ]
        else:
            out.append(s)
    return out


N_CAT = 5  # components: the lying body, four paws


class CatMotion:
    """A cat's load on the seat, frame by frame: it lies curled (one soft blob) or stands and
    walks (four paws, the weight ~60 % on the front pair), wandering within the seat and
    sometimes hanging partly over its edge."""

    def __init__(self, rng: np.random.Generator, rate_hz: float):
        self.rng, self.dt = rng, 1.0 / rate_hz
        self.x, self.y = SEAT_CM / 2, SEAT_CM / 2
        self.heading = 0.0
        self.lying = False
        self.vx = self.vy = 0.0
        self.gx, self.gy = self.x, self.y  # where it is heading

    def reset(self) -> None:
        r = self.rng
        self.x, self.y = float(r.uniform(8, 32)), float(r.uniform(8, 32))
        self.gx, self.gy = self.x, self.y
        self.heading = float(r.uniform(0, 2 * math.pi))
        self.lying = bool(r.random() < 0.3)

    def step_batch(self, kg: np.ndarray, fresh: np.ndarray) -> tuple[np.ndarray, ...]:
        """(B, N_CAT) force (N), x centre, x sigma, y centre, y sigma, for the cat's weight
        `kg` (B,) in each frame (0: no cat); `fresh` marks frames where a cat segment starts."""
        B = kg.shape[0]
        force = np.zeros((B, N_CAT))
        xa, ya = np.zeros((B, N_CAT)), np.zeros((B, N_CAT))
        xb, yb = np.ones((B, N_CAT)), np.ones((B, N_CAT))
        z = self.rng.standard_normal((B, 4)).tolist()
        u = self.rng.random((B, 2)).tolist()
        for i in range(B):
            if fresh[i]:
                self.reset()
            if kg[i] <= 0:
                continue
            # lying spells last ~2 min, standing and walking ~20 s
            if u[i][0] < self.dt / (120.0 if self.lying else 20.0):
                self.lying = not self.lying
            if not self.lying:
                if u[i][1] < self.dt / 6.0:  # a new spot to walk to, now and then
                    self.gx, self.gy = self.x + 12 * z[i][2], self.y + 12 * z[i][3]
                    self.gx, self.gy = float(np.clip(self.gx, 2, 38)), float(np.clip(self.gy, 2, 38))
                self.vx += self.dt * (0.8 * (self.gx - self.x) - 2.0 * self.vx) + 2.0 * math.sqrt(self.dt) * z[i][0]
                self.vy += self.dt * (0.8 * (self.gy - self.y) - 2.0 * self.vy) + 2.0 * math.sqrt(self.dt) * z[i][1]
                self.x += self.dt * self.vx
                self.y += self.dt * self.vy
                if abs(self.vx) + abs(self.vy) > 1.0:
                    self.heading = math.atan2(self.vy, self.vx)
            else:
                self.vx = self.vy = 0.0
                self.x += 0.05 * math.sqrt(self.dt) * z[i][0]
                self.y += 0.05 * math.sqrt(self.dt) * z[i][1]
            w = kg[i] * G
            if self.lying:
                force[i, 0] = w
                xa[i, 0], ya[i, 0] = self.x, self.y
                xb[i, 0] = yb[i, 0] = 5.5
            else:
                c, s = math.cos(self.heading), math.sin(self.heading)
                # paws: front pair 9 cm ahead of the centre, hind pair 9 cm behind, 3.5 cm apart
                gait = 0.15 * math.sin(2 * math.pi * 1.5 * i * self.dt) if abs(self.vx) + abs(self.vy) > 1.0 else 0.0
                for j, (along, side, share) in enumerate(
                    ((9, 3.5, 0.3 + gait), (9, -3.5, 0.3 - gait), (-9, 3.5, 0.2 - gait), (-9, -3.5, 0.2 + gait))
                ):
                    force[i, 1 + j] = w * share
                    xa[i, 1 + j] = self.x + c * along - s * side
                    ya[i, 1 + j] = self.y + s * along + c * side
                    xb[i, 1 + j] = yb[i, 1 + j] = 1.3
        return force, xa, xb, ya, yb


CAT_KINDS = np.full(N_CAT, GAUSS)
