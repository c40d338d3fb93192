"""The fleet path (monitor/runtime/fleet.py: many cushions' batches, their features stacked
per grid in one call) gives exactly the steps of each cushion's own batch path.

Every shared sample is one cushion (8x8, 10x15, 12x20, four 16x16, 32x32: several grids in one
call, several cushions stacked in one grid); each round every cushion gets a few frames (as
the daemon's queues do), and the two daemons-in-miniature must make the same steps: the same
calibrated loads, readings, states, reminders, spells and breaks. Also a cushion plugged in
with another grid under the same id (the engine made anew mid-run) and the limit on cushions.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pytest

from monitor.codec.recording import RecordingReader
from monitor.config.settings import Settings
from monitor.model import DeviceInfo, Frame
from monitor.runtime.engine import CushionEngine
from monitor.runtime.fleet import process_fleet
from monitor.runtime.slots import Cushions, CushionSlot
from monitor.sinks.base import CushionStep
from monitor.tracker.tracker import CushionTracker

EPOCH = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
FRAMES_PER_SAMPLE = 2500
SETTINGS = Settings()


def _engine(cushion: str, device: DeviceInfo, tracker: CushionTracker | None = None) -> CushionEngine:
    return CushionEngine(cushion, device, SETTINGS.rules, SETTINGS.analysis, EPOCH, tracker=tracker)


def _maker(cushion: str):
    return lambda device, tracker: _engine(cushion, device, tracker)


def _slot(cushion: str, first: Frame) -> CushionSlot:
    rows, cols = first.shape
    return CushionSlot(cushion, _engine(cushion, DeviceInfo(device=cushion, rows=rows, cols=cols,
                                                             max_value=first.max_value)))


def _same(a: CushionStep, b: CushionStep) -> None:
    assert a.frame is b.frame
    assert np.array_equal(a.load, b.load)
    assert repr(a.reading) == repr(b.reading)  # repr: NaN features compare equal
    assert repr(dataclasses.replace(a.update, reminders=[])) == repr(dataclasses.replace(b.update, reminders=[]))
    assert [dataclasses.replace(r, id="") for r in a.reminders] == [dataclasses.replace(r, id="") for r in b.reminders]


def _run_both(streams: dict[str, list[Frame]], seed: int) -> int:
    """Feed both paths the same frames in the same rounds; returns the steps compared."""
    own = {c: _slot(c, frames[0]) for c, frames in streams.items()}
    fleet = {c: _slot(c, frames[0]) for c, frames in streams.items()}
    at = dict.fromkeys(streams, 0)
    rng = np.random.default_rng(seed)
    compared = 0
    while any(at[c] < len(f) for c, f in streams.items()):
        for c, frames in streams.items():
            m = int(rng.integers(0, 13))  # some cushions have nothing due this round
            for f in frames[at[c]:at[c] + m]:
                own[c].queue.append(f)
                fleet[c].queue.append(f)
            at[c] += m
        expected = {c: s.process_some(_maker(c)) for c, s in own.items()}
        got = dict((s.cushion, steps) for s, steps in process_fleet(list(fleet.values()), _maker))
        for c, steps in expected.items():
            assert len(got.get(c, [])) == len(steps), c
            for a, b in zip(steps, got.get(c, []), strict=True):
                _same(a, b)
            compared += len(steps)
    for c in streams:
        assert fleet[c].analysed == own[c].analysed
        assert fleet[c].last_step is not None and fleet[c].last_step.frame is own[c].last_step.frame
    return compared


def test_the_fleet_path_makes_each_cushions_own_steps_on_the_shared_samples(samples_dir):
    streams: dict[str, list[Frame]] = {}
    for path in sorted(samples_dir.glob("*.jsonl.gz")):
        cushion = path.name.split(".")[0]
        with RecordingReader(path, cushion=cushion) as reader:
            frames = []
            for f in reader:
                frames.append(f)
                if len(frames) >= FRAMES_PER_SAMPLE:
                    break
        streams[cushion] = frames
    grids = {f[0].shape for f in streams.values()}
    assert len(streams) >= 6 and len(grids) >= 4  # several grids in one call, several cushions per grid
    assert sum(f[0].shape == (16, 16) for f in streams.values()) >= 2
    assert _run_both(streams, seed=16) == sum(len(f) for f in streams.values())


def test_a_cushion_plugged_in_with_another_grid_is_the_same_on_both_paths(samples_dir):
    with RecordingReader(samples_dir / "tour-16x16.jsonl.gz", cushion="desk-1") as reader:
        first = [f for _, f in zip(range(600), reader, strict=False)]
    with RecordingReader(samples_dir / "small-8x8.jsonl.gz", cushion="desk-1") as reader:
        t0 = first[-1].t + 0.1
        second = [dataclasses.replace(f, t=t0 + f.t) for _, f in zip(range(600), reader, strict=False)]
    with RecordingReader(samples_dir / "day-16x16.jsonl.gz", cushion="desk-2") as reader:
        other = [f for _, f in zip(range(1200), reader, strict=False)]
    assert _run_both({"desk-1": first + second, "desk-2": other}, seed=3) > 1200


def test_the_limit_on_cushions_is_a_validated_setting():
    assert Settings().mqtt.max_cushions >= 1000  # an office floor is accepted by default
    assert Settings(mqtt={"max_cushions": 5000}).mqtt.max_cushions == 5000
    for bad in (0, -1, 10**6):
        with pytest.raises(ValueError, match="max_cushions"):
            Settings(mqtt={"max_cushions": bad})
    slots = Cushions(limit=2)
    frame = Frame("a", 0.0, np.zeros((8, 8), np.uint16), 4095)
    for name in ("a", "b", "c"):
        slots.add(name, lambda n=name: _slot(n, frame))
    assert len(slots) == 2 and slots.refused == 1


def test_calibrating_many_cushions_at_once_is_each_cushions_own_calibration(samples_dir, monkeypatch):
    """monitor/calibration/fleet.py against each cushion's `process_batch`: the same loads, noise
    and learnt state after every round, on cushions of one grid with masked cells, tare steps
    and warm-up; and most batches do go the stacked way."""
    import monitor.calibration.fleet as cal_fleet
    from monitor.calibration.calibrator import Calibrator

    stacked = {"stacked": 0, "own": 0}
    real_stack = cal_fleet._calibrate_stack

    def counting(part):
        out = real_stack(part)
        stacked["stacked"] += sum(b is not None for b in out)
        stacked["own"] += sum(b is None for b in out)
        return out

    monkeypatch.setattr(cal_fleet, "_calibrate_stack", counting)
    streams = []
    for name in ("tour-16x16", "day-16x16", "long-spell-16x16", "real-physics-16x16"):
        with RecordingReader(samples_dir / f"{name}.jsonl.gz", cushion=name) as reader:
            streams.append([f for _, f in zip(range(1500), reader, strict=False)])
    own = [Calibrator(16, 16, s[0].max_value) for s in streams]
    many = [Calibrator(16, 16, s[0].max_value) for s in streams]
    rng = np.random.default_rng(7)
    at = [0] * len(streams)
    while any(a < len(s) for a, s in zip(at, streams, strict=True)):
        picked, times, raws = [], [], []
        for k, s in enumerate(streams):
            m = int(rng.integers(0, 13))
            part = s[at[k]:at[k] + m]
            at[k] += m
            if part:
                picked.append(k)
                times.append(np.array([f.t for f in part]))
                raws.append(np.stack([f.cells for f in part]))
        got = cal_fleet.calibrate_many([many[k] for k in picked], times, raws)
        for k, t, raw, b in zip(picked, times, raws, got, strict=True):
            a = own[k].process_batch(t, raw)
            assert not isinstance(b, Exception)
            assert np.array_equal(a.load, b.load) and np.array_equal(a.noise, b.noise)
            for name in ("offset", "noise_var", "mask", "zero_since", "same_since", "_last_raw"):
                assert np.array_equal(getattr(own[k], name), getattr(many[k], name)), name
            for name in ("noise", "clock", "tared_s", "empty_s", "_tare_pending_s", "_last_t", "_check_bucket"):
                assert getattr(own[k], name) == getattr(many[k], name), name
    assert stacked["stacked"] > 3 * (stacked["own"] + 1)
    assert any(not c.mask.all() for c in many)  # masked cells were on the stacked path too
