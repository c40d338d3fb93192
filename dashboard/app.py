"""The dashboard: a FastAPI app over the daemon's `Runtime` (CONTRACT section 8).

The web layer never reaches into inputs, analysis or the store: everything goes through
`monitor.runtime.Runtime`. Runtime calls are made on the event loop (the routes are
`async def`) because the daemon's state and its SQLite connection live on that loop.
See docs/api.md for every endpoint, the SSE events and the auth rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.auth import (
    LOOPBACK_HOSTS,
    GuardMiddleware,
    HeadersMiddleware,
    login_cookie_header,
    presented_token,
    tokens_equal,
)
from dashboard.limits import MAX_BODY_BYTES, BodyLimitMiddleware, body_is_not_json, safe_errors, too_large_message
from dashboard.schemas import (
    CushionStatus,
    DayStats,
    ErrorMessage,
    Healthz,
    Reminder,
    SettingsOut,
    SettingsPatch,
    SnoozeResult,
    TimelineItem,
)
from monitor.runtime.protocol import Runtime

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
CUSHION_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SSE_PING_S = 10
STREAM_EVENTS = ("state", "reminder", "reminder_update", "health")
CLOSE_STREAM = "__close__"  # put on a subscriber queue by close_streams()

# A strict CSP: the page loads nothing from anywhere but itself (no CDN, no inline script).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

CushionQuery = Annotated[str | None, Query(pattern=CUSHION_PATTERN, description="cushion id")]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage}, 422: {"model": ErrorMessage}}


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays from the analysis layer, datetimes from the store
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def sse_data(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), default=_json_default)


def _aware(when: datetime | None) -> datetime | None:
    """A `since` without an offset is taken as UTC (documented in docs/api.md)."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


