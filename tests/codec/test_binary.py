"""Binary codec (CONTRACT §2.1) against the shared wire vector, encoders and edge cases."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest
from cobs import cobs
from crc import Calculator, Crc16

from monitor.codec.binary import (
    MAX_ENCODED,
    BinaryDecoder,
    FramePacket,
    HelloPacket,
    crc16_ccitt_false,
    decode_packet,
    encode_frame,
    encode_hello,
    frame_payload,
)
from monitor.codec.errors import CodecError
from monitor.model import DeviceInfo, DropCounter


@pytest.fixture(scope="module")
def vector(samples_dir):
    wire = samples_dir / "wire"
    return (wire / "binary-12x16.bin").read_bytes(), json.loads((wire / "binary-12x16.expected.json").read_text())


def check_vector(packets, drops, expected):
    hellos = [p for p in packets if isinstance(p, HelloPacket)]
    frames = [p for p in packets if isinstance(p, FramePacket)]
    assert [h.raw for h in hellos] == [expected["hello"]]
    assert hellos[0].info.rows == 12 and hellos[0].info.cols == 16 and hellos[0].info.max_value == 4095
    got = [{"seq": f.seq, "t_ms": f.device_ms, "sum": int(f.cells.sum())} for f in frames]
    assert got == expected["frames"]
    assert all(f.cells.shape == (12, 16) and f.cells.dtype == np.uint16 for f in frames)
    assert frames[0].cells.tolist() == expected["first_cells"]
    assert drops.total == expected["dropped_packets"]


def test_vector_whole(vector):
    data, expected = vector
    drops = DropCounter()
    check_vector(BinaryDecoder(drops).feed(data), drops, expected)
    assert drops["bad_crc"] == 2  # the two corrupted copies are told apart from noise


def _summary(packets, drops):
    return [
        ("hello", p.seq) if isinstance(p, HelloPacket) else (p.seq, p.device_ms, int(p.cells.sum()))
        for p in packets
    ], drops.total


def test_vector_split_at_every_byte_boundary(vector):
    """Every cut point, checked on the packets around it.

    The decoder forgets everything at a 0x00, so packets that do not touch the cut cannot
    depend on it: the run holding the cut, with the 0x00 before it and its own closing
    0x00, fed split at the cut, must give what the same bytes give whole. (Re-decoding all 81 KB for each of the 81k
    cut points would take minutes; the whole stream is checked at sampled cuts below.)
    """
    import bisect

    data, expected = vector
    zeros = [i for i, b in enumerate(data) if b == 0]
    whole_cache: dict[int, tuple] = {}
    for cut in range(len(data) + 1):
        i = bisect.bisect_left(zeros, cut)  # the cut lies in the run ending at zeros[i]
        left = zeros[i - 1] if i >= 1 else 0
        right = zeros[i] + 1 if i < len(zeros) else len(data)
        if i not in whole_cache:
            drops = DropCounter()
            whole_cache[i] = _summary(BinaryDecoder(drops).feed(data[left:right]), drops)
        drops = DropCounter()
        dec = BinaryDecoder(drops)
        split = dec.feed(data[left:cut]) + dec.feed(data[cut:right])
        assert _summary(split, drops) == whole_cache[i], cut
    for cut in range(0, len(data) + 1, 1009):
        drops = DropCounter()
        dec = BinaryDecoder(drops)
        check_vector(dec.feed(data[:cut]) + dec.feed(data[cut:]), drops, expected)


@pytest.mark.parametrize("seed", range(5))
def test_vector_random_chunks(vector, seed):
    data, expected = vector
    rng = random.Random(seed)
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    packets, i = [], 0
    while i < len(data):
        n = rng.choice([1, 2, 3, 7, 64, 500, 4096])
        packets += dec.feed(data[i : i + n])
        i += n
    check_vector(packets, drops, expected)


def test_vector_one_byte_at_a_time(vector):
    data, expected = vector
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    packets = []
    for i in range(len(data)):
        packets += dec.feed(data[i : i + 1])
    check_vector(packets, drops, expected)


def test_crc_matches_the_crc_package():
    ref = Calculator(Crc16.IBM_3740)  # IBM-3740 is CCITT-FALSE: 0x1021, init 0xFFFF
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue check value
    rng = random.Random(1)
    for n in (0, 1, 13, 300, 2061):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc16_ccitt_false(data) == ref.checksum(data)


@pytest.mark.parametrize("bits,top", [(8, 255), (16, 65535)])
@pytest.mark.parametrize("shape", [(4, 4), (12, 16), (64, 64)])
def test_frame_round_trip(bits, top, shape):
    rng = np.random.default_rng(sum(shape) + bits)
    cells = rng.integers(0, top + 1, size=shape)
    cells.flat[0] = 0  # zeros must survive COBS
    wire = encode_frame(cells, seq=70000, device_ms=2**32 + 5, bits=bits)
    assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
    (pkt,) = BinaryDecoder().feed(wire)
    assert (pkt.seq, pkt.device_ms, pkt.rows, pkt.cols, pkt.bits) == (70000 & 0xFFFF, 5, *shape, bits)
    assert np.array_equal(pkt.cells, cells) and pkt.cells.dtype == np.uint16
    assert decode_packet(frame_payload(cells, 1, 2, bits)).cells.tolist() == cells.tolist()


def test_hello_round_trip():
    info = DeviceInfo(device="desk-7", rows=32, cols=24, max_value=255, rate_hz=25.0, fw="2.1")
    (pkt,) = BinaryDecoder().feed(encode_hello(info, seq=3, device_ms=99))
    assert isinstance(pkt, HelloPacket) and pkt.info == info and pkt.seq == 3 and pkt.device_ms == 99


def test_decoded_cells_do_not_alias_the_input():
    payload = bytearray(frame_payload(np.full((4, 4), 7), 0, 0, 16))
    pkt = decode_packet(payload)
    payload[13] = 99
    assert pkt.cells[0, 0] == 7


def _packet(ptype=1, version=1, rows=4, cols=4, bits=8, body=None, magic=b"SW", crc_ok=True):
    if body is None:
        body = bytes(rows * cols * (bits // 8 if bits in (8, 16) else 1))
    raw = struct.pack("<2sBBHIBBB", magic, version, ptype, 0, 0, rows, cols, bits) + body
    crc = crc16_ccitt_false(raw) ^ (0 if crc_ok else 1)
    return raw + struct.pack("<H", crc)


@pytest.mark.parametrize(
    "payload,reason",
    [
        (b"", "bad_length"),
        (b"SW\x01\x01", "bad_length"),
        (_packet(magic=b"XX"), "bad_magic"),
        (_packet(crc_ok=False), "bad_crc"),
        (_packet(version=2), "bad_version"),
        (_packet(ptype=9), "bad_type"),
        (_packet(rows=3), "bad_grid"),
        (_packet(cols=65, body=bytes(4 * 65)), "bad_grid"),
        (_packet(bits=12, body=bytes(32)), "bad_bits"),
        (_packet(body=bytes(15)), "bad_length"),
        (_packet(bits=16, body=bytes(33)), "bad_length"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b"not json"), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b"[1,2]"), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b'{"rows":2,"cols":16,"max_value":9}'), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b'{"rows":16,"cols":16,"max_value":1e9}'), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b'{"rows":16,"cols":16}'), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b"\xff\xfe"), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b"[" * 50 + b"]" * 50), "bad_hello"),
        (_packet(ptype=2, rows=0, cols=0, bits=0, body=b"{" + b" " * 9000 + b"}"), "oversize"),
    ],
)
def test_bad_packets_raise_with_reason(payload, reason):
    with pytest.raises(CodecError) as info:
        decode_packet(payload)
    assert info.value.reason == reason
    # the streaming decoder counts the same reason and does not raise
    drops = DropCounter()
    assert BinaryDecoder(drops).feed(cobs.encode(payload) + b"\x00") == []
    assert drops == DropCounter({reason: 1})


def test_stream_resyncs_after_garbage_and_idle_zeros():
    good = encode_frame(np.arange(16).reshape(4, 4), 1, 10, 8)
    drops = DropCounter()
    out = BinaryDecoder(drops).feed(b"\x00\x00" + b"\x05\x01\x02junk\x00" + good + b"\x00\x00\x00" + good)
    assert [p.seq for p in out] == [1, 1]
    assert drops.total == 1  # idle 0x00 bytes are not drops, the junk packet is one


def test_stream_without_delimiters_is_bounded_and_counted_once():
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    noise = bytes(range(1, 256)) * 4
    for _ in range(200):  # ~200 KiB without a 0x00
        assert dec.feed(noise) == []
        assert len(dec._buf) <= MAX_ENCODED + len(noise)
    assert drops == DropCounter({"oversize": 1})
    # the tail of the over-long run is skipped up to the next 0x00, then decoding resumes
    good = encode_frame(np.ones((8, 8)), 42, 0, 16)
    out = dec.feed(b"tail\x00" + good)
    assert [p.seq for p in out] == [42]
    assert drops.total == 1


def test_absurd_length_chunk_between_delimiters():
    drops = DropCounter()
    out = BinaryDecoder(drops).feed(b"\x00" + b"\x01" * (MAX_ENCODED + 10) + b"\x00")
    assert out == [] and drops["oversize"] == 1
