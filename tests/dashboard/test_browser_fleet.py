"""The fleet overview with 1,000 cushions in the real headless Chromium: the real daemon reading
1,000 cushions (tests/plugins/fleet_input.py), the real app, the real page.

Tiles show, the filter and the sort work, live batches update tiles in place, opening a tile
opens that cushion's live view (its heatmap streamed for it alone), and the page stays
responsive: a filter or sort over 1,000 tiles is drawn within FILTER_MAX_MS, and no frame of
the page waits longer than FRAME_GAP_MAX_MS while the stream updates tiles. At 390 px the
grid is two columns and nothing scrolls sideways.
"""

from __future__ import annotations

import logging
import statistics
import time

import httpx
import pytest

from tests.plugins.browser import screenshot

# the 1,000-cushion tests run one after another on one worker (scripts/test: --dist loadgroup)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fleet1000")]
log = logging.getLogger(__name__)

FLEET = 1000
READY = "body[data-ready='true']"
# Bounds a user would call broken, not speed figures (those are in docs/performance.md, measured
# 74-152 ms and a 17 ms worst gap on an idle machine): the suite shares two cores with brokers,
# daemons and other browsers, and a timed test must not fail on a busy machine.
FILTER_MAX_MS = 2000  # from the key press to the filtered grid drawn (measured: see the log line)
FRAME_GAP_MAX_MS = 2000  # the longest the page's animation frames stall while batches arrive
TILES = "#fleet-grid .tile"


@pytest.fixture
def fleet(fleet_daemon):
    d = fleet_daemon(FLEET)
    deadline = time.monotonic() + 90  # 1,000 cushions come up in ~10 s idle, far slower on a busy machine
    while time.monotonic() < deadline:
        rows = httpx.get(d.url + "/api/fleet", timeout=10).json()["rows"]
        if len(rows) == FLEET and sum(1 for r in rows if r[4]) >= 20:  # some reminders raised
            return d
        time.sleep(0.5)
    raise AssertionError("the 1,000 cushions did not come up with reminders")


def shown(page) -> list[dict]:
    return page.eval_on_selector_all(TILES, """els => els.map(e => ({
        cushion: e.dataset.cushion, occupied: e.dataset.occupied, spell: Number(e.dataset.spell),
        reminders: Number(e.dataset.reminders)}))""")


def sorted_by(page, sort: str) -> list[dict]:
    """Choose `sort` and read the tiles it drew, in one task of the page (no batch in between)."""
    return page.evaluate(f"""() => {{
        const select = document.getElementById('fleet-sort');
        select.value = '{sort}';
        select.dispatchEvent(new Event('change'));
        return [...document.querySelectorAll('{TILES}')].map(e => ({{
            cushion: e.dataset.cushion, spell: Number(e.dataset.spell), reminders: Number(e.dataset.reminders)}}));
    }}""")


def timed(page, action, until: str) -> float:
    """ms from `action()` to the grid drawn as `until` (a JS predicate) says, in the page's clock."""
    page.evaluate("() => { window.__t0 = performance.now(); }")
    action()
    page.wait_for_function(until)
    return page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(performance.now() - window.__t0)))")


