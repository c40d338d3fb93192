"""The dashboard page in a real headless Chromium, served by the real daemon (`sitwell run`)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.plugins.browser import ARTIFACTS, SitwellProcess, screenshot, sse_events

pytestmark = pytest.mark.browser

READY = "body[data-ready='true']"
QUIET_POSTURE_RULES = {"uneven_after_s": 3600, "crossed_after_s": 3600, "slouch_after_s": 3600}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    # a 30-minute spell after 30 s away, looped; at 120x a 5-minute sit limit is reached in
    # seconds. One daemon for the module: each test puts back the settings it changes.
    proc = SitwellProcess(tmp_path_factory.mktemp("browser"), ["--speed", "120", "--scenario", "long-spell"])
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def defaults(daemon):
    """The daemon's settings are put back after the test, whatever it changed."""
    before = httpx.get(daemon.url + "/api/settings").json()
    yield before
    assert httpx.put(daemon.url + "/api/settings", json=before).status_code == 200


def quiet_and_acknowledge_all(url: str) -> None:
    """No reminder can fire now (long sit limit, posture reminders off, no repeats), and
    every open one is acknowledged: the next banner is the one the test raises by
    lowering the sit limit. (The `defaults` fixture puts the settings back.)"""
    with httpx.Client(base_url=url, timeout=10) as api:
        quiet = {"rules": {"sit_limit_min": 120, "repeat_every_min": 60, **QUIET_POSTURE_RULES}}
        assert api.put("/api/settings", json=quiet).status_code == 200
        for r in api.get("/api/reminders").json():
            if not r["acknowledged"]:
                assert api.post(f"/api/reminders/{r['id']}/ack").status_code == 200


