"""Calendar quiet: no reminders while an ICS calendar has a busy event.

The calendar is an ICS file or URL (`file://`, `http://`, `https://`, or a plain path).
It is parsed with `icalendar`, recurring events are expanded with `recurring-ical-events`.
Busy means: a timed event (not all-day), not `TRANSP:TRANSPARENT`, not `STATUS:CANCELLED`.
Floating times (no zone) are read in the zone of the time asked about (the cushion's epoch).

Fetching: the first use loads the calendar at once (so `sitwell analyze` is repeatable) —
except on a running asyncio loop (the daemon), which a slow server must never stall: there
the first load, like every refresh, runs in a background thread. Afterwards a calendar
older than `refresh_s` is fetched again in a background thread and the previous one is
used meanwhile. HTTP has a timeout and revalidates with ETag /
Last-Modified. A calendar that cannot be read or parsed is logged and ignored (no quiet
from it); the last good copy is kept. Nothing here raises to the tracker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 5.0
MAX_BYTES = 5_000_000  # a calendar larger than this is refused (a wrong URL, not a calendar)
_DAYS_CACHED = 64


class CalendarQuiet:
    def __init__(self, source: str, refresh_s: float = 900.0, timeout_s: float = HTTP_TIMEOUT_S):
        self.source = source
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self._cal: Any = None
        self._loaded_at: float | None = None  # monotonic time of the last attempt
        self._etag: str | None = None
        self._modified: str | None = None
        self._days: dict[tuple[date, Any], list[tuple[datetime, datetime, str]]] = {}
        self._lock = threading.Lock()
        self._refreshing = False
        self.loads = 0
        self.errors = 0
        self.last_error: str | None = None

    # ---- queries ------------------------------------------------------------------------

    def busy(self, wall: datetime) -> str | None:
        """The summary of a busy event at `wall` ("busy" if it has none), or None."""
        self._ensure_fresh()
        if self._cal is None:
            return None
        for start, end, summary in self._intervals(wall.date(), wall.tzinfo):
            if start <= wall < end:
                return summary or "busy"
        return None

    def next_free(self, wall: datetime) -> datetime | None:
        """When the busy stretch around `wall` ends (back-to-back events joined), or None."""
        t, seen = wall, 0
        while seen < 50:
            seen += 1
            ends = [e for s, e, _ in self._intervals(t.date(), t.tzinfo) if s <= t < e]
            if not ends:
                return None if t == wall else t
            t = max(ends)
        return t

    def status(self) -> dict[str, Any]:
        return {"source": self.source, "loaded": self._cal is not None, "loads": self.loads,
                "errors": self.errors, "last_error": self.last_error}

    # ---- loading ---------------------------------------------------------------------------

    def load_now(self) -> bool:
        """Fetch and parse now; True if a calendar is in use afterwards."""
        self._loaded_at = time.monotonic()
        try:
            body = self._fetch()
            if body is not None:
                import icalendar

                cal = icalendar.Calendar.from_ical(body)
                with self._lock:
                    self._cal = cal
                    self._days.clear()
                self.loads += 1
                log.info("calendar %s loaded", self.source)
        except Exception as exc:  # any failure: keep the last good calendar, never raise
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("calendar %s not usable (%s); %s", self.source, self.last_error,
                        "keeping the previous copy" if self._cal is not None else "no calendar quiet")
        return self._cal is not None

    def _ensure_fresh(self) -> None:
        if self._loaded_at is None and not _on_event_loop():
            self.load_now()
        elif (self._loaded_at is None or time.monotonic() - self._loaded_at >= self.refresh_s) and not self._refreshing:
            self._refreshing = True
            self._loaded_at = time.monotonic()

            def refresh() -> None:
                try:
                    self.load_now()
                finally:
                    self._refreshing = False

            threading.Thread(target=refresh, name="sitwell-calendar", daemon=True).start()

    def _fetch(self) -> bytes | None:
        """The calendar's bytes, or None when an HTTP server says it has not changed."""
        url = urlparse(self.source)
        if url.scheme in ("http", "https"):
            import httpx

            headers = {}
            if self._etag:
                headers["If-None-Match"] = self._etag
            if self._modified:
                headers["If-Modified-Since"] = self._modified
            r = httpx.get(self.source, headers=headers, timeout=self.timeout_s, follow_redirects=True)
            if r.status_code == 304 and self._cal is not None:
                return None
            r.raise_for_status()
            if len(r.content) > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES} bytes")
            self._etag, self._modified = r.headers.get("etag"), r.headers.get("last-modified")
            return r.content
        if url.scheme == "file":
            path = Path(unquote(url.path))
        elif url.scheme in ("", ) or len(url.scheme) == 1:  # a plain path (or a Windows drive letter)
            path = Path(self.source).expanduser()
        else:
            raise ValueError(f"unsupported calendar scheme {url.scheme!r} (use file://, http:// or https://)")
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        return path.read_bytes()

    def _intervals(self, day: date, tz: tzinfo | None) -> list[tuple[datetime, datetime, str]]:
        key = (day, tz)
        with self._lock:
            cached = self._days.get(key)
            cal = self._cal
        if cached is not None or cal is None:
            return cached or []
        out: list[tuple[datetime, datetime, str]] = []
        try:
            import recurring_ical_events

            start = datetime(day.year, day.month, day.day, tzinfo=tz)
            for ev in recurring_ical_events.of(cal).between(start - timedelta(days=1), start + timedelta(days=2)):
                span = _busy_span(ev, tz)
                if span is not None:
                    out.append(span)
        except Exception as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("calendar %s: events of %s not readable (%s)", self.source, day, exc)
        with self._lock:
            if len(self._days) >= _DAYS_CACHED:
                self._days.clear()
            self._days[key] = out
        return out


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _busy_span(ev: Any, tz: tzinfo | None) -> tuple[datetime, datetime, str] | None:
    if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        return None
    start = ev.get("DTSTART")
    if start is None or not isinstance(start.dt, datetime):
        return None  # all-day events (holidays, "working from home") are not meetings
    s = start.dt
    end = ev.get("DTEND")
    if end is not None and isinstance(end.dt, datetime):
        e = end.dt
    else:
        dur = ev.get("DURATION")
        e = s + (dur.dt if dur is not None else timedelta(0))
    s = s.replace(tzinfo=tz) if s.tzinfo is None else s
    e = e.replace(tzinfo=tz) if e.tzinfo is None else e
    if e <= s:
        return None
    return s, e, str(ev.get("SUMMARY", "") or "")


_SHARED: dict[tuple[str, float], CalendarQuiet] = {}
_SHARED_LOCK = threading.Lock()


def shared(source: str, refresh_min: float = 15.0) -> CalendarQuiet:
    """One CalendarQuiet per source in the process (all cushions share the fetches)."""
    key = (source, float(refresh_min))
    with _SHARED_LOCK:
        cal = _SHARED.get(key)
        if cal is None:
            cal = _SHARED[key] = CalendarQuiet(source, refresh_s=refresh_min * 60.0)
        return cal
