"""The dashboard after a demo hour, in the real headless Chromium against the real daemon
(`sitwell run --scenario demo`, fast, with short reminder rules so an hour brings ~72
reminders): the page stays short at 1280 and 390 px, the banner never contradicts the live
state, the timeline's labels never overlap, the 7-day table says it scrolls, the numbers
agree, left/right balance is shown over weeks, and the words are for people (issue 17).
"""

from __future__ import annotations

import re
import time
from itertools import pairwise

import httpx
import pytest

from tests.plugins.browser import ARTIFACTS, SitwellProcess, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("demo_hour")]  # one demo hour, not one per worker

READY = "body[data-ready='true']"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEMO_HOUR_REMINDERS = 72
# short rules: a demo hour at 240x (15 s) raises about as many reminders as the issue saw
BUSY_RULES = {"sit_limit_min": 5, "repeat_every_min": 2, "uneven_after_s": 10, "crossed_after_s": 10,
              "slouch_after_s": 10, "cooldown_min": 1}
# "about one screen plus history": where the history starts, and the whole page, in px
# (before issue 17: 6,904 px at 1280 and ~10,000 at 390 after a demo hour; the history then
# started at ~1,630-1,940 px on a phone, 1.9-2.3 screens, before phone.css)
HISTORY_TOP_MAX = {1280: 1.3 * DESKTOP["height"], 390: 1.25 * PHONE["height"]}
# the pain journal card (about 300 px at 1280) came after the first caps (2,400 and 4,000 px);
# measured since: 2,385-2,441 px at 1280, 2,383-2,716 px at 390 (phone.css)
PAGE_MAX = {1280: 2700, 390: 3000}
BLANK_MAX_PX = 150  # blank space inside a card below its last line


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    proc = SitwellProcess(tmp_path_factory.mktemp("layout"), ["--speed", "240", "--scenario", "demo"])
    try:
        with httpx.Client(base_url=proc.url, timeout=10) as api:
            assert api.put("/api/settings", json={"rules": BUSY_RULES}).status_code == 200
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if len(api.get("/api/reminders").json()) >= DEMO_HOUR_REMINDERS:
                    break
                time.sleep(0.5)
            assert len(api.get("/api/reminders").json()) >= DEMO_HOUR_REMINDERS, "the demo raised too few reminders"
        yield proc
    finally:
        proc.stop()


def open_page(page, url: str, viewport: dict) -> None:
    page.set_viewport_size(viewport)
    page.goto(url + "/")
    page.wait_for_selector(READY, timeout=30_000)  # the machine may be busy: the demo runs at 240x
    page.wait_for_selector("#reminder-list li")
    page.wait_for_selector("#week-table tbody tr")
    page.wait_for_selector("#timeline svg")


