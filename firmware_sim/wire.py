"""What the simulated firmware puts on the wire (CONTRACT sections 2, 3 and 4).

This is the device's own encoder, written from the contract and not shared with the
monitor's decoder, so a test that decodes these bytes with the monitor's codec checks
both against the contract rather than against each other.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any

import numpy as np
from cobs import cobs
from crc import Calculator, Crc16

MAGIC = b"SW"
VERSION = 1
TYPE_FRAME, TYPE_HELLO = 1, 2
_HEADER = struct.Struct("<2sBBHIBBB")  # magic, version, type, seq, t_ms, rows, cols, bits
# CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) is the `crc`
# library's IBM_3740. That library is pure Python (~4 ms per 1 KB frame even table-driven),
# too slow for 32x32 at 50 Hz or for writing a day "as fast as possible", so frames use the
# C implementation of the same CRC in the standard library (binascii.crc_hqx with init
# 0xFFFF), checked against the library once at import.
_REFERENCE = Calculator(Crc16.IBM_3740.value, optimized=True)


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def crc16_reference(data: bytes) -> int:
    return _REFERENCE.checksum(data)


_CHECK = b"123456789\x00\xff" * 3
if crc16(_CHECK) != crc16_reference(_CHECK) or crc16(b"123456789") != 0x29B1:  # pragma: no cover
    raise ImportError("binascii.crc_hqx does not match CRC-16/CCITT-FALSE on this Python")


def bits_for(max_value: int) -> int:
    """8 bits per cell for an 8-bit sensor, 16 for 12- and 16-bit ones (CONTRACT 2.1)."""
    return 8 if max_value <= 255 else 16


def packet(kind: int, seq: int, t_ms: int, rows: int, cols: int, bits: int, body: bytes) -> bytes:
    """A decoded packet: header, body, CRC (no COBS, no terminator) - an MQTT payload."""
    head = _HEADER.pack(MAGIC, VERSION, kind, seq & 0xFFFF, t_ms & 0xFFFFFFFF, rows, cols, bits)
    data = head + body
    return data + struct.pack("<H", crc16(data))


def frame_packet(cells: np.ndarray, seq: int, t_ms: int, max_value: int = 4095) -> bytes:
    rows, cols = cells.shape
    bits = bits_for(max_value)
    body = cells.astype("<u2" if bits == 16 else "u1").tobytes()
    return packet(TYPE_FRAME, seq, t_ms, rows, cols, bits, body)


def hello_packet(info: dict[str, Any], seq: int = 0, t_ms: int = 0) -> bytes:
    body = json.dumps(info, separators=(",", ":")).encode()
    return packet(TYPE_HELLO, seq, t_ms, 0, 0, 0, body)


def cobs_frame(payload: bytes) -> bytes:
    """COBS-encode a packet and add the 0x00 that ends it on a serial line."""
    return cobs.encode(payload) + b"\x00"


def text_line(cells: np.ndarray, sep: str = ",") -> bytes:
    """CONTRACT 2.2: one line of rows*cols integers, row-major."""
    return (sep.join(map(str, cells.ravel().tolist())) + "\n").encode()


_DIGITS: list[str] = []


def cells_json(cells: np.ndarray) -> str:
    """`cells` as a JSON list of row lists, about twice as fast as json.dumps(cells.tolist())."""
    if not _DIGITS:
        _DIGITS.extend(str(i) for i in range(65536))
    d = _DIGITS
    return "[[" + "],[".join([",".join([d[v] for v in row]) for row in cells.tolist()]) + "]]"


def json_frame(t: float, cells: np.ndarray, label: dict[str, Any] | None = None, seq: int | None = None) -> str:
    """A CONTRACT section 4 frame object (also an MQTT frames payload)."""
    obj: dict[str, Any] = {"t": round(float(t), 4), "cells": cells.tolist()}
    if seq is not None:
        obj["seq"] = int(seq)
    if label is not None:
        obj["label"] = label
    return json.dumps(obj, separators=(",", ":"))


def digit_line(cells: np.ndarray, max_value: int) -> bytes:
    """CONTRACT 2.2's hobby variant: one digit 0-9 per cell, no separators (a 10-level scan)."""
    levels = (cells.astype(np.uint32) * 10 // (max_value + 1)).astype(np.uint8)
    return (levels.ravel() + 0x30).tobytes() + b"\n"


class WireEncoder:
    """Encodes frames for one codec: `binary` (COBS packets), `text` (lines of integers),
    `digits` (lines of one digit per cell) or `json` (CONTRACT section 4 frame lines)."""

    CODECS = ("binary", "text", "digits", "json")

    def __init__(self, codec: str, info: dict[str, Any]):
        if codec not in self.CODECS:
            raise ValueError(f"codec must be one of {self.CODECS}, got {codec!r}")
        self.codec = codec
        self.info = info
        self.max_value = int(info["max_value"])

    def hello(self, seq: int = 0, t_ms: int = 0) -> bytes:
        """What a device sends when it (re)starts: the hello packet (binary only)."""
        if self.codec == "binary":
            return cobs_frame(hello_packet(self.info, seq, t_ms))
        if self.codec in ("text", "digits"):
            return f"# sitwell-sim {self.info['device']} {self.info['rows']}x{self.info['cols']}\n".encode()
        return b""

    def hello_payload(self, seq: int = 0, t_ms: int = 0) -> bytes:
        """The hello as MQTT carries it (CONTRACT section 3): the bare binary packet, or for
        JSON the recording header object (section 4), which the monitor takes as a hello."""
        if self.codec == "binary":
            return hello_packet(self.info, seq, t_ms)
        header = {"type": "header", "format": "sitwell-recording", "version": 1, "cushion": self.info["device"]}
        header |= {k: self.info[k] for k in ("rows", "cols", "max_value", "rate_hz") if k in self.info}
        return json.dumps(header, separators=(",", ":")).encode()

    def payload(self, cells: np.ndarray, seq: int, t: float, label: dict[str, Any] | None = None) -> bytes:
        """One frame without stream framing (binary: the packet as MQTT carries it)."""
        if self.codec == "binary":
            return frame_packet(cells, seq, int(round(t * 1000)), self.max_value)
        if self.codec == "text":
            return text_line(cells)[:-1]
        if self.codec == "digits":
            return digit_line(cells, self.max_value)[:-1]
        return json_frame(t, cells, label, seq).encode()

    def frame(self, payload: bytes) -> bytes:
        """Stream framing for a serial line: COBS + 0x00 for binary, a newline for lines."""
        return cobs_frame(payload) if self.codec == "binary" else payload + b"\n"
