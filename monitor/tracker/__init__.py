"""Sitting spells, breaks and reminders per cushion, in frame time (CONTRACT section 6).

tracker.py (CushionTracker: occupancy, spells, breaks, snapshots), schedule.py (when each
reminder falls due and what holds it back), events.py (what an update carries), dose.py
(sit-bone dose and offloads), sitstand.py, rules.py, messages.py, calendar.py (calendar
quiet, imported only when configured), aggregate.py (per-minute rows for the store).
"""

from monitor.tracker.aggregate import MinuteAggregator, MinuteRow
from monitor.tracker.dose import Offload, SitBoneDose
from monitor.tracker.events import Break, OpenSpell, SnoozeRefused, TrackerUpdate
from monitor.tracker.schedule import ALL_KINDS, ReminderSchedule
from monitor.tracker.tracker import CushionTracker

__all__ = [
    "ALL_KINDS",
    "Break",
    "CushionTracker",
    "MinuteAggregator",
    "MinuteRow",
    "OpenSpell",
    "Offload",
    "ReminderSchedule",
    "SitBoneDose",
    "SnoozeRefused",
    "TrackerUpdate",
]
