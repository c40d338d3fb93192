"""MqttInput's shortcut for a cushion's frames like its last one (`_settled_frame`)
gives what the general decoder gives, and leaves anything else to it: a bad CRC, another
length, grid or bit depth, a hello between frames are judged and counted as before.

In-process: the input's message handler is fed ReceivedMessages directly (no broker)."""

from __future__ import annotations

import numpy as np

from monitor.codec.binary import decode_packet, frame_payload, hello_payload
from monitor.config.settings import MqttConfig
from monitor.model import DeviceInfo, Frame
from monitor.mqtt.buffered import ReceivedMessage
from monitor.transport.mqtt_input import MqttInput

TOPIC = "sitwell/desk-1/frames"


def _input() -> tuple[MqttInput, list[Frame]]:
    inp = MqttInput(MqttConfig(host="127.0.0.1", port=1, client_id="test-settled"))
    frames: list[Frame] = []
    inp._emit, inp._running = frames.append, True  # what start() sets, without a broker
    return inp, frames


def _send(inp: MqttInput, payload: bytes) -> None:
    inp._on_frames(ReceivedMessage(TOPIC, bytes(payload)))


def _drops(inp: MqttInput) -> dict[str, int]:
    return dict(inp.health()[0].get("drops") or {})


CELLS = np.full((8, 8), 100, np.uint16)


def _hello_and_first_frame(inp: MqttInput) -> None:
    """An 8x8 cushion at full scale 4095 (its hello), and its frame seq 0."""
    _send(inp, hello_payload(DeviceInfo(device="desk-1", rows=8, cols=8, max_value=4095)))
    _send(inp, frame_payload(CELLS, 0, 1000))


def _with_a_flipped_bit(payload: bytes, at: int) -> bytes:
    """The packet with one bit flipped: its CRC no longer fits."""
    bad = bytearray(payload)
    bad[at] ^= 0x01
    return bytes(bad)


def test_frames_like_the_last_come_as_the_general_decoder_reads_them():
    inp, frames = _input()
    rng = np.random.default_rng(3)
    sent = []
    for i in range(50):
        cells = rng.integers(0, 4096, (12, 20)).astype(np.uint16)
        payload = frame_payload(cells, i, 1000 + 100 * i)
        sent.append(decode_packet(payload))
        _send(inp, payload)
    assert len(frames) == 50
    assert inp._cushions["desk-1"].settled is not None
    for frame, pkt in zip(frames, sent, strict=True):
        assert frame.seq == pkt.seq
        assert frame.cells.dtype == np.uint16 and frame.cells.flags.writeable
        np.testing.assert_array_equal(frame.cells, pkt.cells)
    np.testing.assert_allclose([f.t for f in frames], [1.0 + i * 0.1 for i in range(50)])


def test_what_is_not_like_the_last_frame_is_judged_as_before():
    inp, frames = _input()
    _hello_and_first_frame(inp)
    _send(inp, _with_a_flipped_bit(frame_payload(CELLS, 1, 1100), 20))
    _send(inp, frame_payload(np.full((8, 9), 100, np.uint16), 2, 1200))  # another grid
    _send(inp, frame_payload(CELLS.astype(np.uint8), 3, 1300, bits=8))  # another bit depth, same grid
    _send(inp, frame_payload(np.full((8, 8), 5000, np.uint16), 4, 1400))  # above the full scale
    drops = _drops(inp)
    assert (drops["bad_crc"], drops["bad_grid"], drops["out_of_range"]) == (1, 1, 1)
    assert [f.seq for f in frames] == [0, 3]
    # a hello with another grid, then frames of that grid: taken, the shortcut follows
    _send(inp, hello_payload(DeviceInfo(device="desk-1", rows=10, cols=10, max_value=1023)))
    for i in range(5, 8):
        _send(inp, frame_payload(np.full((10, 10), 7, np.uint16), i, 1000 + 100 * i))
    assert [f.seq for f in frames] == [0, 3, 5, 6, 7]
    assert frames[-1].max_value == 1023 and frames[-1].shape == (10, 10)


def test_a_frame_of_the_same_length_but_another_grid_is_no_frame_like_the_last():
    inp, frames = _input()
    _send(inp, frame_payload(np.full((8, 8), 100, np.uint16), 0, 1000))  # 128 bytes of cells
    _send(inp, frame_payload(np.full((16, 8), 100, np.uint8), 1, 1100, bits=8))  # 128 bytes too
    assert _drops(inp)["bad_grid"] == 1
    # a hello announcing another grid: the last frame's shape no longer fits, though its bytes do
    _send(inp, hello_payload(DeviceInfo(device="desk-1", rows=16, cols=4, max_value=4095)))
    _send(inp, frame_payload(np.full((8, 8), 100, np.uint16), 2, 1200))
    assert _drops(inp)["bad_grid"] == 2
    assert [f.seq for f in frames] == [0]


def test_a_frame_rejected_is_counted_once_not_again_as_lost_in_transit():
    inp, frames = _input()
    _hello_and_first_frame(inp)
    _send(inp, _with_a_flipped_bit(frame_payload(CELLS, 1, 1100), 30))  # seq 1: a bad CRC
    _send(inp, frame_payload(np.full((8, 8), 9000, np.uint16), 2, 1200))  # seq 2: out of range
    _send(inp, frame_payload(CELLS, 2, 1200))  # seq 2 again, good (a retry): no loss, no double
    # seqs 3 and 4 never come: lost in transit, 2 of them
    _send(inp, frame_payload(CELLS, 5, 1500))
    drops = _drops(inp)
    assert drops == {"bad_crc": 1, "out_of_range": 1, "lost_in_transit": 2}
    assert [f.seq for f in frames] == [0, 2, 5]
