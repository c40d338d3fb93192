"""No time that cannot be shown as a date reaches the database.

Frame times come from the wire (untrusted; the device-clock policy in the transport bounds
them, this is the last line): a row is dated `epoch + t`, and a `t` of 1e12 s or a NaN
has no date. Such an update is refused whole (counted in the store's health) instead of
failing every later write with `OverflowError: date value out of range`; a tracker
snapshot holding such a time is neither saved nor, if an older sitwell saved one, loaded.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST_DATE = datetime(1970, 1, 1, tzinfo=UTC)  # unix seconds are kept too: none before
LAST_DATE = datetime(9999, 1, 1, tzinfo=UTC)

# the snapshot's frame times (monitor/tracker/tracker.py CushionTracker.snapshot)
_SNAPSHOT_TIMES = ("last_t", "raw_since", "spell_start", "empty_since", "break_start", "sit_next_due",
                   "paused_until", "warned_for")
_SNAPSHOT_TIME_MAPS = ("last_fired", "snoozed_until")


def wall(epoch: datetime, t: Any) -> datetime | None:
    """`epoch + t` if that is a date between 1970 and 9999, else None."""
    try:
        t = float(t)
        if not math.isfinite(t):
            return None
        when = epoch + timedelta(seconds=t)
    except (TypeError, ValueError, OverflowError):
        return None
    aware = when if when.tzinfo is not None else when.astimezone()
    return when if FIRST_DATE <= aware < LAST_DATE else None


def update_problem(epoch: datetime, update: Any) -> str | None:
    """Why an update's times cannot be dated (None: they can)."""
    times: list[tuple[str, Any]] = [("t", update.state.t)]
    if update.state.spell_start is not None:
        times.append(("spell_start", update.state.spell_start))
    for name in ("spell_started", "spell_ended", "break_started", "break_ended"):
        edge = getattr(update, name, None)
        if edge is not None:
            times += [(f"{name}.start", edge.start), (f"{name}.end", edge.end)]
    for off in [*getattr(update, "offloads_credited", ()), *getattr(update, "offloads_ended", ())]:
        times += [("offload.start", off.start), ("offload.end", off.end)]
    for name, t in times:
        if t is not None and wall(epoch, t) is None:
            return f"{name} = {t!r} s after {epoch.isoformat()} is no date"
    return None


def snapshot_problem(snapshot: Any) -> str | None:
    """Why a tracker snapshot holds a time that cannot be dated (None: it is sound, or not a
    snapshot this module knows, which the tracker's own checks then judge)."""
    if not isinstance(snapshot, dict) or "epoch" not in snapshot:
        return None
    try:
        epoch = datetime.fromisoformat(str(snapshot["epoch"]))
    except ValueError:
        return f"epoch {snapshot['epoch']!r} is no date"
    times: list[tuple[str, Any]] = [(k, snapshot.get(k)) for k in _SNAPSHOT_TIMES]
    for key in _SNAPSHOT_TIME_MAPS:
        values = snapshot.get(key)
        if isinstance(values, dict):
            times += [(f"{key}.{k}", v) for k, v in values.items()]
    timers = snapshot.get("timers")
    if isinstance(timers, dict):
        for k, pair in timers.items():
            if isinstance(pair, list):
                times += [(f"timers.{k}", v) for v in pair]
    for name, t in times:
        if t is not None and wall(epoch, t) is None:
            return f"{name} = {t!r} is no date"
    return None
