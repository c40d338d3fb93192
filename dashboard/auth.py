"""Who may change things through the dashboard, and from which page.

A pure ASGI middleware (not BaseHTTPMiddleware, which buffers and interferes with the
SSE stream) that applies three checks before a request reaches a route:

1. Host (DNS rebinding): when the daemon listens on loopback without a token, only
   requests addressed to a loopback name are served. A page on evil.example that
   re-resolves its name to 127.0.0.1 sends `Host: evil.example` and is refused.
2. Origin (CSRF): every state-changing request (POST/PUT/PATCH/DELETE) whose Origin,
   or failing that Referer, is not this dashboard's own origin is refused with 403.
   Browsers always send Origin on cross-site POSTs; command-line clients send neither
   and are let through (they cannot be tricked into sending a user's cookie).
   State never changes on GET: routes that change state are POST/PUT only.
3. Token: with `require_token` (the daemon sets it when listening on anything but
   loopback) state-changing requests and the streams (`/api/stream`, `/api/fleet/stream`) need the token:
   `Authorization: Bearer T` or `X-Sitwell-Token: T`, or the `sitwell_token` cookie that
   `GET /?token=T` sets (HttpOnly, SameSite=Strict), or — for the streams only, since
   EventSource cannot set headers — a `?token=T` query parameter. A token presented by
   cookie on a state-changing request additionally needs a matching Origin/Referer.
   Missing token: 401; wrong token: 403. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-sitwell-token"
TOKEN_COOKIE = "sitwell_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STREAM_PATH = "/api/stream"
STREAM_PATHS = frozenset({STREAM_PATH, "/api/fleet/stream"})  # EventSource: the token may come as ?token=
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def tokens_equal(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison (hmac.compare_digest) so timing does not leak the token."""
    if presented is None or expected is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # Later duplicates win; good enough for the few headers looked at here.
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8000' -> '127.0.0.1', '[::1]:8000' -> '[::1]'."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def own_origin(scope: dict[str, Any], headers: dict[str, str]) -> str | None:
    """The origin the browser sees for this dashboard: scheme://Host."""
    host = headers.get("host")
    if not host:
        return None
    scheme = scope.get("scheme", "http")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    if default_port and host.endswith(":" + default_port):
        host = host[: -len(default_port) - 1]
    return f"{scheme}://{host}".lower()


def request_origin(headers: dict[str, str]) -> str | None:
    """The Origin header, else the origin part of Referer, else None (non-browser client)."""
    origin = headers.get("origin")
    if origin:
        return origin.lower()
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
        return "invalid"
    return None


def presented_token(scope: Mapping[str, Any], headers: Mapping[str, str], allow_query: bool) -> tuple[str | None, str]:
    """(token, how) where how is 'header', 'cookie', 'query' or 'none'."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "header"
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER].strip(), "header"
    if allow_query:
        qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if qs.get("token"):
            return qs["token"][0], "query"
    cookie_header = headers.get("cookie")
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # a malformed Cookie header is the client's problem, not a 500
            jar = SimpleCookie()
        if TOKEN_COOKIE in jar:
            return jar[TOKEN_COOKIE].value, "cookie"
    return None, "none"


async def _reject(send, status: int, message: str, extra_headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Host, Origin and token checks (see the module docstring)."""

    def __init__(
        self,
        app,
        *,
        token: str | None,
        require_token: bool,
        allowed_hosts: Iterable[str] | None,
    ) -> None:
        self.app = app
        self.token = token
        self.require_token = require_token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope.get("method", "GET").upper()
        path = scope.get("path", "")

        if self.allowed_hosts is not None:
            host = _host_name(headers.get("host", "")).lower()
            if host not in self.allowed_hosts:
                log.warning("refused request for Host %r (allowed: %s)", host, sorted(self.allowed_hosts))
                await _reject(send, 400, f"unexpected Host header {host!r}; open the dashboard by its loopback address")
                return

        unsafe = method in UNSAFE_METHODS
        origin = request_origin(headers)
        mine = own_origin(scope, headers)
        if unsafe and origin is not None and origin != mine:
            log.warning("refused cross-origin %s %s from %s (own origin %s)", method, path, origin, mine)
            await _reject(send, 403, "cross-origin request refused")
            return

        if self.require_token and (unsafe or path in STREAM_PATHS):
            token, how = presented_token(scope, headers, allow_query=path in STREAM_PATHS)
            if token is None:
                await _reject(
                    send,
                    401,
                    "this dashboard needs its access token: open /?token=<token> once, "
                    "or send Authorization: Bearer <token>",
                    [(b"www-authenticate", b'Bearer realm="sitwell"')],
                )
                return
            if not tokens_equal(token, self.token):
                await _reject(send, 403, "wrong access token")
                return
            if unsafe and how == "cookie" and origin is None:
                # A cookie is sent automatically; insist on proof the request came from our page.
                await _reject(send, 403, "a request authenticated by cookie must carry Origin or Referer")
                return

        await self.app(scope, receive, send)


def login_cookie_header(token: str, secure: bool) -> str:
    """Set-Cookie value for `GET /?token=T`."""
    parts = [f"{TOKEN_COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=31536000"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class HeadersMiddleware:
    """Adds fixed response headers (CSP and friends) without buffering streamed bodies."""

    def __init__(self, app, *, headers: dict[str, str]) -> None:
        self.app = app
        self.extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.extra if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
