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
from pydantic import BaseModel, Field

from monitor.runtime.protocol import Runtime

router = APIRouter(tags=["reminders"])


# 30m, 1h, 2h, tomorrow, off; also minutes (up to 999, "45" or "45m") or hours up to 24 ("3h")
PAUSE_PATTERN = r"^(off|tomorrow|[0-9]{1,3}(m|min)?|([1-9]|1[0-9]|2[0-4])h)$"


class PauseRequest(BaseModel):
    # "for" is a Python keyword: the JSON key is "for", the attribute `duration`
    duration: str = Field(alias="for", description="30m | 1h | 2h | tomorrow | off (or minutes, e.g. 45)",
                          examples=["30m"], pattern=PAUSE_PATTERN)


class PauseStatus(BaseModel):
    paused: bool
    until: str | None = Field(None, description="ISO-8601 wall time the pause ends")
    remaining_s: float = Field(0.0, description="seconds left (wall time)")
    cushions: dict[str, Any] = Field(default_factory=dict, description="per cushion, in frame time")


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
) -> Any:
    """Acknowledge every open reminder (of one cushion, since a time, of one kind: each
    optional) - the page's "All done". Each one goes through the runtime's own acknowledge,
    so every open page gets its `reminder_update`."""
    runtime = request.app.state.runtime
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    done: list[str] = []
    for r in runtime.reminders(since=since, cushion=cushion):
        if r.get("acknowledged") or (kind is not None and r.get("kind") != kind):
            continue
        if runtime.acknowledge(r["id"]) is not None:
            done.append(r["id"])
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
