"""HTTP routes for the set-up notices (docs/api.md): a cushion mounted or wired wrong, a full
scale that does not fit, and the one-click fix. Included by `dashboard.app.create_app`; the
POST goes through the same guard (token, same origin) as every other state change.

The runtime methods used here (`notices`, `set_mounting`) are in the Runtime protocol
(monitor/runtime/protocol.py), like every other one the dashboard calls.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from monitor.runtime.protocol import Runtime

router = APIRouter(tags=["set-up"])
CUSHION_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class MountingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orientation: Literal["normal", "rotate90", "rotate180", "rotate270"] = Field(
        description="how the cushion lies (rotate180: turned round; rotate90/270: a quarter turn)")
    mirror: bool = Field(False, description="left and right swapped")
    invert: bool = Field(False, description="lower reading = more pressure")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.get("/api/notices")
async def notices(request: Request) -> list[dict[str, Any]]:
    """What needs fixing in the set-up: {"cushion","kind" (mounting | full_scale),"level","message",
    "fix","apply"}; `apply` is the body for POST /api/cushions/{cushion}/mounting, or null."""
    return _runtime(request).notices()


@router.post("/api/cushions/{cushion}/mounting", responses={422: {"description": "not a mounting"}})
async def set_mounting(
    request: Request,
    cushion: Annotated[str, Path(pattern=CUSHION_PATTERN)],
    body: Annotated[MountingRequest, Body(examples=[{"orientation": "rotate180", "mirror": False, "invert": False}])],
) -> Any:
    """Set how the cushion lies and is wired; kept in the database, analysis starts afresh."""
    try:
        return _runtime(request).set_mounting(cushion, body.model_dump())
    except ValueError as exc:
        return JSONResponse(status_code=422, content={"detail": str(exc), "message": str(exc)})
