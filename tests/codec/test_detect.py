"""Binary-vs-text detection from the first bytes of a stream."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.codec.binary import encode_frame, encode_hello
from monitor.codec.detect import CodecDetector, detect_codec
from monitor.model import DeviceInfo


def _first_decision(data: bytes, step: int):
    det = CodecDetector()
    for i in range(0, len(data), step):
        codec = det.feed(data[i : i + step])
        if codec:
            return codec, i + step, det.buffered
    return None, len(data), det.buffered


@pytest.mark.parametrize("step", [1, 13, 4096])
def test_shared_vectors(samples_dir, step):
    binary = (samples_dir / "wire" / "binary-12x16.bin").read_bytes()
    text = (samples_dir / "wire" / "text-8x8.txt").read_bytes()
    codec, used, buffered = _first_decision(binary, step)
    assert codec == "binary" and used < max(1000, step + 1)
    assert binary.startswith(buffered)  # the caller replays exactly what it has seen
    codec, used, _ = _first_decision(text, step)
    assert codec == "text" and used < max(2000, step + 1)


def test_binary_from_a_frame_without_hello():
    frames = b"".join(encode_frame(np.full((16, 16), 300), i, i, 16) for i in range(3))
    assert detect_codec(frames[5:]) == "binary"  # starts mid-packet


def test_hello_with_printable_body_is_still_binary():
    hello = encode_hello(DeviceInfo(rows=8, cols=8))
    assert detect_codec(b"\x00" + hello) == "binary"


def test_text_needs_two_whole_lines():
    assert detect_codec(b"1,2,3\n4,5,6") is None  # the first line may be a tail
    assert detect_codec(b"tail\n1,2,3\n4,5,6\n") == "text"


def test_text_after_a_stray_zero_byte():
    assert detect_codec(b"\x00\x00\xffboot\n# hi\n1 2 3 4\n5 6 7 8\n") == "text"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 100,
        bytes(range(256)) * 4,
        b"# only comments\n# more\n# and more\n",
        b"\x00\x05SWxx\x00",  # SW but invalid COBS/version
    ],
)
def test_undecided_on_noise(data):
    assert detect_codec(data) is None


def test_detector_window_is_bounded():
    det = CodecDetector(window=1000)
    for _ in range(100):
        assert det.feed(bytes(range(1, 200))) is None
    assert len(det.buffered) <= 1000
    # still decides once real lines push the noise out of the last few lines looked at
    assert det.feed(b"\n" + b"1 2\n" * 10) == "text"
