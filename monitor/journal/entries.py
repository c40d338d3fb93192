"""Journal entries: what one "how is the pain?" answer holds, and the checks on it.

A pain entry is a 0-10 rating, where it hurts (none or more of LOCATIONS), an optional note,
the local time it refers to and where it was logged from. Validation is here, once, so the
dashboard, the CLI and MQTT give the same user-readable errors (JournalError is a ValueError).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

LOCATIONS = ("left-buttock", "right-buttock", "left-hip", "right-hip", "left-leg", "right-leg", "lower-back", "other")
# Words people type for the same places; "leg" means the back of the thigh (sciatic pain).
LOCATION_ALIASES = {
    "left-glute": "left-buttock", "right-glute": "right-buttock", "left-back-of-leg": "left-leg",
    "right-back-of-leg": "right-leg", "back": "lower-back", "low-back": "lower-back",
}
SOURCES = ("dashboard", "cli", "mqtt", "prompt", "import")
MAX_NOTE = 500


class JournalError(ValueError):
    """Bad journal input; the message is meant for the user."""


@dataclass(slots=True)
class JournalEntry:
    id: str
    at: str  # ISO-8601 local time with offset: when the pain was felt
    at_ts: float
    day: str  # local calendar day of `at`
    pain: int
    locations: list[str] = field(default_factory=list)
    note: str = ""
    source: str = "cli"
    cushion: str | None = None
    reminder_id: str | None = None  # the reminder it was logged from, if any
    created_at: str = ""
    edited_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_pain(value: Any) -> int:
    """0-10 as an int; 4.0 and "4" are accepted, 4.5, -1, 11 and "a lot" are not."""
    if isinstance(value, bool):
        raise JournalError(f"pain must be a whole number 0-10, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JournalError(f"pain must be a whole number 0-10, not {value!r}") from None
    if number != int(number) or not 0 <= number <= 10:
        raise JournalError(f"pain must be a whole number 0-10, not {value!r}")
    return int(number)


def check_locations(value: Any) -> list[str]:
    """A list (or comma-separated text) of LOCATIONS, each once, in LOCATIONS order."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise JournalError("where must be a list of places")
    found = set()
    for item in items:
        if not isinstance(item, str):
            raise JournalError(f"{item!r} is not a place")
        name = item.strip().lower().replace("_", "-").replace(" ", "-")
        name = LOCATION_ALIASES.get(name, name)
        if name not in LOCATIONS:
            raise JournalError(f"{item.strip()!r} is not a place: use {', '.join(LOCATIONS)}")
        found.add(name)
    return [loc for loc in LOCATIONS if loc in found]


def check_note(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise JournalError("note must be text")
    note = " ".join(value.split())  # one line: the CSV export and the report stay tidy
    if len(note) > MAX_NOTE:
        raise JournalError(f"note is {len(note)} characters; at most {MAX_NOTE}")
    return note


def check_at(value: Any, now: datetime | None = None) -> datetime:
    """An aware datetime; naive input is local time. Not in the future (a minute's slack)."""
    now = now or datetime.now().astimezone()
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise JournalError(f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM, local time)") from None
    else:
        raise JournalError(f"{value!r} is not a date and time")
    when = when.astimezone() if when.tzinfo is None else when
    if (when - now).total_seconds() > 60:
        raise JournalError(f"{when.isoformat(timespec='minutes')} is in the future")
    return when


def check_source(value: Any) -> str:
    if value not in SOURCES:
        raise JournalError(f"source must be one of {', '.join(SOURCES)}")
    return str(value)
