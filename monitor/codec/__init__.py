"""Codecs: wire bytes and recording lines -> frames (CONTRACT sections 3 and 4), and back.

binary.py (the framed binary protocol), text.py (text lines), jsonframe.py (JSON frames,
as on MQTT), detect.py (which codec a serial stream speaks), fullscale.py (the one
max_value policy), recording.py (recording files), errors.py (CodecError).
"""

from monitor.codec.binary import (
    BinaryDecoder,
    FramePacket,
    HelloPacket,
    device_info_from_json,
    encode_frame,
    encode_hello,
)
from monitor.codec.detect import CodecDetector, detect_codec
from monitor.codec.errors import CodecError
from monitor.codec.fullscale import FullScale, FullScaleNotice
from monitor.codec.jsonframe import JsonFrame, decode_json_frame
from monitor.codec.recording import RecordingError, RecordingHeader, RecordingReader, RecordingWriter
from monitor.codec.text import TextDecoder, TextFrame

__all__ = [
    "BinaryDecoder",
    "CodecDetector",
    "CodecError",
    "FramePacket",
    "FullScale",
    "FullScaleNotice",
    "HelloPacket",
    "JsonFrame",
    "RecordingError",
    "RecordingHeader",
    "RecordingReader",
    "RecordingWriter",
    "TextDecoder",
    "TextFrame",
    "decode_json_frame",
    "detect_codec",
    "device_info_from_json",
    "encode_frame",
    "encode_hello",
]
