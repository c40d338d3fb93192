"""HTTP routes for the reminder features beyond the contract (docs/api.md, docs/reminders.md):
timed pause and the live reminder view (pause, snoozes left, sit-bone dose, sit-stand phase,
calendar quiet) and "all done" (acknowledge every open reminder at once). Included by
`dashboard.app.create_app`; state changes go through the same guard (token, same origin) as
every other POST/DELETE.

The runtime methods used here (`pause`, `pause_status`, `reminder_extras`, `offloads`) are in
the Runtime protocol (monitor/runtime/protocol.py), like every other one the dashboard calls.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from monitor.config.parse import parse_pause
from monitor.runtime.protocol import Runtime

router = APIRouter(tags=["reminders"])


# The canonical forms, for the published schema only (API clients and schemathesis): the server
# reads more (the one duration reader, monitor/config/parse.py) and explains a refusal in words,
# so pydantic must not enforce this pattern (it would answer with the pattern itself).
CANONICAL_PAUSE = (r"^(off|tomorrow|[0-9]{1,3}( ?(m|min|minutes))?|([0-9]|1[0-9]|2[0-4]) ?(h|hours?)"
                   r"|([0-9]|1[0-9]|2[0-3])h[0-5][0-9]|[0-9]{1,4} ?s)$")


class PauseRequest(BaseModel):
    # "for" is a Python keyword: the JSON key is "for", the attribute `duration`
    duration: str = Field(
        alias="for", max_length=64, examples=["30m", "1 hour", "1h30"],
        description='how long, as people write it: 30m, 1h, "1 hour", "90 min", 1h30, tomorrow, off; a bare number'
                    " is minutes; at most 24 hours. The pattern gives the canonical forms; other ways of writing a"
                    " duration are read too, and a refusal (422) says in words what could not be read",
        json_schema_extra={"pattern": CANONICAL_PAUSE},
    )

    @field_validator("duration")
    @classmethod
    def _readable(cls, value: str) -> str:
        parse_pause(value)  # the one duration reader; its ValueError is the 422 message, in words
        return value


class PauseStatus(BaseModel):
    paused: bool
    until: str | None = Field(None, description="ISO-8601 time the pause ends, on the clock reminders are stamped on")
    remaining_s: float = Field(0.0, description="seconds left on that clock")
    speed: float = Field(
        1.0, description="how many times faster than the wall that clock runs (--speed; 1 for real input)"
    )
    cushions: dict[str, Any] = Field(default_factory=dict, description="per cushion, in frame time")


class AckAllRequest(BaseModel):
    ids: list[Annotated[str, Field(max_length=128)]] = Field(
        default_factory=list, max_length=5000,
        description="also these (the ones a page shows as open: the listing stops at 500)")


class AckAllResult(BaseModel):
    acknowledged: list[str] = Field(description="ids acknowledged by this request, newest first")
    count: int = Field(description="how many were open and are now acknowledged")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": message, "message": message})


@router.get("/api/pause", response_model=PauseStatus)
async def get_pause(request: Request) -> Any:
    """Whether reminders are paused, until when, and how long is left."""
    return _runtime(request).pause_status()


@router.post("/api/pause", response_model=PauseStatus, responses={422: {"description": "not a pause"}})
async def post_pause(request: Request, body: Annotated[PauseRequest, Body(examples=[{"for": "1h"}])]) -> Any:
    """Pause every reminder for 30m, 1h, 2h or until tomorrow (`off` resumes); resumes by itself."""
    try:
        return _runtime(request).pause(body.duration)
    except ValueError as exc:
        return _unprocessable(str(exc))


@router.delete("/api/pause", response_model=PauseStatus)
async def delete_pause(request: Request) -> Any:
    """End a pause now."""
    return _runtime(request).pause("off")


@router.post("/api/reminders/ack-all", response_model=AckAllResult, tags=["reminders"])
async def ack_all(
    request: Request,
    cushion: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    since: Annotated[datetime | None, Query(description="ISO-8601; without an offset, UTC")] = None,
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$", description="only this kind")] = None,
    body: Annotated[AckAllRequest | None, Body()] = None,
) -> Any:
    """Acknowledge every open reminder (of one cushion, since a time, of one kind: each
    optional) - the page's "All done". Each one goes through the runtime's own acknowledge,
    so every open page gets its `reminder_update`."""
    runtime = request.app.state.runtime
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    done: list[str] = []
    listed = runtime.reminders(since=since, cushion=cushion)
    for r in listed:
        if r.get("acknowledged") or (kind is not None and r.get("kind") != kind):
            continue
        if runtime.acknowledge(r["id"]) is not None:
            done.append(r["id"])
    seen = {r["id"] for r in listed}
    for rid in body.ids if body else []:
        if rid in seen:
            continue
        seen.add(rid)
        updated = runtime.acknowledge(rid)  # unknown ids are passed over
        if updated is not None and (cushion is None or updated.get("cushion") == cushion):
            done.append(rid)
    return {"acknowledged": done, "count": len(done)}


@router.get("/api/reminders-live")
async def reminders_live(request: Request) -> list[dict[str, Any]]:
    """Per cushion: pause, snoozes left, strict mode, sit-bone dose of the spell, offloads,
    seconds to the next sit_too_long, sit-stand phase, calendar state."""
    return _runtime(request).reminder_extras()


@router.get("/api/breaks", tags=["history"])
async def breaks(
    request: Request,
    day: Annotated[date | None, Query(description="YYYY-MM-DD; default today")] = None,
    cushion: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> list[dict[str, Any]]:
    """A day's breaks confirmed by the seat, oldest first: {"cushion", "quality" ("stood" |
    "shifted"), "side" ("both" | "left" | "right"), "start", "end", "seconds"}."""
    return _runtime(request).offloads(day.isoformat() if day else None, cushion)
