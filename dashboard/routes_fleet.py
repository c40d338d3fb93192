"""The fleet overview (docs/dashboard.md "Fleet"): its page, the snapshot and the batched stream.

`GET /fleet` is the page (a tile per cushion); `GET /api/fleet` every cushion's compact row
now; `GET /api/fleet/stream` Server-Sent Events `fleet` (the rows changed, at most
`max_rows` per event, at most one event per `interval_s`) and `resync` (the page fell
behind: reload the snapshot). The batching and its bound are monitor/sinks/fleet.py's; each
batch arrives here serialised once, for every page. Included by `dashboard.app.create_app`;
the stream needs the token like /api/stream (dashboard/auth.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sse_starlette.sse import EventSourceResponse

from monitor.runtime.protocol import Runtime

router = APIRouter(tags=["fleet"])
STATIC_DIR = Path(__file__).parent / "static"
SSE_PING_S = 10


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.get("/fleet", include_in_schema=False)
async def fleet_page() -> Response:
    return FileResponse(STATIC_DIR / "fleet.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/fleet")
async def fleet_snapshot(request: Request) -> dict[str, Any]:
    """Every cushion's row: `fields` names the columns of each row in `rows`
    ([cushion, occupied 0/1, posture, spell_s, open_reminders]); `seq` is the last stream
    batch it includes (apply only batches with a higher `seq`)."""
    return _runtime(request).fleet_snapshot()


@router.get("/api/fleet/stream")
async def fleet_stream(request: Request) -> EventSourceResponse:
    """Server-Sent Events: `fleet` {"seq", "rows": [...changed rows...], "more": rows still waiting}
    and `resync` (reload /api/fleet)."""
    runtime = _runtime(request)
    open_streams = request.app.state.open_streams
    close_stream = request.app.state.close_stream  # what app.state.close_streams() puts on every open stream

    async def events():
        queue = runtime.fleet_subscribe()
        open_streams.add(queue)
        try:
            while True:
                name, data = await queue.get()
                if name == close_stream:
                    return
                yield {"event": name, "data": data or "{}"}
        finally:
            open_streams.discard(queue)
            runtime.fleet_unsubscribe(queue)

    return EventSourceResponse(events(), ping=SSE_PING_S, headers={"Cache-Control": "no-store"})
