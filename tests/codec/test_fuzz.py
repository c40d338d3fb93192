"""Property tests: decoders never raise on any input and always resynchronise."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from monitor.codec.binary import BinaryDecoder, FramePacket, decode_packet, encode_frame, frame_payload
from monitor.codec.detect import CodecDetector
from monitor.codec.errors import CodecError
from monitor.codec.jsonframe import decode_json_frame
from monitor.codec.text import TextDecoder
from monitor.model import DropCounter

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD_FRAME = encode_frame(np.arange(8 * 8).reshape(8, 8) * 50, seq=77, device_ms=1234, bits=16)
GOOD_LINE = b",".join(str(v).encode() for v in range(16)) + b"\n"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=5), inner, max_size=6),
    max_leaves=25,
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10_000), max_size=8))
def test_binary_random_bytes_then_resync(noise, cuts):
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    for chunk in _chunks(noise, cuts):
        dec.feed(chunk)
    # whatever came before, a delimiter and a good packet come out right
    out = dec.feed(b"\x00" + GOOD_FRAME)
    assert isinstance(out[-1], FramePacket) and out[-1].seq == 77
    assert int(out[-1].cells.sum()) == int((np.arange(64) * 50).sum())


@FUZZ
@given(st.integers(0, len(GOOD_FRAME) - 2), st.integers(0, 7), st.integers(1, 3))
def test_binary_bit_flips_are_dropped_or_detected(pos, bit, copies):
    bad = bytearray(GOOD_FRAME)
    bad[pos] ^= 1 << bit
    drops = DropCounter()
    out = BinaryDecoder(drops).feed(bytes(bad) * copies + GOOD_FRAME)
    # a flipped bit never yields a wrong frame: CRC-16 catches every single-bit error
    frames = [p for p in out if isinstance(p, FramePacket)]
    assert all(int(f.cells.sum()) == int((np.arange(64) * 50).sum()) for f in frames)
    assert frames and frames[-1].seq == 77
    assert drops.total >= 1


@FUZZ
@given(st.integers(0, len(GOOD_FRAME) - 2))  # the packet without its last code byte or more
def test_binary_truncated_packet(n):
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    dec.feed(GOOD_FRAME[:n] + b"\x00")
    assert [p.seq for p in dec.feed(GOOD_FRAME)] == [77]
    assert drops.total == (1 if n else 0)


@FUZZ
@given(st.binary(max_size=20_000))
def test_decode_packet_only_raises_codec_error(payload):
    try:
        decode_packet(payload)
    except CodecError as exc:
        assert exc.reason


@FUZZ
@given(st.integers(4, 64), st.integers(4, 64), st.sampled_from([8, 16]), st.integers(0, 2**32 - 1))
def test_binary_round_trip_any_grid(rows, cols, bits, device_ms):
    rng = np.random.default_rng(rows * 100 + cols)
    cells = rng.integers(0, 256 if bits == 8 else 65536, size=(rows, cols))
    pkt = decode_packet(frame_payload(cells, 5, device_ms, bits))
    assert pkt.device_ms == device_ms and np.array_equal(pkt.cells, cells)


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10_000), max_size=8))
def test_text_random_bytes_then_resync(noise, cuts):
    drops = DropCounter()
    dec = TextDecoder(4, 4, 4095, drops)
    for chunk in _chunks(noise, cuts):
        for f in dec.feed(chunk):
            assert f.cells.shape == (4, 4) and int(f.cells.max()) <= f.max_value
    out = dec.feed(b"\n" + GOOD_LINE)
    assert out and out[-1].cells.tolist() == np.arange(16).reshape(4, 4).tolist()


@FUZZ
@given(st.text(alphabet="0123456789,; \t\r\n#-x", max_size=400))
def test_text_near_miss_lines(text):
    dec = TextDecoder(4, 4, 50, DropCounter())
    for f in dec.feed(text.encode()):
        assert f.cells.shape == (4, 4) and int(f.cells.max()) <= f.max_value


@settings(FUZZ, max_examples=60)  # generating nested values is the slow part
@given(json_values)
def test_json_any_value_only_raises_codec_error(value):
    payload = json.dumps(value, allow_nan=True).encode()
    try:
        f = decode_json_frame(payload, max_value=4095)
    except CodecError as exc:
        assert exc.reason
    else:
        assert 4 <= f.cells.shape[0] <= 64 and int(f.cells.max()) <= 4095


@FUZZ
@given(st.binary(max_size=2000))
def test_json_random_bytes_only_raise_codec_error(payload):
    try:
        decode_json_frame(payload)
    except CodecError as exc:
        assert exc.reason


@FUZZ
@given(st.integers(1, 200_000), st.sampled_from([b"[", b"{", b'{"a":']))
def test_json_deep_nesting(depth, opener):
    try:
        decode_json_frame(opener * depth)
    except CodecError as exc:
        assert exc.reason in ("oversize", "too_deep", "bad_json")


@FUZZ
@given(st.binary(max_size=5000))
def test_detector_never_raises(data):
    det = CodecDetector(window=2048)
    det.feed(data)
    assert len(det.buffered) <= 2048
