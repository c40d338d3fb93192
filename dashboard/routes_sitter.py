"""HTTP routes for the sitter's own thresholds (docs/api.md): "That's not what I'm doing"
corrections (made, listed and counted, undone) and the guided set-up (runtime/setup_live.py).
Included by `dashboard.app.create_app`; every POST goes through the same guard (token, same
origin) as every other state change.

The runtime methods used here are optional in the Runtime protocol: without them, 501.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

router = APIRouter(tags=["sitter"])
CUSHION = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
SeatedPosture = Literal["upright", "lean_left", "lean_right", "cross_left", "cross_right", "slouch", "forward"]


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    posture: SeatedPosture


def _call(request: Request, name: str, *args: Any) -> Any:
    fn = getattr(request.app.state.runtime, name, None)
    if fn is None:
        raise HTTPException(501, f"this daemon has no {name}")
    try:
        return fn(*args)
    except LookupError as exc:  # a cushion that has sent nothing yet
        return JSONResponse(status_code=404, content={"detail": str(exc), "message": str(exc)})
    except ValueError as exc:  # not now: nobody sits, it already reads so
        return JSONResponse(status_code=409, content={"detail": str(exc), "message": str(exc)})


@router.post("/api/cushions/{cushion}/corrections",
             responses={404: {"description": "no such cushion yet"}, 409: {"description": "nothing to correct now"}})
async def correct(request: Request, cushion: CUSHION,
                  body: Annotated[CorrectionRequest, Body(examples=[{"posture": "lean_right"}])]) -> Any:
    """The posture shown is wrong: this is the right one. Stored, counted, and it tunes this
    sitter's thresholds from now on. Answers the correction, the count and the profile."""
    return _call(request, "correct_posture", cushion, body.posture)


@router.get("/api/cushions/{cushion}/corrections")
async def corrections(request: Request, cushion: CUSHION) -> Any:
    """{"count", "undone", "by_posture": {"shown->right": n}, "corrections": newest first, "profile"}."""
    return _call(request, "corrections_summary", cushion)


@router.post("/api/corrections/{correction_id}/undo", responses={404: {"description": "unknown"}})
async def undo(request: Request, correction_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> Any:
    """Take one correction back: it tunes nothing any more (kept, marked undone)."""
    out = _call(request, "undo_correction", correction_id)
    if out is None:
        raise HTTPException(404, "no such correction")
    return out


@router.post("/api/cushions/{cushion}/setup", responses={404: {"description": "no such cushion yet"}})
async def start_setup(request: Request, cushion: CUSHION) -> Any:
    """Start (or redo) the guided set-up on this cushion; it follows the live readings."""
    return _call(request, "start_setup", cushion)


@router.get("/api/cushions/{cushion}/setup")
async def setup_status(request: Request, cushion: CUSHION) -> Any:
    """{"active", "status": {step, steps, name, instruction, phase, progress, seeing, ...} | null,
    "result": the finished set-up's {profile, mirrored, cannot_tell, summary} | null, "saved"}."""
    return _call(request, "setup_status", cushion)


@router.delete("/api/cushions/{cushion}/setup")
async def cancel_setup(request: Request, cushion: CUSHION) -> Any:
    """Stop a running set-up (nothing is saved)."""
    return _call(request, "cancel_setup", cushion)
