"""Frames from cushions over MQTT (CONTRACT §3).

Subscribes (QoS 1) to `<prefix>/+/frames` and `<prefix>/+/status`, or to those of the
configured cushions only. A frames payload is either one binary packet (CONTRACT §2.1,
without COBS and the trailing 0x00: hello or frame) or one JSON frame object (§4 frame
line; a §4 header object is accepted as the JSON form of a hello).

Each cushion has its own state: grid and max_value (from its hello, else from its frames),
its clock (device_ms or the JSON "t" through the one device-clock policy,
`monitor/transport/device_clock.py`: never backwards, a reboot or a leap ahead taken as
a reconnect, a step back under 1 s dropped as stale), its
online/offline status and its health counters. Bad payloads are counted per cushion and
reason and logged at debug level; nothing here raises into paho's thread.

Frames lost before they reached us (a broker dropping messages for a slow subscriber, its
queue limits: docs/scaling.md) show as gaps in the frames' `seq` and are counted per cushion
as `lost_in_transit` (a gap of half the u16 range or more, or a device reboot, is a restart,
not a loss). With `mqtt.partition` = "i/n" only the cushions whose crc32(id) % n == i - 1
are taken; the others are counted as `other_partition` from their topic alone, before
anything is decoded or any state is kept for them.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.codec.binary import (
    CELL_DTYPES,
    CRC_SIZE,
    HEADER_SIZE,
    MAGIC,
    TYPE_FRAME,
    VERSION,
    FramePacket,
    HelloPacket,
    crc16_ccitt_false,
    decode_packet,
    device_info_from_json,
)
from monitor.codec.errors import CodecError
from monitor.codec.fullscale import FullScale
from monitor.codec.jsonframe import decode_json_frame, loads_limited
from monitor.config.settings import MqttConfig
from monitor.model import DeviceInfo, Frame, valid_cushion_id
from monitor.mqtt.connection import MqttConnection
from monitor.mqtt.topics import ANY_CUSHION, cushion_in, cushion_status_topic, frames_topic
from monitor.transport.base import Emit, FrameInput, InputHealth, LockedDropCounter
from monitor.transport.device_clock import U32_MS_WRAP_S, DeviceClock

if TYPE_CHECKING:
    from paho.mqtt.client import MQTTMessage

log = logging.getLogger(__name__)

DEFAULT_MAX_VALUE = 4095  # a 16-bit frame without a hello: most cushions are 12-bit ADCs
STALE_S = 1.0  # a clock going back less than this is a stale frame (reordered, redelivered), more a reboot
SEQ_WRAP = 1 << 16  # binary frames' seq is a u16 (CONTRACT §2.1)
SEQ_BEHIND = 1024  # a seq up to this far behind the newest is a late frame, further a restart
_SEQ_AND_MS = struct.Struct("<HI")  # at offset 4 of a binary packet (CONTRACT §2.1)
_CRC = struct.Struct("<H")
_FRAME_V1 = bytes([VERSION, TYPE_FRAME])
# drops that leave no hole in the frames' seqs: seen already, or no frame
_NO_GAP = frozenset({"duplicate", "stale", "bad_hello", "bad_header"})


def partition_of(cushion: str, parts: int) -> int:
    """The 1-based partition a cushion belongs to among `parts`: a stable hash (crc32 of the id),
    the same on every daemon and every run (unlike Python's hash())."""
    return zlib.crc32(cushion.encode()) % parts + 1


class _Cushion:
    """What the input keeps for one cushion."""

    def __init__(self, cushion: str) -> None:
        self.cushion = cushion
        self.health = InputHealth(input="mqtt", cushion=cushion)
        self.device: DeviceInfo | None = None  # from a hello / header
        self.grid: tuple[int, int] | None = None  # announced, or the first frame's
        self.max_value: int | None = None  # None: not announced, inferred per frame
        self.seen_max = 0  # highest reading so far (to infer max_value without a hello)
        self.status: str | None = None  # "online" / "offline" from <prefix>/<c>/status
        self.clock = DeviceClock(f"mqtt: cushion {cushion}", stale_s=STALE_S)
        self.last_heard = time.monotonic()  # any message on its topics (expiry)
        self.last_seq: int | None = None
        self.mono0: float | None = None  # for JSON frames without "t"
        # (length, grid-and-bits bytes, cell dtype, rows, cols, wire max) of its last binary
        # frame: the next like it is read without the general checks (MqttInput._binary)
        self.settled: tuple[int, bytes, np.dtype, int, int, int | None] | None = None
        self.rejected_since_seq = 0  # frames dropped (and counted) since the last seq was taken

    def set_device(self, info: DeviceInfo) -> None:
        self.device = info
        self.grid = (info.rows, info.cols)
        self.settled = None
        self.max_value = info.max_value
        self.health.set_device(info)


class MqttInput(FrameInput):
    """Cushions on an MQTT broker; one `InputHealth` per cushion seen or configured."""

    kind = "mqtt"

    def __init__(self, config: MqttConfig, default_max_value: int = DEFAULT_MAX_VALUE) -> None:
        if not config.host:
            raise ValueError("mqtt.host is not set")
        self.config = config
        self.default_max_value = default_max_value
        self.prefix = config.topic_prefix
        self.conn = MqttConnection.shared(config)
        self._lock = threading.Lock()
        self.partition = config.partition_parts()  # (index, of) or None: every cushion
        mine = [c for c in config.cushions if self._in_partition(c)]
        if len(mine) < len(config.cushions):
            log.warning("mqtt: cushions %s are configured but belong to other partitions than %s: not analysed here",
                        ", ".join(c for c in config.cushions if c not in mine), config.partition)
        self._cushions: dict[str, _Cushion] = {}
        self._by_topic: dict[str, _Cushion] = {}  # a cushion's topics, once seen (see _cushion_for)
        for name in mine:
            self._cushions[name] = _Cushion(name)
        self._configured = frozenset(mine)  # always kept, never expired
        self._last_expiry_scan = -1e9
        # with a `+` subscription anyone on the broker could invent cushions: at most this many
        self.max_cushions = config.max_cushions
        self.refused = 0  # new cushions refused at the limit
        self.expired = 0  # cushions forgotten after cushion_expiry_s of silence
        # payloads that belong to no valid cushion (bad id, too many cushions)
        self.drops = LockedDropCounter()
        self.other_partition = 0  # frames of cushions another daemon's partition takes
        self._foreign: set[str] = set()  # their ids, to say how many (bounded: see _is_foreign)
        self._emit: Emit | None = None
        self._broker_up = False
        self._topics: list[str] = []
        self._running = False

    # ---- FrameInput ---------------------------------------------------------------
    def start(self, emit: Emit) -> None:
        if self._running:
            return
        self._emit = emit
        self._running = True
        names = self.config.cushions or [ANY_CUSHION]
        self._topics = []
        for name in names:
            frames, status = frames_topic(self.prefix, name), cushion_status_topic(self.prefix, name)
            self.conn.subscribe(frames, 1, self._on_frames)
            self.conn.subscribe(status, 1, self._on_status)
            self._topics += [frames, status]
        self.conn.add_listener(self._on_connection)
        self.conn.acquire()

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self.conn.remove_listener(self._on_connection)
        for topic in self._topics:
            # local only: the broker keeps the subscription in our persistent session,
            # so frames sent while the daemon is down are queued for its return
            self.conn.forget_handler(topic)
        self.conn.release()
        self._on_connection(False, "stopped")

    def health(self) -> list[dict[str, Any]]:
        with self._lock:
            cushions = sorted(self._cushions.values(), key=lambda c: c.cushion)
        return [c.health.as_dict() for c in cushions]

    def health_of(self, cushion: str) -> dict[str, Any] | None:
        with self._lock:
            c = self._cushions.get(cushion)
        return None if c is None else c.health.as_dict()

    # ---- connection and status -------------------------------------------------------
    def _on_connection(self, connected: bool, error: str | None) -> None:
        self._broker_up = connected
        with self._lock:
            cushions = list(self._cushions.values())
        for c in cushions:
            self._update_connected(c, error)

    def _update_connected(self, c: _Cushion, error: str | None = None) -> None:
        if not self._broker_up:
            c.health.set_connected(False, error or self.conn.error or "broker not connected")
        elif c.status == "offline":
            c.health.set_connected(False, "cushion offline")
        else:
            c.health.set_connected(True)

    def _cushion_for(self, topic: str) -> _Cushion | None:
        c = self._by_topic.get(topic)
        if c is not None:  # a known cushion's topic: no parsing, no lock (paho's thread alone writes here)
            c.last_heard = time.monotonic()
            return c
        name = cushion_in(self.prefix, topic)
        if not valid_cushion_id(name):
            self.drops.drop("bad_cushion_id")
            log.debug("mqtt: ignoring topic %r: bad cushion id", topic)
            return None
        now = time.monotonic()
        with self._lock:
            c = self._cushions.get(name)
            if c is None:
                if len(self._cushions) >= self.max_cushions and not self._expire(now):
                    self.drops.drop("too_many_cushions")
                    self.refused += 1
                    if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                        log.warning("mqtt: cushion %s refused: %d cushions already, none silent for %g s"
                                    " (mqtt.cushion_expiry_s); %d refused so far", name, self.max_cushions,
                                    self.config.cushion_expiry_s, self.refused)
                    return None
                c = self._cushions[name] = _Cushion(name)
                log.info("mqtt: new cushion %s", name)
                new = True
            else:
                new = False
            c.last_heard = now
            if len(self._by_topic) < 4 * self.max_cushions:
                self._by_topic[topic] = c
        if new:
            self._update_connected(c)
        return c

    def _expire(self, now: float) -> bool:
        """Forget the cushions silent for cushion_expiry_s (never configured ones); True if
        there is room now. Scans at most once a second, so a flood of new ids costs O(1) each."""
        if now - self._last_expiry_scan < 1.0:
            return False
        self._last_expiry_scan = now
        limit = self.config.cushion_expiry_s
        silent = [n for n, c in self._cushions.items() if n not in self._configured and now - c.last_heard >= limit]
        for n in silent:
            del self._cushions[n]
        if silent:
            self._by_topic = {t: c for t, c in self._by_topic.items() if c.cushion in self._cushions}
            self.expired += len(silent)
            log.info("mqtt: %d cushions silent for %g s forgotten (%s%s)", len(silent), limit,
                     ", ".join(silent[:5]), ", ..." if len(silent) > 5 else "")
        return len(self._cushions) < self.max_cushions

    def _is_foreign(self, topic: str) -> bool:
        """A cushion of another daemon's partition (before anything is decoded)."""
        if self.partition is None:
            return False
        name = cushion_in(self.prefix, topic)
        if self._in_partition(name):
            return False
        if len(self._foreign) < 4 * self.max_cushions:
            self._foreign.add(name)
        return True

    def _in_partition(self, cushion: str) -> bool:
        if self.partition is None:
            return True
        index, parts = self.partition
        return partition_of(cushion, parts) == index

    def foreign_cushions(self) -> int:
        """How many cushions of other partitions were seen (up to 4 * max_cushions)."""
        return len(self._foreign)

    def _on_status(self, msg: MQTTMessage) -> None:
        try:
            if self._is_foreign(msg.topic):
                return
            c = self._cushion_for(msg.topic)
            if c is None:
                return
            status = bytes(msg.payload[:16]).strip().lower().decode("ascii", "replace")
            if status not in ("online", "offline"):
                c.health.drop("bad_status")
                return
            if status != c.status:
                log.info("mqtt: cushion %s is %s", c.cushion, status)
                if status == "online" and c.status == "offline" and c.device is None:
                    c.grid = c.settled = None  # it may come back with another grid; the next frame says
                c.status = status
            self._update_connected(c)
        except Exception:  # never into paho's thread
            log.exception("mqtt: status message on %s", msg.topic)

    # ---- frames ---------------------------------------------------------------------
    def _on_frames(self, msg: MQTTMessage) -> None:
        c: _Cushion | None = None
        try:
            if self._is_foreign(msg.topic):
                self.other_partition += 1
                return
            c = self._cushion_for(msg.topic)
            if c is None:
                return
            payload = msg.payload
            if len(payload) > self.config.max_payload:
                self._drop(c, "oversize", f"{len(payload)} bytes")
                return
            if payload[:2] == b"SW":
                frame = self._binary(c, payload)
            elif payload.lstrip()[:1] == b"{":
                frame = self._json(c, payload)
            else:
                self._drop(c, "unknown_format", repr(bytes(payload[:8])))
                return
            if frame is not None and self._emit is not None and self._running:
                c.health.frame()
                if c.status is None or (c.status == "offline" and not msg.retain):
                    # a live frame is proof of life, whatever an old status or will said
                    c.status = None if c.status is None else "online"
                    self._update_connected(c)
                self._emit(frame)
        except CodecError as exc:
            if c is not None:
                self._drop(c, exc.reason, exc.detail)
        except Exception:  # a bug here must cost one frame, not the input
            log.exception("mqtt: frame on %s", msg.topic)
            if c is not None:
                c.health.drop("internal_error")

    def _drop(self, c: _Cushion, reason: str, detail: str = "") -> None:
        c.health.drop(reason)
        if reason not in _NO_GAP:
            c.rejected_since_seq += 1  # its seq will show as a gap: it came, and is counted here
        log.debug("mqtt: dropped a payload from %s: %s %s", c.cushion, reason, detail)

    def _binary(self, c: _Cushion, payload: bytes | bytearray) -> Frame | None:
        settled = self._settled_frame(c, payload)
        if settled is not None:
            cells, wire_max = settled
            seq, device_ms = _SEQ_AND_MS.unpack_from(payload, 4)
        else:
            pkt = decode_packet(payload)
            if isinstance(pkt, HelloPacket):
                self._hello(c, pkt.info)
                return None
            assert isinstance(pkt, FramePacket)
            self._check_grid(c, pkt.rows, pkt.cols)
            cells, seq, device_ms = pkt.cells, pkt.seq, pkt.device_ms
            wire_max = 255 if pkt.bits == 8 else None
            c.settled = (len(payload), bytes(payload[10:13]), CELL_DTYPES[pkt.bits], pkt.rows, pkt.cols, wire_max)
        max_value = self._max_value(c, cells, wire_max)
        if c.last_seq == seq and c.clock.last_raw == device_ms / 1000.0:
            raise CodecError("duplicate", f"seq {seq}")  # a QoS 1 redelivery
        reconnects = c.clock.reconnects
        t = c.clock.to_t(device_ms / 1000.0, wrap=U32_MS_WRAP_S)
        self._count_gap(c, seq, c.clock.reconnects != reconnects)  # a stale frame arrived: not lost
        if t is None:
            raise CodecError("stale", f"device_ms {device_ms}")
        return Frame(c.cushion, t, cells, max_value, seq)

    @staticmethod
    def _settled_frame(c: _Cushion, payload: bytes | bytearray) -> tuple[np.ndarray, int | None] | None:
        """(cells, wire max) of a frame packet like this cushion's last one (same length,
        version, type, grid and bits) with a good CRC: what `decode_packet` would give, without
        its general checks. Anything else (None) goes the general way, which judges it."""
        settled = c.settled
        if settled is None:
            return None
        n, geometry, dtype, rows, cols, wire_max = settled
        if len(payload) != n or payload[2:4] != _FRAME_V1 or payload[10:13] != geometry or payload[:2] != MAGIC:
            return None
        if crc16_ccitt_false(memoryview(payload)[: n - CRC_SIZE]) != _CRC.unpack_from(payload, n - CRC_SIZE)[0]:
            return None
        # astype copies: the cells must not alias the caller's buffer
        return np.frombuffer(payload, dtype, rows * cols, HEADER_SIZE).astype(np.uint16).reshape(rows, cols), wire_max

    def _json(self, c: _Cushion, payload: bytes | bytearray) -> Frame | None:
        head = bytes(payload[:256])
        if b'"header"' in head and b'"cells"' not in payload:
            self._json_header(c, payload)
            return None
        jf = decode_json_frame(
            payload,
            max_value=65535,  # the full-scale policy (_max_value) judges the readings
            rows=c.grid[0] if c.grid else None,
            cols=c.grid[1] if c.grid else None,
            max_bytes=self.config.max_payload,
        )
        self._check_grid(c, *jf.cells.shape)
        max_value = self._max_value(c, jf.cells, None)
        if jf.t is None:
            now = time.monotonic()
            if c.mono0 is None:
                c.mono0 = now
            raw = now - c.mono0
        else:
            raw = jf.t
        if jf.seq is not None and c.last_seq == jf.seq and c.clock.last_raw == raw:
            raise CodecError("duplicate", f"seq {jf.seq}")
        reconnects = c.clock.reconnects
        t = c.clock.to_t(raw)
        self._count_gap(c, jf.seq, c.clock.reconnects != reconnects)  # a stale frame arrived: not lost
        if t is None:
            raise CodecError("stale", f"t {raw}")
        return Frame(c.cushion, t, jf.cells, max_value, jf.seq)

    def _count_gap(self, c: _Cushion, seq: int | None, restarted: bool) -> None:
        """Frames missing between the newest seq and this one: `lost_in_transit` (u16 wrap).
        A seq a little behind the newest (reordered, redelivered) is no loss and moves nothing;
        far behind, or a device reboot, starts the count afresh."""
        last = c.last_seq
        if seq is None or last is None or restarted:
            c.last_seq, c.rejected_since_seq = seq, 0
            return
        gap = (seq - last - 1) % SEQ_WRAP
        if gap >= SEQ_WRAP - SEQ_BEHIND:
            return  # behind the newest
        if gap >= SEQ_WRAP // 2:
            c.last_seq = seq  # far behind: a restart the clock did not see
            return
        c.last_seq = seq
        # frames rejected since the last seq (a bad CRC, say) came: they are counted as that,
        # not again as lost
        gap -= min(gap, c.rejected_since_seq)
        c.rejected_since_seq = 0
        if gap:
            c.health.drop("lost_in_transit", gap)
            log.debug("mqtt: cushion %s: %d frame(s) missing before seq %d", c.cushion, gap, seq)

    def _json_header(self, c: _Cushion, payload: bytes | bytearray) -> None:
        obj = loads_limited(payload, max_bytes=self.config.max_payload, max_depth=4)
        if not isinstance(obj, dict) or obj.get("type") != "header":
            raise CodecError("bad_frame", "not a frame or header object")
        try:
            info = device_info_from_json(obj)
        except CodecError as exc:
            raise CodecError("bad_header", exc.detail) from None
        self._hello(c, info)

    def _hello(self, c: _Cushion, info: DeviceInfo) -> None:
        if c.device != info:
            log.info("mqtt: cushion %s: %s %dx%d, max %d", c.cushion, info.device, info.rows, info.cols,
                     info.max_value)
        c.set_device(info)
        self._full_scale(c).announce(info.max_value)

    def _check_grid(self, c: _Cushion, rows: int, cols: int) -> None:
        if c.grid is None:
            c.grid = (rows, cols)
        elif c.grid != (rows, cols):
            raise CodecError("bad_grid", f"{rows}x{cols}, the cushion has {c.grid[0]}x{c.grid[1]}")

    def _full_scale(self, c: _Cushion) -> FullScale:
        scale = c.health.full_scale
        if scale is None:
            scale = c.health.full_scale = FullScale(
                self.default_max_value, explicit=False, cushion=c.cushion, setting="max_value", flag=None,
                fix_hint=f"let cushion {c.cushion} publish its hello (retained on its frames topic) with"
                         " max_value {scale}",
            )
        return scale

    def _max_value(self, c: _Cushion, cells: np.ndarray, bits_max: int | None) -> int:
        """Announced max_value (readings above it are dropped), else inferred and sticky."""
        top = int(np.maximum.reduce(cells, axis=None)) if cells.size else 0  # cells.max(), without its wrapper
        scale = self._full_scale(c)
        c.seen_max = max(c.seen_max, top)
        in_use = scale.check(top, bits_max)
        if in_use is None:
            raise CodecError("out_of_range", f"reading {top} above max_value {scale.in_use}")
        return in_use
