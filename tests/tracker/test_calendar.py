"""Calendar quiet: no reminders during busy ICS events; the one due comes right after.
Calendars are read from a file:// path and over a real local HTTP server."""

from __future__ import annotations

import http.server
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.tracker.calendar import CalendarQuiet
from tests.plugins.tracker_run import Run


def ics(*events: str) -> str:
    body = "\r\n".join(events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sitwell tests//EN\r\n{body}\r\nEND:VCALENDAR\r\n"


def event(uid: str, start: str, end: str, summary: str = "Meeting", extra: str = "") -> str:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"DTSTART:{start}", f"DTEND:{end}",
             f"SUMMARY:{summary}"]
    lines += [x for x in extra.split("\n") if x]
    return "\r\n".join(lines + ["END:VEVENT"])


MEETING = event("m1", "20261124T092000Z", "20261124T094000Z", "Design review")


class CalendarServer:
    """A real HTTP server on a free loopback port serving `body` (and counting requests)."""

    def __init__(self, body: str):
        self.body = body.encode()
        self.requests: list[dict[str, str]] = []
        self.status = 200
        self.delay = 0.0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                outer.requests.append(dict(self.headers))
                time.sleep(outer.delay)
                if outer.status != 200:
                    self.send_error(outer.status)
                    return
                if self.headers.get("If-None-Match") == '"v1"':
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/work.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def calendar_server():
    servers: list[CalendarServer] = []

    def start(body: str) -> CalendarServer:
        s = CalendarServer(body)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "work.ics"
    path.write_text(text)
    return path.as_uri()  # file:///...


def test_reminder_due_in_a_meeting_comes_right_after_it_file_url(tmp_path):
    url = write(tmp_path, ics(MEETING))
    plain, quiet = Run(), Run(calendar=url)
    plain.feed(2500)
    quiet.feed(2500)
    assert plain.kinds("sit_too_long") == [1500.0, 1800.0, 2100.0, 2400.0]
    # 09:25 is inside 09:20-09:40: held back, sent once at 09:40:00, then every 5 minutes again
    assert quiet.kinds("sit_too_long") == [2400.0]
    assert quiet.tr.extras()["calendar"]["loaded"] is True


def test_calendar_over_http_with_a_timeout_and_revalidation(calendar_server):
    server = calendar_server(ics(MEETING))
    cal = CalendarQuiet(server.url, refresh_s=3600.0)
    assert cal.busy(datetime(2026, 11, 24, 9, 30, tzinfo=UTC)) == "Design review"
    assert cal.busy(datetime(2026, 11, 24, 9, 40, tzinfo=UTC)) is None  # the end is exclusive
    assert cal.next_free(datetime(2026, 11, 24, 9, 30, tzinfo=UTC)) == datetime(2026, 11, 24, 9, 40,
                                                                                         tzinfo=UTC)
    assert cal.load_now() and server.requests[-1].get("If-None-Match") == '"v1"'  # 304: kept
    assert cal.busy(datetime(2026, 11, 24, 9, 30, tzinfo=UTC)) == "Design review"
    r = Run()
    r.tr.calendar_source = cal
    r.feed(2500)
    assert r.kinds("sit_too_long") == [2400.0]


def test_recurring_events_transparent_cancelled_and_all_day(tmp_path):
    daily = event("d1", "20261120T091000Z", "20261120T093000Z", "Stand-up", "RRULE:FREQ=DAILY")
    free = event("f1", "20261124T093000Z", "20261124T100000Z", "Focus time", "TRANSP:TRANSPARENT")
    gone = event("c1", "20261124T093000Z", "20261124T100000Z", "Cancelled", "STATUS:CANCELLED")
    allday = "\r\n".join(["BEGIN:VEVENT", "UID:a1", "DTSTAMP:20261101T000000Z", "DTSTART;VALUE=DATE:20261124",
                          "DTEND;VALUE=DATE:20261125", "SUMMARY:Conference", "END:VEVENT"])
    cal = CalendarQuiet(write(tmp_path, ics(daily, free, gone, allday)))
    at = lambda h, m: datetime(2026, 11, 24, h, m, tzinfo=UTC)  # noqa: E731
    assert cal.busy(at(9, 15)) == "Stand-up"  # the fifth day of a daily series
    assert cal.busy(at(9, 35)) is None
    assert cal.busy(at(12, 0)) is None
    assert cal.busy(at(9, 15) + timedelta(days=30)) == "Stand-up"