def _validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
        msg = str(err.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")  # a validator's own words need no pydantic prefix
        parts.append(f"{'.'.join(loc) or 'request'}: {msg}")
    return "; ".join(parts)


class RevalidatedStaticFiles(StaticFiles):
    """The page's modules are small: have browsers revalidate them (ETag) so an upgraded
    daemon never runs against yesterday's cached JavaScript."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": message, "message": message})


def create_app(
    runtime: Runtime,
    *,
    token: str | None = None,
    require_token: bool = False,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The dashboard app for one running daemon.

    require_token: state-changing requests and /api/stream need `token` (set it when
    listening on anything but loopback). allowed_hosts: Host names served; default
    loopback names only when no token is required (DNS-rebinding guard), any otherwise.
    """
    if require_token and not token:
        # Never serve an open dashboard on a non-loopback address: make up a token and say so.
        token = secrets.token_urlsafe(24)
        log.warning("no dashboard token configured; using a one-time token: open /?token=%s", token)
    if allowed_hosts is None and not require_token:
        allowed_hosts = sorted(LOOPBACK_HOSTS)

    app = FastAPI(
        title="sitwell dashboard",
        version="1",
        description="Live posture, sitting spells and reminders from the sitwell daemon.",
        # Swagger UI and ReDoc load their code from a CDN, which the page's CSP (and the
        # no-CDN rule) forbid: the schema itself is at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.token = token  # what a front end may show as the log-in link
    open_streams: set[asyncio.Queue] = set()

    def close_streams() -> None:
        """End every open /api/stream (call on the event loop before stopping the server).

        An SSE response never ends by itself, so without this uvicorn's graceful shutdown
        waits for the browsers to go away."""
        for queue in list(open_streams):
            while True:
                try:
                    queue.put_nowait((CLOSE_STREAM, {}))
                    break
                except asyncio.QueueFull:
                    queue.get_nowait()  # make room: the stream is ending anyway

    app.state.close_streams = close_streams
    app.state.open_streams = open_streams  # the fleet stream's (routes_fleet.py) end with the others
    app.state.close_stream = CLOSE_STREAM
    app.add_middleware(GuardMiddleware, token=token, require_token=require_token, allowed_hosts=allowed_hosts)
    app.add_middleware(HeadersMiddleware, headers=SECURITY_HEADERS)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)  # dashboard/limits.py

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # a validator's ValueError rides in "ctx": its text is what the client needs
        errors = [{**e, "ctx": {k: str(v) for k, v in e["ctx"].items()}} if isinstance(e.get("ctx"), dict) else e
                  for e in exc.errors()]
        if body_is_not_json(errors):  # text/plain, a form: say what is wanted
            message = "the request body must be JSON (Content-Type: application/json), e.g. {\"for\": \"1h\"}"
            return JSONResponse(status_code=415, content={"detail": message, "message": message})
        return JSONResponse(status_code=422,
                            content={"detail": safe_errors(errors), "message": _validation_message(errors)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 413:
            message = too_large_message()
            return JSONResponse(status_code=413, content={"detail": message, "message": message},
                                headers={"Connection": "close"})
        return await http_exception_handler(request, exc)

    # ---- health and status -------------------------------------------------------------

    @app.get("/healthz", response_model=Healthz, tags=["status"])
    async def healthz(
        cushion: Annotated[str | None, Query(
            pattern=CUSHION_PATTERN,
            description="only this cushion's entry in `inputs` (the page of one cushion polls this: "
            "with 1,000 cushions the whole list is ~0.5 MB)")] = None,
    ) -> dict[str, Any]:
        """`{"status":"ok"}` while the daemon runs, with per-input health."""
        return runtime.health(cushion)

    @app.get("/api/status", response_model=list[CushionStatus], tags=["status"])
    async def status() -> list[dict[str, Any]]:
        """One entry per known cushion."""
        return runtime.status()

    @app.get("/api/session", tags=["status"])
    async def session(request: Request) -> dict[str, bool]:
        """Whether state changes need the token, and whether this request carried a valid one."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        presented, _ = presented_token(request.scope, headers, allow_query=False)
        return {"require_token": require_token, "token_ok": (not require_token) or tokens_equal(presented, token)}

    @app.get("/api/frame/{cushion}", tags=["status"], responses=ERRORS)
    async def frame(cushion: Annotated[str, PathParam(pattern=CUSHION_PATTERN)]) -> dict[str, Any]:
        """The latest calibrated frame of one cushion (same shape as the `frame` of a state event)."""
        latest = runtime.latest_frame(cushion)
        if latest is None:
            raise HTTPException(404, f"no frame from cushion {cushion!r}")
        return json.loads(sse_data(latest))

    # ---- reminders -----------------------------------------------------------------------

    @app.get("/api/reminders", response_model=list[Reminder], tags=["reminders"], responses=ERRORS)
    async def reminders(
        since: Annotated[datetime | None, Query(description="ISO-8601; without an offset, UTC")] = None,
        cushion: CushionQuery = None,
    ) -> list[dict[str, Any]]:
        """Reminders, newest first."""
        return runtime.reminders(since=_aware(since), cushion=cushion)

    @app.post("/api/reminders/{reminder_id}/ack", response_model=Reminder, tags=["reminders"], responses=ERRORS)
    async def acknowledge(reminder_id: Annotated[str, PathParam(max_length=128)]) -> dict[str, Any]:
        """Acknowledge one reminder; returns it updated."""
        updated = runtime.acknowledge(reminder_id)
        if updated is None:
            raise HTTPException(404, f"no reminder {reminder_id!r}")
        return updated

    @app.post(
        "/api/reminders/{reminder_id}/snooze",
        response_model=SnoozeResult,
        tags=["reminders"],
        responses={**ERRORS, 409: {"model": ErrorMessage, "description": "no snooze allowed now"}},
    )
    async def snooze(
        reminder_id: Annotated[str, PathParam(max_length=128)],
        minutes: Annotated[int, Query(ge=1, le=240, description="1 to 240")],
    ) -> dict[str, Any] | JSONResponse:
        """No reminder of this reminder's kind on its cushion for `minutes`."""
        try:
            result = runtime.snooze(reminder_id, minutes)
        except ValueError as exc:  # strict mode, or this spell's snoozes used up (docs/reminders.md)
            return JSONResponse(status_code=409, content={"detail": str(exc), "message": str(exc)})
        if result is None:
            raise HTTPException(404, f"no reminder {reminder_id!r}")
        return result

    # ---- live stream -----------------------------------------------------------------------

    @app.get("/api/stream", tags=["live"])
    async def stream(request: Request, cushion: CushionQuery = None) -> EventSourceResponse:
        """Server-Sent Events: `state`, `reminder`, `reminder_update`, `health` (docs/api.md)."""

        async def events():
            # Subscribe when the stream really starts; unsubscribe however it ends: client
            # gone (sse-starlette cancels this generator), server shutdown, or an error.
            # a page on one cushion: only that cushion's state events (and heatmaps) are built
            queue = runtime.subscribe(cushion) if cushion else runtime.subscribe()
            open_streams.add(queue)
            try:
                while True:
                    name, payload = await queue.get()
                    if name == CLOSE_STREAM:
                        return
                    if name not in STREAM_EVENTS:
                        continue
                    if cushion and isinstance(payload, dict) and payload.get("cushion") not in (None, cushion):
                        continue
                    yield {"event": name, "data": sse_data(payload)}
            finally:
                open_streams.discard(queue)
                runtime.unsubscribe(queue)

        return EventSourceResponse(events(), ping=SSE_PING_S, headers={"Cache-Control": "no-store"})

    # ---- history ---------------------------------------------------------------------------

    @app.get("/api/stats/daily", response_model=list[DayStats], tags=["history"], responses=ERRORS)
    async def stats_daily(
        days: Annotated[int, Query(ge=1, le=366)] = 7,
        cushion: CushionQuery = None,
    ) -> list[dict[str, Any]]:
        """Per day, oldest first: minutes seated, spells, longest spell, breaks, posture shares, reminders."""
        return runtime.daily_stats(days, cushion=cushion)

    @app.get("/api/timeline", response_model=list[TimelineItem], tags=["history"], responses=ERRORS)
    async def timeline(
        cushion: CushionQuery = None,
        day: Annotated[date | None, Query(description="YYYY-MM-DD; default today")] = None,
    ) -> list[dict[str, Any]]:
        """One day's spells and breaks, with posture segments inside each spell."""
        return runtime.timeline(cushion=cushion, day=day.isoformat() if day else None)

    # ---- settings --------------------------------------------------------------------------

    @app.get("/api/settings", response_model=SettingsOut, tags=["settings"])
    async def get_settings() -> dict[str, Any]:
        """The user-editable settings: `rules` and `analysis` sections."""
        return runtime.settings()

    @app.put("/api/settings", response_model=SettingsOut, tags=["settings"], responses=ERRORS)
    async def put_settings(
        patch: Annotated[SettingsPatch, Body(examples=[{"rules": {"sit_limit_min": 30}}])],
    ) -> Any:
        """Change settings (only the keys given); applied at once. 422 with a message when invalid."""
        try:
            return runtime.update_settings(patch.as_patch())
        except ValidationError as exc:
            return _unprocessable(_validation_message(exc.errors()))
        except ValueError as exc:
            return _unprocessable(str(exc))

    # ---- the page --------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index(request: Request, token_param: Annotated[str | None, Query(alias="token")] = None) -> Response:
        if token_param is not None:
            # Log-in link: set the cookie, then drop the token from the address bar.
            if require_token and not tokens_equal(token_param, token):
                return JSONResponse({"detail": "wrong access token"}, status_code=403)
            response = RedirectResponse("/", status_code=303)
            if require_token:
                response.headers["set-cookie"] = login_cookie_header(token_param, request.url.scheme == "https")
            return response
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    from dashboard.routes_reminders import router as reminders_router  # pause, live reminder view

    app.include_router(reminders_router)
    from dashboard.routes_mounting import router as mounting_router  # set-up notices, mounting

    app.include_router(mounting_router)
    from dashboard.routes_sitter import router as sitter_router  # corrections, guided set-up

    app.include_router(sitter_router)
    from dashboard.routes_journal import router as journal_router  # pain journal (docs/journal.md)

    app.include_router(journal_router)
    from dashboard.routes_fleet import router as fleet_router  # the fleet overview (docs/dashboard.md)

    app.include_router(fleet_router)
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="static")
    return app