def test_fleet_overview_with_1000_cushions(browser_page, fleet):
    page = browser_page
    started = time.monotonic()
    page.goto(fleet.url + "/fleet")
    page.wait_for_selector(READY, timeout=30_000)
    page.wait_for_function(f"() => document.querySelectorAll('{TILES}').length === {FLEET}")
    first_draw = time.monotonic() - started
    assert page.text_content("#fleet-count") == f"{FLEET} of {FLEET} cushions"
    tiles = shown(page)
    assert [t["cushion"] for t in tiles] == [f"desk-{i:04d}" for i in range(1, FLEET + 1)]  # sorted by id
    assert {"0", "1"} <= {t["occupied"] for t in tiles}
    assert page.text_content(f"{TILES}[data-cushion='desk-0004'] .tile-posture") == "Seat empty"

    # live batches change tiles in place (a tile is the same element afterwards)
    page.evaluate("() => { window.__tile = document.querySelector(\"[data-cushion='desk-0001']\"); }")
    before = {t["cushion"]: (t["occupied"], t["spell"], t["reminders"]) for t in tiles}
    page.wait_for_function("() => window.sitwellFleet.seq > 0")
    page.wait_for_function(f"""(before) => [...document.querySelectorAll('{TILES}')].some(e =>
        JSON.stringify([e.dataset.occupied, Number(e.dataset.spell), Number(e.dataset.reminders)])
        !== JSON.stringify(before[e.dataset.cushion]))""", arg=before, timeout=30_000)
    assert page.evaluate("() => window.__tile === document.querySelector(\"[data-cushion='desk-0001']\")")

    # responsiveness while batches arrive: the longest gap between animation frames over 5 s
    gaps = page.evaluate("""() => new Promise(done => {
        const gaps = []; let last = performance.now(); const end = last + 5000;
        const step = (now) => { gaps.push(now - last); last = now;
            if (now < end) requestAnimationFrame(step); else done(gaps); };
        requestAnimationFrame(step); })""")
    worst_gap = max(gaps)

    # filter by id text
    filter_ms = timed(page, lambda: page.fill("#fleet-filter", "desk-00"),
                      "() => document.getElementById('fleet-count').dataset.shown === '99'")
    ids = [t["cushion"] for t in shown(page)]
    assert ids == [f"desk-{i:04d}" for i in range(1, 100)]
    page.fill("#fleet-filter", "desk-0777")
    page.wait_for_function("() => document.getElementById('fleet-count').dataset.shown === '1'")
    page.fill("#fleet-filter", "no-such-desk")
    page.wait_for_selector("#fleet-empty:not([hidden])")
    page.fill("#fleet-filter", "")
    page.wait_for_function(f"() => document.getElementById('fleet-count').dataset.shown === '{FLEET}'")

    # occupied only, then with reminders only
    occupied_ms = timed(page, lambda: page.check("#fleet-occupied"),
                        f"() => Number(document.getElementById('fleet-count').dataset.shown) < {FLEET}")
    tiles = shown(page)
    assert tiles and all(t["occupied"] == "1" for t in tiles)
    page.uncheck("#fleet-occupied")
    page.check("#fleet-reminders")
    page.wait_for_function(f"() => Number(document.getElementById('fleet-count').dataset.shown) < {FLEET}")
    tiles = shown(page)
    assert tiles and all(t["reminders"] > 0 for t in tiles)
    page.uncheck("#fleet-reminders")
    page.wait_for_function(f"() => document.getElementById('fleet-count').dataset.shown === '{FLEET}'")

    # sort: spell time, longest first; open reminders, most first. Live batches change tiles in
    # place and the grid is re-sorted at most every 2 s, so the order is read in the same task
    # as the sort that drew it (sorted_by), not after a batch may have come.
    sort_ms = timed(page, lambda: page.select_option("#fleet-sort", "spell"),
                    "() => document.querySelector('#fleet-grid .tile').dataset.cushion !== 'desk-0001'")
    spells = [t["spell"] for t in sorted_by(page, "spell")]
    assert spells == sorted(spells, reverse=True) and spells[0] > 0
    counts = [t["reminders"] for t in sorted_by(page, "reminders")]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    screenshot(page, "fleet-1000")
    page.select_option("#fleet-sort", "id")

    log.info("fleet page, %d cushions: first draw %.2f s; filter %.0f ms, occupied-only %.0f ms, sort %.0f ms"
             " (in-page render %.1f ms); animation frames over 5 s of batches: median %.0f ms, worst %.0f ms",
             FLEET, first_draw, filter_ms, occupied_ms, sort_ms,
             page.evaluate("() => window.sitwellFleet.lastFilterMs"), statistics.median(gaps), worst_gap)
    assert max(filter_ms, occupied_ms, sort_ms) < FILTER_MAX_MS
    assert worst_gap < FRAME_GAP_MAX_MS

    # opening a tile opens that cushion's live view, streamed for it alone
    page.fill("#fleet-filter", "desk-0042")
    page.wait_for_function("() => document.getElementById('fleet-count').dataset.shown === '1'")
    page.click(f"{TILES}[data-cushion='desk-0042']")
    page.wait_for_url("**/?cushion=desk-0042")
    page.wait_for_selector("body[data-ready='true']", timeout=30_000)
    page.wait_for_function("() => window.sitwell.cushion === 'desk-0042'")
    page.wait_for_function("() => window.sitwell.stream.url.includes('cushion=desk-0042')")
    page.wait_for_selector("#posture[data-cushion='desk-0042']", timeout=20_000)
    page.wait_for_function("() => document.getElementById('heatmap-caption').textContent.startsWith('16 × 16')",
                           timeout=20_000)
    assert page.is_visible("#fleet-link")  # back to all cushions from there
    watched = httpx.get(fleet.url + "/healthz", timeout=10).json()["sinks"]["sse"]["watched"]
    assert watched == 1  # the one page watches one cushion: no other cushion's heatmap is built
    assert page.sitwell_errors == []


