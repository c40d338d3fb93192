"""The one host:port and duration reader (monitor/config/parse.py): what people write is
understood, anything else is explained in words (no regular expression in a message)."""

from __future__ import annotations

import pytest

from monitor.config.parse import parse_duration, parse_host_port, parse_pause


@pytest.mark.parametrize(
    "text, want",
    [
        ("192.168.1.10", ("192.168.1.10", 1883)),
        ("192.168.1.10:1884", ("192.168.1.10", 1884)),
        ("broker.local", ("broker.local", 1883)),
        (" localhost:8883 ", ("localhost", 8883)),
        ("[::1]:1884", ("::1", 1884)),
        ("[::1]", ("::1", 1883)),
        ("fe80::1", ("fe80::1", 1883)),
    ],
)
def test_host_port_forms(text, want):
    assert parse_host_port(text, 1883) == want


@pytest.mark.parametrize(
    "text, words",
    [
        ("host:abc", "not a number"),
        ("host:", "without a port"),
        (":1883", "no host"),
        ("host:70000", "1 to 65535"),
        ("[::1", "closing"),
        ("[::1]x", "only ':PORT'"),
        ("mqtt://host:1883", "looks like a URL"),
        ("", "no host"),
    ],
)
def test_host_port_refusals_say_why(text, words):
    with pytest.raises(ValueError) as err:
        parse_host_port(text, 1883)
    assert words in str(err.value)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1 hour", 3600), ("1h", 3600), ("2h", 7200), ("2 hours", 7200), ("90 min", 5400), ("90min", 5400),
        ("30m", 1800), ("30 minutes", 1800), ("1h30", 5400), ("1h30m", 5400), ("1 hour 30 minutes", 5400),
        ("1 hour and 30 minutes", 5400), ("1:30", 5400), ("1.5 h", 5400), ("1,5h", 5400), ("45s", 45),
        ("2m30", 150), ("half an hour", 1800), ("an hour", 3600), ("for 20 min", 1200), ("45", 2700),
        ("1 HR", 3600),
    ],
)
def test_durations_as_people_write_them(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_a_bare_number_is_in_the_callers_unit():
    assert parse_duration("45", default_unit="s") == 45
    assert parse_duration(3, default_unit="h") == 3 * 3600


@pytest.mark.parametrize(
    "text, words",
    [
        ("soon", "needs a number"),
        ("5x", "'x' is not a unit of time"),
        ("1d", "days are not a unit here"),
        ("-1h", "cannot be negative"),
        ("30m 1h", "larger unit first"),
        ("", "no duration"),
        ("1h30x", "'x' is not a unit"),
    ],
)
def test_duration_refusals_are_words(text, words):
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    message = str(err.value)
    assert words in message
    assert "^" not in message and "(?" not in message and "[0-9]" not in message  # never a pattern
    assert "1h30" in message or "negative" in message  # and an example of what works, where one helps


@pytest.mark.parametrize(
    "spec, want",
    [("1 hour", 60.0), ("90 min", 90.0), ("1h30", 90.0), ("30m", 30.0), ("2h", 120.0), ("tomorrow", "tomorrow"),
     ("until tomorrow", "tomorrow"), ("off", None), ("OFF", None), ("0", None), ("45", 45.0), (None, None)],
)
def test_pause_specs(spec, want):
    assert parse_pause(spec) == want


@pytest.mark.parametrize(
    "spec, words",
    [("soon", "is not a pause"), ("25h", "at most 24 hours"), ("1 fortnight", "not a unit of time"),
     ("-30m", "negative")],
)
def test_pause_refusals_are_words(spec, words):
    with pytest.raises(ValueError) as err:
        parse_pause(spec)
    assert words in str(err.value) and "^" not in str(err.value)