def test_floating_times_are_read_in_the_epochs_zone(tmp_path):
    cal = CalendarQuiet(write(tmp_path, ics(event("l1", "20261124T092000", "20261124T094000"))))
    cet = timezone(timedelta(hours=1))
    assert cal.busy(datetime(2026, 11, 24, 9, 30, tzinfo=cet)) == "Meeting"
    assert cal.busy(datetime(2026, 11, 24, 9, 30, tzinfo=UTC).astimezone(cet)) is None


@pytest.mark.parametrize("bad", ["missing", "garbage", "http-500", "unreachable", "scheme"])
def test_a_bad_calendar_is_logged_and_ignored(bad, tmp_path, calendar_server, caplog):
    if bad == "missing":
        url = (tmp_path / "nope.ics").as_uri()
    elif bad == "garbage":
        url = write(tmp_path, "this is not a calendar\x00\x01")
    elif bad == "http-500":
        server = calendar_server(ics(MEETING))
        server.status = 500
        url = server.url
    elif bad == "unreachable":
        server = calendar_server(ics(MEETING))
        url = server.url
        server.close()
    else:
        url = "ftp://example.invalid/work.ics"
    r = Run(calendar=url)
    r.feed(1501)
    assert r.kinds("sit_too_long") == [1500.0]  # no quiet, no crash
    assert "calendar" in caplog.text and "not usable" in caplog.text


def test_the_last_good_calendar_is_kept_when_a_refresh_fails(calendar_server):
    server = calendar_server(ics(MEETING))
    cal = CalendarQuiet(server.url, refresh_s=3600)
    assert cal.load_now()
    server.status = 503
    assert cal.load_now()  # failed, but the previous copy stays in use
    assert cal.errors == 1
    assert cal.busy(datetime(2026, 11, 24, 9, 30, tzinfo=UTC)) == "Design review"


def test_analyze_holds_reminders_during_a_meeting(tmp_path, samples_dir):
    """`sitwell analyze` with a calendar: the first sit_too_long moves to the end of a meeting
    that covers the time it was due (the small sample, a 5-minute sit limit)."""
    import json

    from click.testing import CliRunner

    from monitor.cli.main import main

    sample = samples_dir / "small-8x8.jsonl.gz"

    def sit_reminders(*args: str) -> list[dict]:
        out = CliRunner().invoke(main, ["analyze", str(sample), "--jsonl", "--no-progress", "--sit-limit", "5", *args])
        assert out.exit_code == 0, out.output
        lines = [json.loads(x) for x in out.output.splitlines()]
        return [x for x in lines if x["type"] == "reminder" and x["kind"] == "sit_too_long"]

    plain = sit_reminders()
    assert plain, "the sample has a spell of 5 minutes or more"
    due = datetime.fromisoformat(plain[0]["at"])
    start, end = due - timedelta(minutes=1), (due + timedelta(seconds=90)).replace(microsecond=0)
    fmt = "%Y%m%dT%H%M%SZ"
    meeting = event("a1", start.astimezone(UTC).strftime(fmt), end.astimezone(UTC).strftime(fmt))
    config = tmp_path / "c.toml"
    config.write_text(f'[rules]\ncalendar = "{write(tmp_path, ics(meeting))}"\n')
    quiet = sit_reminders("--config", str(config))
    assert quiet, "held back, not lost"
    first = datetime.fromisoformat(quiet[0]["at"])
    assert end <= first < end + timedelta(seconds=1)  # right after the meeting (the next frame)


def test_on_the_daemons_event_loop_a_slow_calendar_never_blocks(calendar_server):
    """The first load runs in a thread there: busy() answers at once (no quiet yet), then the calendar is in."""
    import asyncio

    server = calendar_server(ics(MEETING))
    server.delay = 1.0
    cal = CalendarQuiet(server.url, refresh_s=3600)
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

    async def ask():
        started = time.monotonic()
        first = cal.busy(at)
        return first, time.monotonic() - started

    first, took = asyncio.run(ask())
    assert first is None and took < 0.5
    deadline = time.monotonic() + 10
    while cal.loads == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cal.busy(at) == "Design review"


def test_a_calendar_server_slower_than_the_timeout_is_given_up(calendar_server, caplog):
    server = calendar_server(ics(MEETING))
    server.delay = 1.5
    cal = CalendarQuiet(server.url, timeout_s=0.3)
    started = time.monotonic()
    assert cal.load_now() is False
    assert time.monotonic() - started < 1.2
    assert cal.errors == 1 and "Timeout" in (cal.last_error or "")
