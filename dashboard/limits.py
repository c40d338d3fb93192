"""Request limits for the dashboard: bodies are bounded before they are read, and every bad
request is a 4xx whose message a person can read (issue 19.3, 19.4).

- `BodyLimitMiddleware`: a `Content-Length` over the limit is refused before a byte is
  read, a chunked body is counted as it streams in and cut off the moment it passes the
  limit; the 413 says the limit, in the API's JSON (FastAPI 0.165's own `max_body_size`
  answers a declared length in plain text from outside every handler, and older FastAPI
  versions have none). 64 KiB is far more than any settings patch or
  pause needs. A 200 MiB PUT used to be read whole (RSS ~750 MB, kept afterwards).
- `safe_errors()` makes FastAPI's validation errors JSON: their `input` may be bytes (a
  text/plain or form body), NaN or Infinity (Python's json accepts them), which made the
  error handler itself fail with a bare 500 and a traceback per request.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024


def too_large_message(limit: int = MAX_BODY_BYTES) -> str:
    size = f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"
    return f"request body too large: at most {size}"


class BodyTooLarge(HTTPException):
    """Raised from `receive` the moment a streamed body passes the limit; FastAPI passes an
    HTTPException through (the app's 413 handler answers it in JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class BodyLimitMiddleware:
    """Pure ASGI, so nothing is buffered first: a declared Content-Length over the limit is
    answered at once; a body without one (chunked) is counted as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                if value.isdigit():
                    await _answer(send, 413, too_large_message(self.max_bytes))
                else:
                    await _answer(send, 400, "Content-Length is not a number")
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:
                await _answer(send, 413, too_large_message(self.max_bytes))


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message, "message": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def safe_errors(value: Any) -> Any:
    """FastAPI's validation errors as plain JSON: bytes decoded, NaN/Infinity as text,
    anything else not JSON (an exception in `ctx`) as its str."""
    if isinstance(value, dict):
        return {str(k): safe_errors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_errors(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value)[:200].decode("utf-8", "replace")
        return text
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def body_is_not_json(errors: list[dict[str, Any]]) -> bool:
    """Whether FastAPI got bytes where the route wanted a JSON object (a text/plain or form body)."""
    return any(isinstance(e.get("input"), (bytes, bytearray)) for e in errors)
