"""Tell the binary codec from the text codec by the first bytes of a stream.

- binary: some run between two 0x00 delimiters COBS-decodes to a packet starting with
  "SW" version 1 and a known type (a hello or a frame; the CRC is not required, so one
  packet with a flipped bit does not delay the decision).
- text: two complete lines of printable ASCII, at least one of them a run of digits and
  separators, after the last 0x00 (text never contains 0x00; COBS output ends every
  packet with one).

Until either is certain the answer is None and the caller keeps the bytes; the detector
keeps only the last `window` bytes, so a stream of noise cannot grow it.
"""

from __future__ import annotations

import re
from typing import Literal

from cobs import cobs

from monitor.codec.binary import MAGIC, MAX_ENCODED, TYPE_FRAME, TYPE_HELLO, VERSION

Codec = Literal["binary", "text"]

_PRINTABLE = re.compile(rb"[\t\r\x20-\x7e]*")
_DATA_LINE = re.compile(rb"[,; \t]*[0-9]+(?:[,; \t]+[0-9]+)*[,; \t]*\r?")


def _binary_packet_in(data: bytes) -> bool:
    # Only runs with a 0x00 on both sides are whole packets; the first run may be a tail.
    runs = data.split(b"\x00")[1:-1]
    for run in runs:
        if not run or len(run) > MAX_ENCODED:
            continue
        try:
            payload = cobs.decode(run)
        except cobs.DecodeError:
            continue
        if payload[:2] == MAGIC and payload[2:3] == bytes([VERSION]) and payload[3:4] in (
            bytes([TYPE_FRAME]),
            bytes([TYPE_HELLO]),
        ):
            return True
    return False


def _text_lines_in(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    lines = data.split(b"\n")[1:-1]  # whole lines only: the first may be a tail
    if len(lines) < 2:
        return False
    recent = lines[-8:]
    if not all(_PRINTABLE.fullmatch(line) for line in recent):
        return False
    return any(_DATA_LINE.fullmatch(line) for line in recent)


def detect_codec(data: bytes) -> Codec | None:
    """'binary', 'text', or None (not sure yet: feed more bytes)."""
    if b"\x00" in data:
        if _binary_packet_in(data):
            return "binary"
        # a stray 0x00 (line noise when a board resets) must not hide a text stream
        data = data.rsplit(b"\x00", 1)[1]
    return "text" if _text_lines_in(data) else None


class CodecDetector:
    """Accumulates the start of a stream until `detect_codec` is sure.

    `feed` returns the codec once decided; `buffered` then holds the bytes seen so far
    (at most `window`), which the caller replays into the chosen decoder.
    """

    def __init__(self, window: int = 4 * MAX_ENCODED) -> None:
        self.window = window
        self._buf = bytearray()
        self.codec: Codec | None = None

    @property
    def buffered(self) -> bytes:
        return bytes(self._buf)

    def feed(self, data: bytes) -> Codec | None:
        if self.codec is not None:
            return self.codec
        self._buf += data
        if len(self._buf) > self.window:
            del self._buf[: len(self._buf) - self.window]
        self.codec = detect_codec(bytes(self._buf))
        return self.codec
