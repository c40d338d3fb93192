"""Response models: they document the API in /openapi.json and check what the daemon returns.

Every model allows extra keys, so the daemon can add fields without breaking the API;
the named fields are the ones clients (and the page) rely on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Healthz(Open):
    status: str = Field(description='"ok" while the daemon runs')
    inputs: list[dict[str, Any]] = Field(
        default_factory=list,
        description='per input and cushion: {"input","cushion","connected","frames","drops":{reason:n},"last_frame_age_s","error"}',
    )


class CushionStatus(Open):
    cushion: str
    occupied: bool
    posture: str = Field(description="CONTRACT section 5 posture name")
    left_share: float | None = Field(description="share of the load left of the sitter's midline; null when empty")
    spell_s: float = Field(description="seconds of the current sitting spell, 0 when none")
    connected: bool | None = None
    last_frame_age_s: float | None = None


class Reminder(Open):
    id: str
    cushion: str
    kind: str = Field(description="sit_too_long | uneven_load | crossed_legs | slouching")
    t: float = Field(description="frame time, seconds")
    at: str = Field(description="ISO-8601 time it was raised")
    message: str
    spell_s: float
    acknowledged: bool


class SnoozeResult(Open):
    reminder: Reminder
    until_t: float | None = Field(None, description="frame time until which this kind is snoozed")


class DayStats(Open):
    day: str = Field(description="YYYY-MM-DD, local time")


class TimelineItem(Open):
    type: str = Field(description='"spell" or "break"')


class ErrorMessage(BaseModel):
    detail: Any = Field(description="a message for the user (or FastAPI's list of validation errors)")
    message: str | None = Field(None, description="one line for the user")
