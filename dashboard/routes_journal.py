"""HTTP routes for the pain and progress journal (docs/journal.md): entries (list, add, edit,
delete, delete a range), the 30-day side-by-side view, "what seems to help" and the prompt
that may be due. Included by `dashboard.app.create_app`; state changes go through the same
guard (token, same origin) as every other POST/PATCH/DELETE.

The runtime's `journal` (a monitor.journal.JournalBook) is optional: a runtime without it,
or with `journal.enabled = false`, answers 404 "the journal is off".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.schemas import ErrorMessage
from monitor.journal.entries import JournalError

# the places, as the schema says them (monitor.journal.entries.LOCATIONS)
Place = Literal["left-buttock", "right-buttock", "left-hip", "right-hip", "left-leg", "right-leg", "lower-back",
                "other"]

router = APIRouter(tags=["journal"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage}, 422: {"model": ErrorMessage}}
ID_PATTERN = r"^[0-9a-f]{32}$"


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pain: int = Field(ge=0, le=10, description="0 (none) to 10 (worst imaginable)")
    where: list[Place] = Field(default_factory=list, max_length=8, description="where it hurts")
    note: str = Field("", max_length=500)
    reminder_id: str | None = Field(None, max_length=128, description="logged from this reminder's banner")
    prompt_id: str | None = Field(None, max_length=64, description="answering this prompt")
    cushion: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class EntryPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pain: int | None = Field(None, ge=0, le=10)
    where: list[Place] | None = Field(None, max_length=8)
    note: str | None = Field(None, max_length=500)


def _book(request: Request) -> Any:
    book = getattr(request.app.state.runtime, "journal", None)
    if book is None:
        raise HTTPException(404, "the journal is off (journal.enabled = false)")
    return book


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": message, "message": message})


@router.get("/api/journal", responses=ERRORS)
async def list_entries(
    request: Request,
    first: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day, YYYY-MM-DD")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> list[dict[str, Any]]:
    """Entries, oldest first; `limit` keeps the newest ones."""
    return [e.as_dict() for e in _book(request).entries(first, last, limit=limit)]


@router.post("/api/journal", status_code=201, responses=ERRORS)
async def add_entry(
    request: Request, body: Annotated[EntryIn, Body(examples=[{"pain": 4, "where": ["left-buttock"], "note": ""}])],
) -> Any:
    """Log pain now (an earlier time: `sitwell log pain --at`). 201 with the stored entry."""
    book = _book(request)
    try:
        entry = book.add(body.pain, where=body.where, note=body.note,
                         source="prompt" if body.prompt_id else "dashboard",
                         cushion=body.cushion, reminder_id=body.reminder_id)
    except JournalError as exc:
        return _unprocessable(str(exc))
    if body.prompt_id:
        book.answer_prompt(body.prompt_id)
    return entry.as_dict()


@router.patch("/api/journal/{entry_id}", responses=ERRORS)
async def edit_entry(request: Request, entry_id: Annotated[str, Path(pattern=ID_PATTERN)],
                     body: Annotated[EntryPatch, Body(examples=[{"pain": 3}])]) -> Any:
    """Change pain, where or note; returns the entry updated."""
    try:
        entry = _book(request).update(entry_id, body.model_dump(exclude_unset=True, exclude_none=True))
    except JournalError as exc:
        return _unprocessable(str(exc))
    if entry is None:
        raise HTTPException(404, f"no journal entry {entry_id}")
    return entry.as_dict()


@router.delete("/api/journal/{entry_id}", status_code=204, responses=ERRORS)
async def delete_entry(request: Request, entry_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> Response:
    if not _book(request).delete(entry_id):
        raise HTTPException(404, f"no journal entry {entry_id}")
    return Response(status_code=204)


@router.delete("/api/journal", responses=ERRORS)
async def delete_range(
    request: Request,
    first: Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD")],
    last: Annotated[date, Query(alias="to", description="last day, YYYY-MM-DD (included)")],
) -> Any:
    """Delete every entry from `from` to `to` (days, both included): {"deleted": n}; a range
    that ends before it starts holds nothing."""
    if first > last:
        return {"deleted": 0}
    try:
        return {"deleted": _book(request).delete_range(first, last)}
    except JournalError as exc:
        return _unprocessable(str(exc))


@router.get("/api/journal/days")
async def journal_days(request: Request, days: Annotated[int, Query(ge=7, le=366)] = 30) -> list[dict[str, Any]]:
    """Per day, oldest first: pain (worst, mean, entries) beside minutes seated, longest spell,
    breaks and the share of seated time uneven, crossed and slouched."""
    from monitor.journal.days import side_by_side

    runtime = request.app.state.runtime
    return side_by_side(_book(request), runtime.daily_stats(days))


@router.get("/api/journal/associations")
async def journal_associations(request: Request, days: Annotated[int, Query(ge=14, le=366)] = 90) -> dict[str, Any]:
    """"What seems to help": Spearman correlations with n and a 95% interval (docs/journal.md)."""
    from monitor.journal.associations import associations
    from monitor.journal.days import side_by_side

    runtime = request.app.state.runtime
    min_days = runtime.config.journal.min_days_for_associations if hasattr(runtime, "config") else 14
    return associations(side_by_side(_book(request), runtime.daily_stats(days)), min_days=min_days)


@router.get("/api/journal/prompt")
async def journal_prompt(request: Request) -> dict[str, Any]:
    """The "how is the pain?" prompt due now, {"id", "reason", "message", "at"}, or {"id": null,
    "silent": why} (paused, quiet_hours, working_hours, do_not_disturb, calendar_busy,
    enough_today, nothing_due). Answer it by POSTing an entry with its prompt_id."""
    from monitor.journal.prompts import PromptPlanner

    book = _book(request)
    planner = getattr(request.app.state, "journal_prompts", None)
    if planner is None:
        planner = request.app.state.journal_prompts = PromptPlanner(request.app.state.runtime, book)
    return planner.due()