def test_fleet_overview_on_a_phone(browser_page, fleet):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(fleet.url + "/fleet")
    page.wait_for_selector(READY, timeout=30_000)
    page.wait_for_function(f"() => document.querySelectorAll('{TILES}').length === {FLEET}")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    columns = page.evaluate("""() => new Set([...document.querySelectorAll('#fleet-grid .tile')].slice(0, 6)
        .map(e => Math.round(e.getBoundingClientRect().left))).size""")
    assert columns == 2
    box = page.locator(f"{TILES}[data-cushion='desk-0001']").bounding_box()
    assert box and box["width"] >= 150 and box["height"] < 120  # a readable tile, not a sliver
    page.fill("#fleet-filter", "desk-01")
    page.wait_for_function("() => document.getElementById('fleet-count').dataset.shown === '100'")
    screenshot(page, "fleet-1000-phone")
    assert page.sitwell_errors == []


def test_snapshot_reloads_side_by_side_keep_the_filter_true_and_drop_forgotten_tiles(browser_page, fleet_daemon):
    """A `resync` can come while a reconnection's snapshot is still loading. Two loads side by
    side once left the grid undrawn, so a tile whose cushion had just stood up stayed shown
    under "occupied only". A cushion the daemon forgets leaves the page at its next snapshot."""
    d = fleet_daemon(40, period_s=0.5)
    page = browser_page
    page.goto(d.url + "/fleet")
    page.wait_for_selector(READY, timeout=30_000)
    page.wait_for_function(f"() => document.querySelectorAll('{TILES}').length === 40")
    page.check("#fleet-occupied")
    page.wait_for_function("() => { const n = Number(document.getElementById('fleet-count').dataset.shown);"
                           " return n > 0 && n < 40; }", timeout=30_000)
    for _ in range(5):  # snapshots overlapping each other while batches keep coming
        page.evaluate("() => Promise.all([1, 2, 3].map(() => window.sitwellFleet.loadSnapshot()))")
        assert all(t["occupied"] == "1" for t in shown(page))
    page.uncheck("#fleet-occupied")
    page.wait_for_function("() => document.getElementById('fleet-count').dataset.shown === '40'")

    d.fleet_input.silenced.add("desk-0002")  # it falls silent, and is forgotten (mqtt.cushion_expiry_s)
    time.sleep(1.0)
    d.loop.call_soon_threadsafe(d.daemon.fleet.forget, "desk-0002")
    page.wait_for_function("() => !document.querySelector(\"[data-cushion='desk-0002']\")", timeout=10_000)
    assert page.text_content("#fleet-count") == "39 of 39 cushions"
    assert page.sitwell_errors == []
