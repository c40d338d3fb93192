"""Occupancy on a real mat: the print a sitter leaves behind, a cat on it, the sitter back."""

from __future__ import annotations

import numpy as np

from monitor.analysis.occupancy import Occupancy


def feed(occ: Occupancy, t0: float, seconds: float, level, rate: float = 10.0) -> list[bool]:
    """Feed `seconds` of frames at `rate`; `level` is a number or a function of the time."""
    out = []
    for t in np.arange(t0, t0 + seconds, 1.0 / rate):
        out.append(occ.update(float(t), level(t) if callable(level) else level))
    return out


def test_a_fading_print_and_a_warm_mat_read_empty_and_a_cat_on_them_too():
    occ = Occupancy(8.0)
    assert not any(feed(occ, 0.0, 10.0, 0.0))
    assert all(feed(occ, 10.0, 120.0, 0.2)[10:])  # sat down: present within a second
    # Got up: a print of 35 % of the sitter's level is left, fading slowly (hysteresis, warmth).
    left = feed(occ, 130.0, 60.0, lambda t: 0.07 * np.exp(-(t - 130.0) / 300.0))
    assert not any(left[20:])  # absent within 2 s, and stays so although 0.07 >> threshold
    # A 4 kg cat jumps on the warm print (a tenth of the sitter's level), then leaves.
    cat = feed(occ, 190.0, 120.0, lambda t: 0.065 + 0.02 * (t < 250.0))
    assert not any(cat)
    # The same person sits down again: present at once.
    assert all(feed(occ, 310.0, 30.0, 0.2)[10:])


def test_a_bag_left_on_a_known_cushion_is_not_a_sitter():
    occ = Occupancy(8.0)
    feed(occ, 0.0, 10.0, 0.0)
    feed(occ, 10.0, 300.0, 0.12)  # a sitter teaches the cushion what people read
    feed(occ, 310.0, 120.0, 0.0)  # gone for two minutes: forgotten as this sitter
    assert not any(feed(occ, 430.0, 120.0, 0.025))  # a bag above the configured threshold
    assert all(feed(occ, 550.0, 30.0, 0.1)[10:])  # someone lighter than the first sits down


def test_a_sitter_who_perches_or_leans_stays_present():
    occ = Occupancy(8.0)
    feed(occ, 0.0, 5.0, 0.0)
    feed(occ, 5.0, 60.0, 0.1)
    assert all(feed(occ, 65.0, 60.0, 0.06))  # 60 % of their level (perched forward)
