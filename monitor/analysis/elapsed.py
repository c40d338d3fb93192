"""Seconds since the previous frame, as the per-frame state machines of analysis count them."""

from __future__ import annotations


def elapsed(last: float | None, t: float, cap: float) -> float:
    """t - last within [0, cap]; 0 for the first frame. A gap in the input must not jump state."""
    if last is None:
        return 0.0
    dt = t - last
    # min(max(dt, 0.0), cap) written out: this runs several times a frame (NaN passes as it did)
    if dt < 0.0:
        return 0.0
    if cap < dt:
        return cap
    return dt
