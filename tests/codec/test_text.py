"""Text codec (CONTRACT §2.2) against the shared wire vector and edge cases."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from monitor.codec.text import TextDecoder
from monitor.model import DropCounter


@pytest.fixture(scope="module")
def vector(samples_dir):
    wire = samples_dir / "wire"
    return (wire / "text-8x8.txt").read_bytes(), json.loads((wire / "text-8x8.expected.json").read_text())


def decoder(expected, drops):
    return TextDecoder(expected["rows"], expected["cols"], expected["max_value"], drops)


def check(frames, drops, expected):
    assert [int(f.cells.sum()) for f in frames] == [e["sum"] for e in expected["frames"]]
    assert all(f.cells.shape == (8, 8) and f.max_value == 4095 for f in frames)
    assert drops.total == expected["skipped_bad"]


def test_vector_whole(vector):
    data, expected = vector
    drops = DropCounter()
    dec = decoder(expected, drops)
    check(dec.feed(data), drops, expected)
    assert drops == DropCounter({"wrong_count": 3, "out_of_range": 1})
    assert dec.skipped["comment"] == 2  # comments are skipped, not errors


def _summary(frames, drops, dec):
    return [(f.max_value, f.cells.tolist()) for f in frames], dict(drops), dict(dec.skipped)


def test_vector_split_at_every_byte_boundary(vector):
    """Every cut point, checked on the line it falls in.

    The decoder forgets everything at a \n, so only the line holding the cut can depend
    on it: that line, with the \n before it and its own \n, fed split at the cut, must give
    what the same bytes give whole. The whole stream is checked at sampled cuts below.
    """
    import bisect

    data, expected = vector
    ends = [i for i, b in enumerate(data) if b == 0x0A]
    whole_cache: dict[int, tuple] = {}
    for cut in range(len(data) + 1):
        i = bisect.bisect_left(ends, cut)
        left = ends[i - 1] if i >= 1 else 0
        right = ends[i] + 1 if i < len(ends) else len(data)
        if i not in whole_cache:
            drops = DropCounter()
            dec = decoder(expected, drops)
            whole_cache[i] = _summary(dec.feed(data[left:right]), drops, dec)
        drops = DropCounter()
        dec = decoder(expected, drops)
        split = dec.feed(data[left:cut]) + dec.feed(data[cut:right])
        assert _summary(split, drops, dec) == whole_cache[i], cut
    for cut in range(0, len(data) + 1, 997):
        drops = DropCounter()
        dec = decoder(expected, drops)
        check(dec.feed(data[:cut]) + dec.feed(data[cut:]), drops, expected)


@pytest.mark.parametrize("seed", range(5))
def test_vector_random_chunks(vector, seed):
    data, expected = vector
    rng = random.Random(seed)
    drops = DropCounter()
    dec = decoder(expected, drops)
    frames, i = [], 0
    while i < len(data):
        n = rng.choice([1, 2, 5, 31, 200, 3000])
        frames += dec.feed(data[i : i + n])
        i += n
    check(frames, drops, expected)


def test_separators_line_ends_and_first_frame_values():
    drops = DropCounter()
    dec = TextDecoder(4, 4, 100, drops)
    want = np.arange(16).reshape(4, 4)
    lines = [
        b"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n",
        b"0;1;2;3;4;5;6;7;8;9;10;11;12;13;14;15\r\n",
        b"0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\n",
        b"  0 1 2 3  4 5 6 7 8 9 10 11 12 13 14 15 \n",
        b"0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,\r\n",
    ]
    frames = dec.feed(b"".join(lines))
    assert len(frames) == 5
    for f in frames:
        assert np.array_equal(f.cells, want) and f.cells.dtype == np.uint16 and f.max_value == 100
    assert drops.total == 0


def test_digit_per_cell_lines():
    drops = DropCounter()
    dec = TextDecoder(4, 4, 4095, drops)
    (f,) = dec.feed(b"0123456789012345\r\n")
    assert f.max_value == 9
    assert f.cells.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1], [2, 3, 4, 5]]
    # one digit short or long: not a frame
    assert dec.feed(b"012345678901234\n01234567890123456\n") == []
    assert drops.total == 2


@pytest.mark.parametrize(
    "line,reason",
    [
        (b"1,2,3", "wrong_count"),
        (b" ".join([b"1"] * 17), "wrong_count"),
        (b" ".join([b"1"] * 15 + [b"4096"]), "out_of_range"),
        (b" ".join([b"1"] * 15 + [b"99999999999999999999999999"]), "out_of_range"),
        (b" ".join([b"1"] * 15 + [b"-1"]), "bad_line"),
        (b" ".join([b"1"] * 15 + [b"1.5"]), "bad_line"),
        (b" ".join([b"1"] * 15 + [b"0x10"]), "bad_line"),
        (b"hello world", "bad_line"),
        (b"\xff\xfe\x00\x01", "bad_line"),
        (b"1" * 5000, "long_line"),
    ],
)
def test_bad_lines_are_counted_by_reason(line, reason):
    drops = DropCounter()
    dec = TextDecoder(4, 4, 4095, drops)
    good = b" ".join([b"7"] * 16) + b"\n"
    frames = dec.feed(good + line + b"\n" + good)
    assert len(frames) == 2  # the stream carries on after the bad line
    assert drops == DropCounter({reason: 1})


def test_comments_and_empty_lines_are_not_drops():
    drops = DropCounter()
    dec = TextDecoder(4, 4, 4095, drops)
    assert dec.feed(b"# hello\n\n\r\n  \n#x,1,2\n") == []
    assert drops.total == 0 and dec.skipped == {"comment": 2, "empty": 3}


def test_endless_line_is_bounded_and_counted_once():
    drops = DropCounter()
    dec = TextDecoder(4, 4, 4095, drops)
    for _ in range(100):
        assert dec.feed(b"1," * 1000) == []
        assert len(dec._buf) <= dec.max_line + 2000
    assert drops == DropCounter({"long_line": 1})
    (f,) = dec.feed(b"\n" + b" ".join([b"3"] * 16) + b"\n")
    assert int(f.cells.sum()) == 48
