"""Response models: they document the API in /openapi.json and check what the daemon returns.

Every model allows extra keys, so the daemon can add fields without breaking the API;
the named fields are the ones clients (and the page) rely on.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from monitor.config.settings import AnalysisConfig, RulesConfig


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Healthz(Open):
    status: str = Field(description='"ok" while the daemon runs')
    inputs: list[dict[str, Any]] = Field(
        default_factory=list,
        description='per input and cushion: {"input","cushion","connected","frames","drops":{reason:n},'
        '"last_frame_age_s","error"}; with ?cushion= only that cushion\'s',
    )
    inputs_total: int = Field(0, description="entries in `inputs` before ?cushion= picked one")


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
    date: str = Field(description="YYYY-MM-DD, local calendar day")
    minutes_seated: float | None = None
    spells: int | None = None
    longest_spell_min: float | None = None
    breaks: int | None = None
    posture_share: dict[str, float] | None = Field(None, description="share of seated time per posture")
    reminders_sent: int | None = None
    reminders_acknowledged: int | None = None


class TimelineItem(Open):
    type: str = Field(description='"spell" or "break"')
    start_at: str | None = Field(None, description="ISO-8601")
    end_at: str | None = Field(None, description="ISO-8601; null while it lasts")
    seconds: float | None = None
    postures: dict[str, float] | None = Field(None, description="spells: seconds per posture")


class ErrorMessage(BaseModel):
    detail: Any = Field(description="a message for the user (or FastAPI's list of validation errors)")
    message: str | None = Field(None, description="one line for the user")


# ---- settings: the request body mirrors the config model, every key optional ---------------

HOURS_RANGE = r"^(?:[01]\d|2[0-3]):[0-5]\d-(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$"
# keys whose values the config model checks with a validator rather than a type
_EXTRA_CONSTRAINTS: dict[str, Any] = {
    "working_hours": Annotated[str, Field(pattern=HOURS_RANGE)] | None,
    "quiet_hours": list[Annotated[str, Field(pattern=HOURS_RANGE)]],
}


def partial_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    """`model` with every field optional (absent = unchanged) but the same types and ranges.

    The daemon validates again with the config model itself; this copy makes the OpenAPI
    schema say what is accepted, and turns type errors into 422s before the daemon is asked.
    """
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        annotation = _EXTRA_CONSTRAINTS.get(key) or (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[key] = (annotation, Field(None, description=info.description))
    # NaN, Infinity and 1e999 (which Python's json reads as inf) are no setting
    return create_model(name, __config__=ConfigDict(extra="forbid", allow_inf_nan=False), **fields)


RulesPatch = partial_model(RulesConfig, "RulesPatch")
AnalysisPatch = partial_model(AnalysisConfig, "AnalysisPatch")


class SettingsPatch(BaseModel):
    """Only the keys given change; ranges as in the config file (monitor/config/settings.py)."""

    model_config = ConfigDict(extra="forbid")
    rules: RulesPatch | None = None  # type: ignore[valid-type]
    analysis: AnalysisPatch | None = None  # type: ignore[valid-type]

    def as_patch(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for section in ("rules", "analysis"):
            value = getattr(self, section)
            if value is not None:
                out[section] = value.model_dump(exclude_unset=True)
        return out


class SettingsOut(Open):
    rules: dict[str, Any]
    analysis: dict[str, Any]
