"""The simulated cushion plugs in below the codec: its frames are wire bytes from firmware_sim's
own encoder, decoded by the monitor's binary decoder and timed by the device clock, as a real
cushion's are (monitor/transport/simulated.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from firmware_sim import Simulator, load_scenario
from monitor.codec.binary import BinaryDecoder, FramePacket, HelloPacket
from monitor.config.settings import SimConfig
from monitor.model import DropCounter, Frame
from monitor.transport.simulated import SimulatedInput, VirtualCushion


class Frames:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._cond = threading.Condition()

    def __call__(self, frame: Frame) -> None:
        with self._cond:
            self.frames.append(frame)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Frame]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.frames) >= n, timeout), len(self.frames)
            return list(self.frames)


def test_the_virtual_port_speaks_the_binary_wire_format():
    config = SimConfig(scenario="tour", speed=1000.0, rate_hz=10.0, seed=3)
    port = VirtualCushion(config, load_scenario("tour"), "desk-1", rate_hz=10.0)
    data = b""
    while data.count(b"\x00") < 21:  # the hello and 20 frames, each ends with the COBS 0x00
        data += port.read(port.in_waiting or 1)
    drops = DropCounter()
    packets = BinaryDecoder(drops).feed(data)
    assert not drops
    hello, frames = packets[0], packets[1:21]
    assert isinstance(hello, HelloPacket) and hello.info.device == "desk-1" and hello.info.max_value == 4095
    expect = list(zip(range(20), Simulator("tour", 16, 16, 10.0, seed=3, cushion="desk-1").frames(), strict=False))
    assert all(isinstance(p, FramePacket) for p in frames)
    assert [p.device_ms for p in frames] == [round(sf.t * 1000) for _, sf in expect]
    for p, (_, sf) in zip(frames, expect, strict=True):
        assert np.array_equal(p.cells, sf.cells)


def test_frames_come_through_the_decoder_and_device_clock_paced_by_speed():
    got = Frames()
    sim = SimulatedInput(SimConfig(scenario="demo", speed=50.0, rate_hz=2.0, seed=1), cushion="sim-9")
    t0 = time.monotonic()
    sim.start(got)
    try:
        frames = got.wait_for(11)
        wall = time.monotonic() - t0
    finally:
        sim.stop()
    # 2 Hz of frame time at 50x: a frame every 10 ms of wall time, frame times in device milliseconds
    assert [f.t for f in frames[:11]] == pytest.approx([k * 0.5 for k in range(11)], abs=1e-9)
    assert wall >= 0.09  # paced: 5 s of frame time at 50x is 0.1 s
    assert {f.cushion for f in frames} == {"sim-9"} and all(f.max_value == 4095 for f in frames)
    expect = list(zip(range(11), Simulator("demo", 16, 16, 2.0, seed=1).frames(), strict=False))
    for f, (_, sf) in zip(frames[:11], expect, strict=True):
        assert np.array_equal(f.cells, sf.cells) and f.seq == sf.seq
    (health,) = sim.health()
    # what the serial input reports of a real cushion: the codec, the hello's device and scale
    assert health["input"] == "sim" and health["codec"] == "binary" and health["drops"] == {}
    assert health["device"]["device"] == "sim-9" and health["device"]["fw"].startswith("sim")
    assert health["full_scale"]["source"] == "hello"
    assert health["frames"] >= 11


def test_stop_is_prompt_even_between_slow_frames():
    sim = SimulatedInput(SimConfig(scenario="demo", speed=1.0, rate_hz=1.0))
    got = Frames()
    sim.start(got)
    got.wait_for(1)
    t0 = time.monotonic()
    sim.stop()
    assert time.monotonic() - t0 < 0.5
    assert sim.health()[0]["connected"] is False
