"""The simulator's bytes, decoded by the monitor's own codecs, must give exactly its frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from firmware_sim import Simulator
from firmware_sim.faults import FaultSpecError, parse_faults
from firmware_sim.outputs import FileStreamOutput, Player
from firmware_sim.wire import crc16, crc16_reference, frame_packet, hello_packet, json_frame, text_line
from monitor.codec.binary import BinaryDecoder, FramePacket, HelloPacket, crc16_ccitt_false, decode_packet
from monitor.codec.text import TextDecoder
from monitor.model import DropCounter


def play(tmp_path, sim: Simulator, codec: str, faults: str | None = None) -> tuple[bytes, Player]:
    path = tmp_path / f"out.{codec}"
    player = Player(sim, FileStreamOutput(str(path), codec), parse_faults(faults), speed=None)
    player.run()
    return path.read_bytes(), player


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == crc16_reference(b"123456789") == 0x29B1  # the catalogue check value
    rng = np.random.default_rng(0)
    for n in (0, 1, 13, 500):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc16(data) == crc16_reference(data) == crc16_ccitt_false(data)


@pytest.mark.parametrize("max_value,bits", [(4095, 16), (255, 8), (65535, 16)])
def test_binary_stream_decodes_exactly(tmp_path, max_value, bits):
    sim = Simulator("tour", rows=12, cols=20, rate_hz=20, seed=3, max_value=max_value, duration_s=30, cushion="desk-7")
    data, _ = play(tmp_path, sim, "binary")
    drops = DropCounter()
    dec = BinaryDecoder(drops)
    # a port delivers arbitrary chunks: split the stream at random boundaries
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.choice(len(data), 300, replace=False))
    packets = [p for chunk in np.split(np.frombuffer(data, np.uint8), cuts) for p in dec.feed(chunk.tobytes())]
    assert drops.total == 0
    assert isinstance(packets[0], HelloPacket)
    assert packets[0].raw == sim.device_info()
    assert packets[0].info.rows == 12 and packets[0].info.cols == 20 and packets[0].info.max_value == max_value
    frames = packets[1:]
    expected = list(sim.frames())
    assert len(frames) == len(expected) == 600
    for got, want in zip(frames, expected, strict=True):
        assert isinstance(got, FramePacket)
        assert got.bits == bits and got.seq == want.seq
        assert got.device_ms == round(want.t * 1000)
        assert np.array_equal(got.cells, want.cells)


def test_packet_fields_wrap_like_firmware_counters():
    cells = np.arange(16, dtype=np.uint16).reshape(4, 4)
    pkt = decode_packet(frame_packet(cells, seq=65536 + 7, t_ms=2**32 + 5))
    assert pkt.seq == 7 and pkt.device_ms == 5
    hello = decode_packet(hello_packet({"device": "x", "rows": 4, "cols": 4, "max_value": 4095, "rate_hz": 5}))
    assert isinstance(hello, HelloPacket) and hello.info.device == "x"


@pytest.mark.parametrize("spec,kind", [("crc=0.05", "corrupt"), ("truncate=0.05", "truncate")])
def test_injected_faults_are_what_the_decoder_drops(tmp_path, spec, kind):
    sim = Simulator("tour", rows=8, cols=8, seed=2, duration_s=60)
    data, player = play(tmp_path, sim, "binary", spec)
    injected = player.faults.counts[kind]
    assert injected > 10
    drops = DropCounter()
    frames = [p for p in BinaryDecoder(drops).feed(data) if isinstance(p, FramePacket)]
    # every damaged packet is dropped once, and counted; every other one arrives intact
    assert drops.total == injected
    if kind == "corrupt":
        assert drops["bad_crc"] == injected
    assert len(frames) == sim.n_frames - injected
    ref = {f.seq: f.cells for f in sim.frames()}
    assert all(np.array_equal(ref[f.seq], f.cells) for f in frames)


def test_garbage_drops_and_clock_jump(tmp_path):
    sim = Simulator("tour", rows=8, cols=8, seed=4, duration_s=40)
    data, player = play(tmp_path, sim, "binary", "garbage=0.1,drop=0.0005,clockjump@20:600")
    c = player.faults.counts
    assert c["garbage"] > 10 and c["dropped_bytes"] > 0 and c["clock_jump"] == 1
    drops = DropCounter()
    frames = [p for p in BinaryDecoder(drops).feed(data) if isinstance(p, FramePacket)]
    assert drops.total >= c["garbage"]  # each garbage run is at least one bad packet
    assert len(frames) > 0.8 * sim.n_frames
    t = {f.seq: f.device_ms for f in frames}
    assert max(v for s, v in t.items() if s < 200) < 20_000
    assert min(v for s, v in t.items() if s >= 200) >= 620_000


def test_noise_burst_counts(tmp_path):
    sim = Simulator("tour", rows=8, cols=8, seed=4, duration_s=60)
    data, player = play(tmp_path, sim, "binary", "burst=0.02")
    assert player.faults.counts["noise_burst"] > 3
    frames = [p for p in BinaryDecoder().feed(data) if isinstance(p, FramePacket)]
    ref = {f.seq: f.cells for f in sim.frames()}
    changed = sum(not np.array_equal(ref[f.seq], f.cells) for f in frames)
    assert 20 < changed < 400


def test_text_lines_parse_as_rows_times_cols_ints(tmp_path):
    sim = Simulator("tour", rows=8, cols=12, seed=1, duration_s=20)
    data, _ = play(tmp_path, sim, "text")
    lines = data.decode().splitlines()
    assert lines[0].startswith("#")
    values = [[int(v) for v in line.split(",")] for line in lines[1:]]
    assert len(values) == 200 and all(len(v) == 96 for v in values)
    expected = list(sim.frames())
    assert all(v == f.cells.ravel().tolist() for v, f in zip(values, expected, strict=True))
    # and the monitor's text codec agrees, comment line and all
    drops = DropCounter()
    got = TextDecoder(8, 12, 4095, drops).feed(data)
    assert len(got) == 200
    assert np.array_equal(np.asarray(got[5].cells).reshape(8, 12), expected[5].cells)


def test_digit_lines_decode_as_ten_levels(tmp_path):
    sim = Simulator("tour", rows=6, cols=7, seed=2, duration_s=60)
    data, _ = play(tmp_path, sim, "digits")
    drops = DropCounter()
    got = TextDecoder(6, 7, 4095, drops).feed(data)
    expected = list(sim.frames())
    assert drops.total == 0 and len(got) == len(expected) == 600
    for g, e in zip(got, expected, strict=True):
        assert g.max_value == 9
        assert np.array_equal(np.asarray(g.cells), (e.cells.astype(int) * 10) // 4096)
    # a sitter shows up in the coarse levels, an empty seat reads (nearly) 0
    sums = {
        occ: np.mean(
            [int(np.asarray(g.cells).sum()) for g, e in zip(got, expected, strict=True) if e.label["occupied"] == occ]
        )
        for occ in (True, False)
    }
    assert sums[False] < 1 and sums[True] > 4


def test_text_faults_are_skipped_lines(tmp_path):
    sim = Simulator("tour", rows=4, cols=4, seed=1, duration_s=50)
    data, player = play(tmp_path, sim, "text", "crc=0.05,garbage=0.05")
    drops = DropCounter()
    got = TextDecoder(4, 4, 4095, drops).feed(data)
    assert len(got) == sim.n_frames - player.faults.counts["corrupt"]
    assert drops.total >= player.faults.counts["corrupt"] + player.faults.counts["garbage"] - 5


def test_json_frame_and_text_line():
    cells = np.array([[1, 2], [3, 4]], dtype=np.uint16)
    obj = json.loads(json_frame(1.25, cells, {"occupied": False}, seq=3))
    assert obj == {"t": 1.25, "cells": [[1, 2], [3, 4]], "seq": 3, "label": {"occupied": False}}
    assert text_line(cells) == b"1,2,3,4\n"


@pytest.mark.parametrize(
    "spec", ["crc=2", "nope=0.1", "disconnect@x", "disconnect@5:0", "crc", "teleport@5"]
)
def test_bad_fault_specs_say_why(spec):
    with pytest.raises(FaultSpecError):
        parse_faults(spec)


def test_fault_spec_parses():
    f = parse_faults("crc=0.01, drop=0.001,garbage=0.01,disconnect@60,disconnect@10:5,clockjump@30:-2")
    assert (f.crc, f.drop, f.garbage) == (0.01, 0.001, 0.01)
    assert f.disconnects == [(10.0, 5.0), (60.0, 3.0)]
    assert f.clock_jumps == [(30.0, -2.0)]