def blank_below_content(page, selector: str) -> float:
    """Pixels between a card's last visible child and the card's own bottom edge."""
    return page.evaluate(
        """(sel) => {
        const card = document.querySelector(sel);
        const box = card.getBoundingClientRect();
        let bottom = box.top;
        for (const child of card.querySelectorAll('*')) {
          const r = child.getBoundingClientRect();
          const shown = r.width && r.height && child.checkVisibility({visibilityProperty: true});
          if (shown) bottom = Math.max(bottom, r.bottom);
        }
        const pad = parseFloat(getComputedStyle(card).paddingBottom);
        return box.bottom - bottom - pad;
    }""",
        selector,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_page_stays_short_after_a_demo_hour(browser_page, demo, viewport):
    page = browser_page
    width = viewport["width"]
    listed = httpx.get(demo.url + "/api/reminders").json()
    open_page(page, demo.url, viewport)
    kinds = {r["kind"] for r in listed}
    groups = page.query_selector_all("#reminder-list [data-testid=reminder-group]")
    assert {g.get_attribute("data-kind") for g in groups} == kinds
    # the latest few of each kind are in view, the rest folded away
    visible = page.evaluate("""() => [...document.querySelectorAll('#reminder-list [data-testid=reminder-item]')]
        .filter((li) => li.checkVisibility()).length""")
    assert visible <= 2 * len(kinds), visible
    assert page.is_visible("[data-testid=ack-all]")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    history_top = page.evaluate(
        "() => document.getElementById('timeline').closest('section').getBoundingClientRect().top + window.scrollY")
    screenshot(page, f"layout-demo-hour-{width}")
    with open(ARTIFACTS / "layout-heights.txt", "a") as out:
        out.write(f"{width} px: page {height} px, history starts at {history_top:.0f} px, "
                  f"{len(listed)} reminders in {len(kinds)} kinds\n")
    assert history_top <= HISTORY_TOP_MAX[width], f"the history starts at {history_top:.0f} px"
    assert height <= PAGE_MAX[width], f"the page is {height} px tall after {len(listed)} reminders"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    # no large blank areas beside (inside) the cards of the first rows
    for card in ("[data-testid=now-card]", "[data-testid=pause-card]", "[data-testid=reminders-card]",
                 "[data-testid=settings-card]"):
        blank = blank_below_content(page, card)
        assert blank <= BLANK_MAX_PX, f"{card}: {blank:.0f} px blank at {width} px"
    # the first screen tells how they sit, how long, and what to do
    for testid in ("posture", "spell", "advice"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"], f"{testid} is not on the first screen"
    assert page.get_by_test_id("advice").inner_text().strip()
    assert page.sitwell_errors == []


def label_boxes(page, selector: str) -> list[dict]:
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].map((t) => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        })""",
        selector,
    )


def assert_apart(boxes: list[dict], where: str) -> None:
    boxes = sorted(boxes, key=lambda b: b["left"])
    for a, b in pairwise(boxes):
        assert a["right"] + 2 <= b["left"], f"{where}: {a['text']!r} overlaps {b['text']!r}"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_timeline_axis_labels_do_not_overlap(browser_page, demo, viewport):
    page = browser_page
    open_page(page, demo.url, viewport)
    # the page's own day (the demo has run for hours of frame time)
    boxes = label_boxes(page, "#timeline .tick-label")
    assert len(boxes) >= 2
    assert_apart(boxes, f"the live timeline at {viewport['width']} px")
    assert all(re.fullmatch(r"\d\d:\d\d", b["text"]) for b in boxes), [b["text"] for b in boxes]
    # and the same chart code over days of every length, in the same page
    for hours in (1, 3, 9, 16):
        page.evaluate(
            """async (hours) => {
            const { drawTimeline } = await import('/static/charts.js');
            const start = new Date(2026, 10, 26, 7, 10);
            const items = [];
            for (let m = 0; m < hours * 60; m += 50) {
              const a = new Date(start.getTime() + m * 60e3);
              const b = new Date(a.getTime() + 40 * 60e3);
              items.push({type: 'spell', start_at: a.toISOString(), end_at: b.toISOString(), seconds: 2400,
                          postures: {upright: 1800, slouch: 600}});
              const e = new Date(b.getTime() + 10 * 60e3);
              items.push({type: 'break', start_at: b.toISOString(), end_at: e.toISOString(), seconds: 600});
            }
            drawTimeline(document.getElementById('timeline'), items, new Date(start.getTime() + hours * 3600e3));
        }""",
            hours,
        )
        boxes = label_boxes(page, "#timeline .tick-label")
        assert len(boxes) >= 2, hours
        assert_apart(boxes, f"{hours} h at {viewport['width']} px")
        svg = page.query_selector("#timeline svg").bounding_box()
        assert all(svg["x"] - 1 <= b["left"] and b["right"] <= svg["x"] + svg["width"] + 1 for b in boxes), hours
    screenshot(page, f"layout-timeline-{viewport['width']}")
    assert page.sitwell_errors == []


def test_week_table_says_it_scrolls_on_a_phone(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, PHONE)
    wrap = "#week-table-wrap"
    state = page.evaluate(
        """(sel) => { const w = document.querySelector(sel);
            return {overflow: w.scrollWidth > w.clientWidth + 2, more: w.dataset.more,
                    background: getComputedStyle(w).backgroundImage}; }""",
        wrap,
    )
    assert state["overflow"], "the table fits a phone: nothing to hint"
    assert state["more"] == "true"
    assert state["background"].count("gradient") >= 2, state["background"]  # the edge shadow
    assert page.is_visible("[data-testid=week-scroll-hint]")
    page.locator(wrap).scroll_into_view_if_needed()
    screenshot(page, "layout-week-table-390")
    # every column is reachable; at the end the hint goes
    page.evaluate("(sel) => { const w = document.querySelector(sel); w.scrollLeft = w.scrollWidth; }", wrap)
    page.wait_for_selector("[data-testid=week-scroll-hint]", state="hidden")
    assert page.get_attribute(wrap, "data-more") == "false"
    last_header = page.query_selector("#week-table thead th:last-child").bounding_box()
    assert last_header["x"] + last_header["width"] <= PHONE["width"] + 1
    # on a desktop the table fits and no hint shows
    page.set_viewport_size(DESKTOP)
    page.wait_for_function("() => document.getElementById('week-table-wrap').dataset.more === 'false'")
    assert page.is_hidden("[data-testid=week-scroll-hint]")
    assert page.sitwell_errors == []


# What the banner may not say beside the live posture (the reminders' own conditions).
CONTRADICTIONS = """
() => {
  const banner = document.getElementById('reminder-banner');
  if (banner.hidden) return null;
  const posture = document.getElementById('posture').dataset.posture;
  const title = document.getElementById('reminder-title').textContent;
  if (banner.dataset.state === 'resolved') {  // a thank-you must still be true
    const untrue = (title === 'Thanks — you got up' && posture !== 'empty')
      || (title === 'Thanks — you are sitting up again' && posture === 'slouch')
      || (title === 'Thanks — legs uncrossed' && posture.startsWith('cross'));
    return untrue ? `${title} beside ${posture}` : null;
  }
  const kind = banner.dataset.kind;
  const live = window.sitwell.live || {};
  const share = typeof live.left_share === 'number' ? live.left_share : null;
  const threshold = (window.sitwell.reminders.rules || {}).uneven_threshold ?? 0.1;
  const getUp = ['sit_too_long', 'sit_warning', 'stand_up'].includes(kind);
  let bad = false;
  if (getUp) bad = posture === 'empty';
  else if (kind === 'slouching') bad = posture !== 'slouch';
  else if (kind === 'crossed_legs') bad = !posture.startsWith('cross');
  else if (kind === 'uneven_load') bad = posture === 'empty' || posture.startsWith('cross')
      || (!posture.startsWith('lean') && share !== null && Math.abs(share - 0.5) < threshold - 1e-9);
  return bad ? `${title} beside ${posture}` : null;
}
"""


def test_banner_never_contradicts_the_live_state(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, DESKTOP)
    # watch every change of the page for 20 s (about 80 minutes of the demo at 240x)
    page.evaluate(
        f"""() => {{
        window.seen = {{contradictions: [], shown: new Set(), thanks: []}};
        const check = {CONTRADICTIONS.strip()};
        const look = () => {{
          const b = document.getElementById('reminder-banner');
          if (!b.hidden && b.dataset.state === 'open') window.seen.shown.add(b.dataset.id);
          if (!b.hidden && b.dataset.state === 'resolved') {{
            const t = document.getElementById('reminder-title').textContent;
            if (window.seen.thanks[window.seen.thanks.length - 1] !== t) window.seen.thanks.push(t);
          }}
          const bad = check();
          if (bad) window.seen.contradictions.push(bad);
        }};
        new MutationObserver(look).observe(document.body, {{subtree: true, childList: true, attributes: true,
                                                           characterData: true}});
    }}"""
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1)
        if page.evaluate("() => window.seen.contradictions.length"):
            break
    seen = page.evaluate("() => ({contradictions: window.seen.contradictions, shown: window.seen.shown.size,"
                         " thanks: window.seen.thanks})")
    screenshot(page, "layout-banner-1280")
    assert seen["contradictions"] == [], seen["contradictions"][:5]
    assert seen["shown"] >= 3, seen  # reminders were shown on the way...
    assert seen["thanks"], seen  # ...and some ended by themselves, kindly
    assert all(t.startswith(("Thanks — ", "You sat down")) for t in seen["thanks"]), seen["thanks"]
    assert page.sitwell_errors == []


# (reminder, live state) -> what the page decides; frame times in seconds
RESOLUTION_CASES = [
    ({"kind": "sit_too_long", "t": 1500, "spell_s": 1500}, {"occupied": True, "posture": "upright", "t": 1510,
                                                              "spell_s": 1510}, None),
    ({"kind": "sit_too_long", "t": 1500, "spell_s": 1500}, {"occupied": False, "posture": "empty", "t": 1510,
                                                              "spell_s": 1510}, "got_up"),
    # occupancy waits a few seconds; the posture already says "Seat empty"
    ({"kind": "sit_too_long", "t": 1500, "spell_s": 1500}, {"occupied": True, "posture": "empty", "t": 1502,
                                                              "spell_s": 1502}, "got_up"),
    ({"kind": "sit_too_long", "t": 1500, "spell_s": 1500}, {"occupied": True, "posture": "upright", "t": 1700,
                                                              "spell_s": 60}, "break"),
    ({"kind": "slouching", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "slouch", "t": 905,
                                                         "spell_s": 905}, None),
    ({"kind": "slouching", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "upright", "t": 905,
                                                         "spell_s": 905}, "sat_up"),
    ({"kind": "crossed_legs", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "cross_left", "t": 905,
                                                            "spell_s": 905}, None),
    ({"kind": "crossed_legs", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "forward", "t": 905,
                                                            "spell_s": 905}, "uncrossed"),
    ({"kind": "uneven_load", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "upright", "left_share": 0.66,
                                                           "t": 905, "spell_s": 905}, None),
    ({"kind": "uneven_load", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "lean_left", "left_share": 0.52,
                                                           "t": 905, "spell_s": 905}, None),
    ({"kind": "uneven_load", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "upright", "left_share": 0.53,
                                                           "t": 905, "spell_s": 905}, "even"),
    # a slouch reminder from an earlier spell is over, slouching again or not
    ({"kind": "slouching", "t": 900, "spell_s": 900}, {"occupied": True, "posture": "slouch", "t": 3000,
                                                         "spell_s": 300}, "break"),
]


def test_the_resolution_rule_follows_the_daemons_conditions(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, DESKTOP)
    got = page.evaluate(
        """async (cases) => {
        const { resolution, THANKS } = await import('/static/resolve.js');
        return cases.map(([r, s]) => {
          const why = resolution({cushion: 'c', ...r}, {cushion: 'c', ...s}, {uneven_threshold: 0.1});
          return [why, why ? THANKS[why] : null];
        });
    }""",
        [[r, s] for r, s, _ in RESOLUTION_CASES],
    )
    assert [why for why, _ in got] == [want for _, _, want in RESOLUTION_CASES]
    assert all(text.startswith("Thanks — ") for why, text in got if why)
    assert page.sitwell_errors == []


def test_numbers_agree_and_balance_over_weeks(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, DESKTOP)
    page.wait_for_function(
        "() => { const row = document.querySelector('#week-table tr[data-live=true]');"
        " return row && +row.dataset.spellS > 120; }", timeout=30_000)
    page.wait_for_function("() => document.getElementById('balance-weeks').textContent !== ''")
    today = httpx.get(demo.url + "/api/stats/daily", params={"days": 1}).json()[-1]
    if not today["minutes_seated"]:
        pytest.skip("the demo's frame clock (240x) ran past local midnight: today has no sitting (issue 17.8)")
    facts = page.evaluate(
        """() => {
        const row = document.querySelector('#week-table tbody tr[data-live=true]');
        const cells = [...row.querySelectorAll('td')].map((c) => c.textContent);
        const items = [...document.querySelectorAll('#reminder-list [data-testid=reminder-item]')];
        return {spell_s: +row.dataset.spellS, cells, label: row.querySelector('th').textContent,
                items: items.length, acked: items.filter((li) => li.dataset.acknowledged === 'true').length,
                counts: document.getElementById('reminder-counts').textContent};
    }"""
    )

    def to_min(text: str) -> int:  # "1 h 4 min" -> 64
        return sum(int(n) * (60 if u == "h" else 1) for n, u in re.findall(r"(\d+) (h|min)", text))

    spell_min = int(facts["spell_s"] // 60)  # the live spell when the row was drawn (at most 1 s ago)
    seated, longest = to_min(facts["cells"][0]), to_min(facts["cells"][1])
    assert facts["label"] == "Today"
    assert seated >= spell_min and longest >= spell_min, facts  # today includes the spell running now
    sent, done = (int(n) for n in re.fullmatch(r"(\d+), (\d+) done", facts["cells"][5]).groups())
    assert (sent, done) == (facts["items"], facts["acked"]), facts  # the same reminders as listed
    assert facts["counts"].startswith(f"{facts['items']} today"), facts
    # left/right over days and weeks, as the HTML report has it
    share = round(100 * today["mean_left_share"])
    assert facts["cells"][4] in {f"{s} / {100 - s}" for s in (share - 1, share, share + 1)}, facts
    assert page.query_selector_all("#balance-history rect.balance-dot")
    assert re.search(r"this week \d+ / \d+", page.text_content("#balance-weeks"))
    assert page.sitwell_errors == []


WORDS_NOT_FOR_PEOPLE = ["Real offloads", "shifted 21×", "×,", "Next get-up reminder", "Paused —", " left ("]


def test_words_for_people(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, DESKTOP)
    page.wait_for_selector("[data-testid=next-sit]")
    page.wait_for_function("() => document.getElementById('breaks-today').textContent !== ''")
    next_sit = page.get_by_test_id("next-sit").inner_text()
    assert re.fullmatch(r"in (under a minute|\d+ min|\d+ h \d+ min)|now|after the pause", next_sit), next_sit
    page.get_by_test_id("pause-30m").click()
    page.wait_for_selector("[data-testid=pause-status][data-state=paused]")
    status = page.get_by_test_id("pause-status").inner_text()
    # whole minutes of wall time (at 240x the 30 frame-time minutes last 7.5 s: "1 more minute")
    assert re.fullmatch(r"Paused for (\d+ more minutes|1 more minute) \(until \d\d:\d\d\)", status), status
    text = page.inner_text("body")
    for words in WORDS_NOT_FOR_PEOPLE:
        assert words not in text, words
    assert not re.search(r"reminder\s+\d+:\d\d\b", text)  # a time span without a unit
    page.get_by_test_id("pause-resume").click()
    page.wait_for_selector("[data-testid=pause-status][data-state=on]")
    assert page.sitwell_errors == []


def test_all_done_acknowledges_every_reminder(browser_page, demo):
    page = browser_page
    open_page(page, demo.url, PHONE)
    open_ids = page.evaluate("() => [...document.querySelectorAll('#reminder-list [data-acknowledged=false]')]"
                             ".map((li) => li.dataset.id)")
    # all of them, also those beyond the daemon's listing (its newest 500): the demo has run
    # the module's tests long enough for that
    assert len(open_ids) >= 2
    with page.expect_response(lambda r: "/api/reminders/ack-all" in r.url) as done:
        page.get_by_test_id("ack-all").click()
    assert done.value.status == 200
    assert set(open_ids) <= set(done.value.json()["acknowledged"])
    # every one open at the click is done, on the page and in the daemon (new ones keep coming)
    page.wait_for_function(
        "(ids) => ids.every((id) => document.querySelector(`#reminder-list li[data-id='${id}']`)"
        ".dataset.acknowledged === 'true')", arg=open_ids)
    listed = {r["id"]: r for r in httpx.get(demo.url + "/api/reminders").json()}
    assert all(listed[i]["acknowledged"] for i in open_ids if i in listed)
    screenshot(page, "layout-all-done-390")
    assert page.sitwell_errors == []
