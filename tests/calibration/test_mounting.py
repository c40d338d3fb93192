"""calibration/mounting.py: the mapping undoes exactly what a mounting fault does, on every grid
shape, and composes with a mapping already in use; the config model refuses bad values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from monitor.calibration.mounting import (
    ORIENTATIONS,
    Mounting,
    apply_fault,
    compose,
    map_cells,
)
from monitor.config.settings import ConfigError, load_settings

ALL = [Mounting(o, m, i) for o, m, i in itertools.product(ORIENTATIONS, (False, True), (False, True))]


@pytest.mark.parametrize("shape", [(8, 8), (10, 15), (64, 64), (5, 3, 7)])
@pytest.mark.parametrize("mounting", ALL, ids=lambda m: m.describe())
def test_map_undoes_the_fault(shape, mounting):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4096, size=shape, dtype=np.uint16)
    wire = apply_fault(a, mounting, 4095)
    assert wire.shape[-2:] == mounting.wire_shape(*a.shape[-2:])
    back = map_cells(wire, mounting, 4095)
    assert back.dtype == a.dtype and np.array_equal(back, a)


def test_the_faults_are_the_simulators():
    # docs/simulator.md "Mounting faults": the same relations as `sitwell sim --mount`
    a = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert np.array_equal(apply_fault(a, Mounting("rotate180"), 4095), a[::-1, ::-1])
    assert np.array_equal(apply_fault(a, Mounting("rotate90"), 4095), np.rot90(a, 1))
    assert np.array_equal(apply_fault(a, Mounting("rotate270"), 4095), np.rot90(a, -1))
    assert np.array_equal(apply_fault(a, Mounting(mirror=True), 4095), a[:, ::-1])
    assert np.array_equal(apply_fault(a, Mounting(invert=True), 11), 11 - a)


def test_normal_costs_nothing():
    a = np.ones((4, 4), np.uint16)
    assert map_cells(a, Mounting(), 4095) is a


@pytest.mark.parametrize("current", ALL, ids=lambda m: m.describe())
@pytest.mark.parametrize("true", ALL, ids=lambda m: m.describe())
def test_compose_finds_the_setting_from_what_mapped_frames_still_show(current, true):
    a = np.random.default_rng(2).integers(0, 4096, size=(6, 9), dtype=np.uint16)
    wire = apply_fault(a, true, 4095)
    if wire.shape != current.wire_shape(6, 9):
        return  # another grid: such frames would not be this cushion's
    seen = map_cells(wire, current, 4095)
    # what the check would report on `seen`: the fault that turns `a` into it
    found = next(m for m in ALL if apply_fault(a, m, 4095).shape == seen.shape
                 and np.array_equal(apply_fault(a, m, 4095), seen))
    fixed = compose(current, found)
    assert np.array_equal(map_cells(wire, fixed, 4095), a)


def test_config_takes_mounting_per_cushion_and_refuses_nonsense(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mounting]\ninvert = true\n[mounting.cushions.desk-1]\norientation = "rotate180"\n')
    s = load_settings(cfg)
    assert s.mounting.for_cushion("desk-1").orientation == "rotate180"
    assert s.mounting.for_cushion("desk-1").invert is False
    assert s.mounting.for_cushion("other").invert is True
    cfg.write_text('[mounting]\norientation = "sideways"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert "mounting.orientation" in str(err.value) and "rotate180" in str(err.value)
    cfg.write_text('[mounting.cushions."bad id!"]\ninvert = true\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert "cushion ids" in str(err.value)