def open_page(page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector(READY)


def open_settings(page) -> None:
    """The settings card is folded (its summary line says what is set): unfold it."""
    if not page.evaluate("() => document.getElementById('settings-details').open"):
        page.click("#settings-details > summary")


def canvas_stats(page) -> dict:
    """Distinct colours, the share of pixels unlike the empty-seat colour, and the darkest
    and brightest luminance (1st and 99.9th percentile) of the heatmap canvas."""
    return page.evaluate(
        """() => {
        const c = document.getElementById('heatmap');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        const lum = [];
        let differ = 0;
        for (let i = 0; i < d.length; i += 4) {
          colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
          if (Math.abs(d[i] - 13) + Math.abs(d[i + 1] - 16) + Math.abs(d[i + 2] - 38) > 30) differ++;
          lum.push(0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2]);
        }
        lum.sort((a, b) => a - b);
        const q = (f) => lum[Math.floor(f * (lum.length - 1))];
        return {width: c.width, height: c.height, colours: colours.size, drawn: c.dataset.dim || null,
                share: differ / (d.length / 4), darkest: q(0.01), brightest: q(0.999)};
    }"""
    )


def seated_canvas_stats(page, timeout: float = 15.0) -> dict:
    """canvas_stats of a frame drawn while someone sits (an empty seat is drawn faded)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = canvas_stats(page)
        if stats["drawn"] == "false" or time.monotonic() > deadline:  # data-dim="false"
            return stats
        time.sleep(0.2)


def test_live_view_draws_the_heatmap_and_readouts(browser_page, daemon):
    page = browser_page
    open_page(page, daemon.url)
    # the sitter sits down after 30 s simulated (0.25 s here): wait for a seated posture
    page.wait_for_function(
        "() => { const p = document.getElementById('posture').dataset.posture; return p && p !== 'empty'; }"
    )
    stats = seated_canvas_stats(page)
    assert stats["width"] >= 120 and stats["width"] == stats["height"]
    assert stats["colours"] > 50, stats  # a smooth colour map, not a flat fill
    assert stats["share"] > 0.05, stats  # load drawn on the dark empty-seat colour
    # the most loaded cells reach the pale top of the colour map, unloaded ones stay dark
    assert stats["brightest"] > 180 and stats["darkest"] < 80, stats
    assert stats["drawn"] == "false"  # a seated frame, drawn at full strength
    posture = page.text_content("#posture")
    assert posture in {"Sitting upright", "Leaning left", "Leaning right", "Left leg crossed",
                       "Right leg crossed", "Slouching", "Perched forward"}
    assert page.text_content("#balance-left-text").startswith("Left ")
    # both read in one go: the page updates a few times a second
    left, right = page.evaluate(
        "() => ['balance-left-text', 'balance-right-text'].map("
        "id => parseInt(document.getElementById(id).textContent.split(' ')[1], 10))"
    )
    assert left + right == 100 and 20 <= left <= 80
    spell_before = page.text_content("#spell")
    page.wait_for_function(f"() => document.getElementById('spell').textContent !== '{spell_before}'")
    assert page.get_attribute("#spell-progress", "value") not in (None, "0")
    page.wait_for_function("() => /\\/s$/.test(document.getElementById('health-rate').textContent)", timeout=15_000)
    assert page.text_content("#health-connected") == "connected"
    # frames analysed of received (and shed / lost in transit when there are any), from /healthz
    page.wait_for_function("() => /^\\d+ of \\d+/.test(document.getElementById('health-flow').textContent)",
                           timeout=15_000)
    flow = httpx.get(daemon.url + "/healthz").json()["inputs"][0]["flow"]
    shown = page.text_content("#health-flow")
    analysed, received = (int(x) for x in shown.split(" · ")[0].split(" of "))
    assert 0 < analysed <= received <= flow["received"], (shown, flow)
    if "shed" in shown:  # the page says so only when the daemon counted it
        assert flow["shed"] > 0, (shown, flow)
    assert page.text_content("#link-status") == "live"
    assert page.is_hidden("#cushion-picker")  # one cushion: no selector
    screenshot(page, "dashboard-desktop")

    page.wait_for_selector("#week-chart svg")
    page.set_viewport_size({"width": 390, "height": 844})
    # charts are redrawn for the narrow screen, so their labels keep a readable size
    page.wait_for_function("() => document.querySelector('#week-chart svg').viewBox.baseVal.width < 400")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    assert seated_canvas_stats(page)["colours"] > 50
    screenshot(page, "dashboard-phone")
    assert page.sitwell_errors == []


def test_reminder_shows_within_a_second_and_is_acknowledged(browser_page, daemon, defaults):
    page = browser_page
    quiet_and_acknowledge_all(daemon.url)
    open_page(page, daemon.url)
    arrived: dict[str, float] = {}
    stop = threading.Event()

    def listen() -> None:  # a second subscriber: when the daemon raised the reminder
        with httpx.Client(timeout=30) as c, c.stream("GET", daemon.url + "/api/stream") as r:
            for name, payload in sse_events(r, time.monotonic() + 40):
                if name == "reminder" and payload["kind"] == "sit_too_long":
                    arrived.setdefault(payload["id"], time.time())
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.3)
    with httpx.Client(base_url=daemon.url, timeout=10) as api:
        # one reminder only (no repeats, no posture reminders), so the banner stays on it
        patch = {"rules": {"sit_limit_min": 5, "repeat_every_min": 60, **QUIET_POSTURE_RULES}}
        assert api.put("/api/settings", json=patch).status_code == 200
        deadline = time.monotonic() + 30
        while not arrived and time.monotonic() < deadline:
            time.sleep(0.02)
        assert arrived, "the daemon raised no reminder"
        rid = next(iter(arrived))
        banner = page.wait_for_selector(f"#reminder-banner[data-id='{rid}']:not([hidden])")
        shown_ms = int(banner.get_attribute("data-shown-at"))
        delay = shown_ms / 1000 - arrived[rid]
        assert delay < 1.0, f"banner shown {delay:.3f} s after the daemon sent the reminder"
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "reminder-latency.txt").write_text(f"banner shown {delay * 1000:.0f} ms after the SSE event\n")
        assert page.text_content("#reminder-title")
        assert "sitting" in page.text_content("#reminder-message").lower()
        assert page.get_attribute("#reminder-banner .banner-text", "aria-live") == "assertive"
        item = page.wait_for_selector(f"#reminder-list li[data-id='{rid}']")
        assert item.get_attribute("data-acknowledged") == "false"
        screenshot(page, "dashboard-reminder")

        with page.expect_response(lambda r: r.url.endswith(f"/api/reminders/{rid}/ack")) as ack:
            page.click("#reminder-ack")
        assert ack.value.status == 200
        page.wait_for_selector(f"#reminder-banner[data-id='{rid}']", state="hidden")
        page.wait_for_selector(f"#reminder-list li[data-id='{rid}'][data-acknowledged='true']")
        listed = {r["id"]: r for r in api.get("/api/reminders").json()}
        assert listed[rid]["acknowledged"] is True
    stop.set()
    assert page.sitwell_errors == []


def test_snooze_from_the_banner(browser_page, daemon, defaults):
    page = browser_page
    quiet_and_acknowledge_all(daemon.url)
    open_page(page, daemon.url)
    assert page.is_hidden("#reminder-banner")
    with httpx.Client(base_url=daemon.url, timeout=10) as api:
        api.put("/api/settings", json={"rules": {"sit_limit_min": 5, "repeat_every_min": 60, **QUIET_POSTURE_RULES}})
        banner = page.wait_for_selector("#reminder-banner:not([hidden])", timeout=30_000)
        rid = banner.get_attribute("data-id")
        kind = banner.get_attribute("data-kind")
        with page.expect_response(lambda r: f"/api/reminders/{rid}/snooze" in r.url) as snoozed:
            page.click("[data-testid='snooze-30']")
        response = snoozed.value
        assert response.status == 200
        assert response.url.endswith("minutes=30")
        body = response.json()
        assert body["reminder"]["id"] == rid and body["reminder"]["kind"] == kind
        assert body["until_t"] >= body["reminder"]["t"] + 30 * 60
        page.wait_for_selector("#reminder-banner", state="hidden")
    assert page.sitwell_errors == []


def test_settings_form_saves_and_shows_errors(browser_page, daemon, defaults):
    page = browser_page
    open_page(page, daemon.url)
    page.wait_for_function("() => document.getElementById('set-sit-limit').value !== ''")
    summary = page.text_content("#settings-summary")
    assert f"get up after {defaults['rules']['sit_limit_min']:g} min" in summary, summary
    open_settings(page)
    assert float(page.input_value("#set-sit-limit")) == defaults["rules"]["sit_limit_min"]

    # the range lives in the daemon's config model: its 422 message reaches the page
    page.fill("#set-sit-limit", "2")
    with page.expect_response(lambda r: r.url.endswith("/api/settings") and r.request.method == "PUT") as put:
        page.click("#settings-save")
    assert put.value.status == 422
    page.wait_for_selector("#settings-status[data-kind='error']")
    message = page.text_content("#settings-status")
    assert "sit limit" in message and "5" in message, message
    assert page.get_attribute("#set-sit-limit", "aria-invalid") == "true"
    assert (
        httpx.get(daemon.url + "/api/settings").json()["rules"]["sit_limit_min"] == defaults["rules"]["sit_limit_min"]
    )

    page.fill("#set-sit-limit", "40")
    page.fill("#set-sensitivity", "2")
    page.uncheck("#set-always")
    page.fill("#set-hours-from", "08:30")
    page.fill("#set-hours-to", "17:00")
    page.check("#set-dnd")
    with page.expect_response(lambda r: r.url.endswith("/api/settings") and r.request.method == "PUT") as put:
        page.click("#settings-save")
    assert put.value.status == 200
    page.wait_for_selector("#settings-status[data-kind='ok']")
    saved = httpx.get(daemon.url + "/api/settings").json()
    assert saved["rules"]["sit_limit_min"] == 40
    assert saved["rules"]["working_hours"] == "08:30-17:00"
    assert saved["rules"]["do_not_disturb"] is True
    assert saved["analysis"]["sensitivity"] == 2
    # applied without a restart: the live view's limit follows
    page.wait_for_function("() => document.getElementById('spell-limit').textContent === 'of 40 min'")

    # hours out of order are caught before they are sent
    page.fill("#set-hours-from", "18:00")
    page.click("#settings-save")
    page.wait_for_selector("#settings-status[data-kind='error']")
    assert "start before" in page.text_content("#settings-status")
    # Chromium logs the expected 422 above as a failed resource; anything else is a bug
    assert [e for e in page.sitwell_errors if "status of 422" not in e] == []


def held_postures(timeline: list[dict]) -> set[str]:
    held: set[str] = set()
    for item in timeline:
        if item["type"] == "spell":
            if item.get("segments"):
                held |= {seg["posture"] for seg in item["segments"]}
            else:
                held |= {p for p, s in (item.get("postures") or {}).items() if s > 0}
    return held


def test_history_charts_render(browser_page, daemon):
    page = browser_page
    # the daemon has been running this module's tests: today has a spell in the database
    with httpx.Client(base_url=daemon.url, timeout=10) as api:
        deadline = time.monotonic() + 20
        while not api.get("/api/timeline").json() and time.monotonic() < deadline:
            time.sleep(0.5)
        timeline = api.get("/api/timeline").json()
        today = api.get("/api/stats/daily", params={"days": 7}).json()[-1]
    assert timeline, "no spell recorded today"
    open_page(page, daemon.url)
    page.wait_for_selector("#timeline svg rect[data-kind='spell']")
    # spells are drawn from their posture segments (or, without them, posture seconds);
    # the day goes on while the page loads, so what is drawn lies between two reads
    drawn = {r.get_attribute("data-posture") for r in page.query_selector_all("#timeline rect[data-kind='spell']")}
    after = httpx.get(daemon.url + "/api/timeline").json()
    assert held_postures(timeline) - {"empty"} <= drawn <= held_postures(after), (drawn, timeline, after)

    page.wait_for_selector("#week-chart svg rect.bar")
    assert len(page.query_selector_all("#week-chart rect.bar")) == 7
    rows = page.query_selector_all("#week-table tbody tr")
    assert len(rows) == 7
    first = rows[0]  # newest first: today
    assert first.get_attribute("data-day") == today["date"]
    cells = [c.text_content() for c in first.query_selector_all("td")]
    assert cells[0] != "0 min" and today["minutes_seated"] > 0
    # today's reminders are the ones the page lists (the same source, so they agree)
    sent, acked = (int(n) for n in cells[5].replace(" done", "").split(", ")) if cells[5] != "none" else (0, 0)
    items = page.query_selector_all("#reminder-list [data-testid=reminder-item]")
    assert sent == len(items)
    assert acked == len([i for i in items if i.get_attribute("data-acknowledged") == "true"])
    assert page.query_selector("#posture-legend li") is not None
    screenshot(page, "dashboard-history")
    assert page.sitwell_errors == []


def test_token_protected_dashboard(browser_page, inprocess_daemon):
    """Beyond loopback: without the token the page says so; the log-in link and #token work."""
    token = "browser-test-token"
    secured = inprocess_daemon({"sim.scenario": "long-spell", "sim.speed": 120.0}, token=token, require_token=True)
    page = browser_page

    open_page(page, secured.url)
    page.wait_for_selector("#auth-note:not([hidden])")
    page.wait_for_function("() => document.getElementById('set-sit-limit').value !== ''")  # reading is open
    open_settings(page)
    page.fill("#set-sit-limit", "33")
    page.click("#settings-save")
    page.wait_for_selector("#settings-status[data-kind='error']")
    assert httpx.get(secured.url + "/api/settings").json()["rules"]["sit_limit_min"] != 33

    # the log-in link: cookie, redirect to a clean address, live stream and changes work
    page.goto(f"{secured.url}/?token={token}")
    page.wait_for_selector(READY)
    assert page.url == secured.url + "/"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sitwell_token"]["httpOnly"] is True
    assert page.is_hidden("#auth-note")
    page.wait_for_selector("#link-status[data-state='live']")
    page.wait_for_function("() => document.getElementById('set-sit-limit').value !== ''")
    open_settings(page)
    page.fill("#set-sit-limit", "33")
    page.click("#settings-save")
    page.wait_for_selector("#settings-status[data-kind='ok']")
    assert httpx.get(secured.url + "/api/settings").json()["rules"]["sit_limit_min"] == 33

    # #token=T instead: kept in the tab, sent as a header and on the stream's URL
    page.context.clear_cookies()
    page.goto("about:blank")  # a new document, as when the link is opened in a new tab
    page.goto(f"{secured.url}/#token={token}")
    page.wait_for_selector(READY)
    assert "token" not in page.url
    assert page.is_hidden("#auth-note")
    page.wait_for_selector("#link-status[data-state='live']")
    page.wait_for_function("() => document.getElementById('set-sit-limit').value !== ''")
    open_settings(page)
    page.fill("#set-sit-limit", "34")
    page.click("#settings-save")
    page.wait_for_selector("#settings-status[data-kind='ok']")
    assert httpx.get(secured.url + "/api/settings").json()["rules"]["sit_limit_min"] == 34
    # the 401s of the first visit are expected in the console; nothing else
    assert [e for e in page.sitwell_errors if "status of 401" not in e] == []


def test_reminder_becomes_a_notification_when_the_tab_is_hidden(browser_page, daemon, defaults):
    page = browser_page
    page.context.grant_permissions(["notifications"], origin=daemon.url)
    # the tab is in the background (headless Chromium always reports visible), and every
    # Notification the page creates is recorded on its way to the real constructor
    page.add_init_script(
        """
        Object.defineProperty(Document.prototype, 'hidden', {get: () => true});
        const RealNotification = window.Notification;
        window.shownNotifications = [];
        window.Notification = class extends RealNotification {
          constructor(title, options) {
            super(title, options);
            window.shownNotifications.push({title, body: options && options.body, tag: options && options.tag});
          }
        };
        """
    )
    quiet_and_acknowledge_all(daemon.url)
    open_page(page, daemon.url)
    assert page.evaluate("() => Notification.permission") == "granted"
    assert page.is_hidden("#notify-enable")  # nothing to ask for
    shown_before = page.evaluate("() => window.shownNotifications.length")
    assert shown_before == 0  # reminders already listed at load do not pop up again
    with httpx.Client(base_url=daemon.url, timeout=10) as api:
        api.put("/api/settings", json={"rules": {"sit_limit_min": 5, "repeat_every_min": 60, **QUIET_POSTURE_RULES}})
        page.wait_for_function("() => window.shownNotifications.length > 0", timeout=30_000)
    [shown] = page.evaluate("() => window.shownNotifications")[:1]
    assert shown["title"] == "sitwell: Time to get up"
    assert shown["tag"] == page.get_attribute("#reminder-banner", "data-id")
    assert "sitting" in shown["body"].lower()
    assert page.sitwell_errors == []


def test_a_database_damaged_at_start_is_said_on_the_page(browser_page, tmp_path):
    """Issue 19.5: the dashboard's health says the database was damaged and moved aside."""
    import random
    import sqlite3

    db = tmp_path / "sitwell.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 200,) for _ in range(3000)])
    conn.commit()
    conn.close()
    with open(db, "r+b") as f:
        for page_no in range(20, 100, 5):
            f.seek(page_no * 4096)
            f.write(bytes(random.Random(page_no).randrange(256) for _ in range(4096)))
    proc = SitwellProcess(tmp_path, [])
    try:
        open_page(browser_page, proc.url)
        browser_page.wait_for_function(
            "() => document.querySelector('[data-testid=health-store]').textContent.includes('damaged')",
            timeout=10_000)
        text = browser_page.text_content("[data-testid=health-store]")
        assert "moved to" in text and ".damaged-" in text, text
    finally:
        proc.stop()
