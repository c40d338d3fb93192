"""The text wire codec (CONTRACT §2.2): one frame per ASCII line.

A frame line holds exactly rows×cols integers in 0..max_value separated by commas,
semicolons, tabs or spaces (runs of them, and a trailing one, are accepted), ending in
`\\n` with an optional `\\r`. A line of exactly rows×cols digits and nothing else is a
one-digit-per-cell frame (readings 0–9, max_value 9).

Comment lines (`#…`) and empty lines are normal chatter from a sketch, not errors: they
are counted in `TextDecoder.skipped`, not in the drop counter. Everything else that is not
a frame is dropped and counted: wrong_count, out_of_range, bad_line, long_line.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from monitor.model import DropCounter

log = logging.getLogger(__name__)

SEPARATORS = b",; \t"
_FRAME_LINE = re.compile(rb"[0-9]+(?:[,; \t]+[0-9]+)*")
_DIGITS = re.compile(rb"[0-9]+")
# the widest sane value is 5 digits (65535); allow some slack for padding
_MAX_CHARS_PER_VALUE = 8
_SEP_TO_SPACE = bytes.maketrans(b",;\t", b"   ")


@dataclass(frozen=True, slots=True)
class TextFrame:
    cells: np.ndarray  # uint16 (rows, cols)
    max_value: int  # the decoder's max_value, or 9 for a digit-per-cell line


class TextDecoder:
    """Byte stream -> TextFrame list. Feed any chunking; never raises on input."""

    def __init__(self, rows: int, cols: int, max_value: int, drops: DropCounter | None = None) -> None:
        if rows < 1 or cols < 1 or not 1 <= max_value <= 65535:
            raise ValueError("rows, cols >= 1 and max_value in 1..65535 required")
        self.rows, self.cols, self.max_value = rows, cols, max_value
        self.n = rows * cols
        self.drops = drops if drops is not None else DropCounter()
        self.skipped: Counter[str] = Counter()  # comment / empty lines (not errors)
        self.max_line = self.n * _MAX_CHARS_PER_VALUE + 256
        self._buf = bytearray()
        self._discarding = False  # inside an over-long line: skip to the next \n

    def reset(self) -> None:
        self._buf.clear()
        self._discarding = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[TextFrame]:
        out: list[TextFrame] = []
        if not data:
            return out
        buf = self._buf
        scan = len(buf)  # the previous feed left no \n in the buffer
        buf += data
        start = 0
        while True:
            end = buf.find(b"\n", max(start, scan))
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                frame = self._line(bytes(buf[start:end]))
                if frame is not None:
                    out.append(frame)
            start = end + 1
        if start:
            del buf[:start]
        if len(buf) > self.max_line:
            if not self._discarding:
                self._drop("long_line", b"")
            self._discarding = True
            buf.clear()
        return out

    def decode_line(self, line: bytes) -> TextFrame | None:
        """One line without its `\\n`; None if it is not a frame (counted)."""
        return self._line(line)

    def _drop(self, reason: str, line: bytes) -> None:
        self.drops.drop(reason)
        log.debug("text: dropped a line (%s): %r", reason, line[:60])

    def _line(self, line: bytes) -> TextFrame | None:
        if len(line) > self.max_line:
            self._drop("long_line", line)
            return None
        line = line.strip(SEPARATORS + b"\r")
        if not line:
            self.skipped["empty"] += 1
            return None
        if line[:1] == b"#":
            self.skipped["comment"] += 1
            return None
        if len(line) == self.n and _DIGITS.fullmatch(line):
            # digit-per-cell: '0'..'9' bytes minus 0x30 gives the readings directly
            cells = (np.frombuffer(line, dtype=np.uint8) - 0x30).astype(np.uint16)
            return TextFrame(cells.reshape(self.rows, self.cols), 9)
        if not _FRAME_LINE.fullmatch(line):
            self._drop("bad_line", line)
            return None
        tokens = line.translate(_SEP_TO_SPACE).split()
        if len(tokens) != self.n:
            self._drop("wrong_count", line)
            return None
        if max(map(len, tokens)) > 5:  # leading zeros or absurd values: parse exactly
            values = np.array([min(int(tok), 1 << 32) for tok in tokens], dtype=np.int64)
        else:
            values = np.array(tokens).astype(np.int64)  # bytes -> int parsed in C
        if values.max() > self.max_value:
            self._drop("out_of_range", line)
            return None
        return TextFrame(values.astype(np.uint16).reshape(self.rows, self.cols), self.max_value)
