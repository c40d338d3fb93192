"""A paho client that reads its socket in 64 KiB chunks.

paho reads a packet as one recv() of its command byte, one per byte of its length and one
(or more) of its body, and handles one packet per turn of its network loop (a select()
each). A daemon taking 10,000 frames a second (1,000 cushions at 10 Hz) spends most of its
MQTT thread in those calls. `BufferedClient` puts a `BufferedSocket` under paho: one
recv(64 KiB) serves many packets from memory, and a turn of the loop handles every
complete packet in the buffer (up to READ_BURST). The socket reports the bytes it holds
through `pending()`, which paho already asks of an SSL socket, so its select() does not
wait while packets are buffered.

A QoS 0 PUBLISH whose topic has a route (`BufferedClient.route`, set by MqttConnection) is
parsed straight from the buffer and handed to its handlers as a `ReceivedMessage`: paho's
own way costs ~4 recv() calls, a packet dict, an MQTTMessage, a debug-log call, a walk of
its topic trie and two locks per message, which at 10,000 frames a second was most of the
daemon's CPU (docs/performance.md, issue 16 fourth round). Everything else — QoS 1 and 2,
MQTT 5 properties, a packet not yet whole in the buffer, any other packet type, a topic
without a route — is left where it is for paho, which parses, acknowledges, keeps alive,
writes and reconnects as it always does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
READ_BURST = 2000  # packets per turn of paho's loop, so its writes (acks, states) go out between


@dataclass(slots=True)
class ReceivedMessage:
    """What a handler reads of a message (the part of paho's MQTTMessage sitwell uses)."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0


Handler = Callable[[Any], None]  # takes a ReceivedMessage or paho's MQTTMessage
Route = Callable[[str], Sequence[Handler]]  # a topic's handlers; empty: paho's own way


class BufferedSocket:
    """A socket (plain or SSL) whose recv() is served from a READ_CHUNK buffer."""

    def __init__(self, sock: mqtt.SocketLike) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._sock.recv(max(bufsize, READ_CHUNK))  # BlockingIOError / SSLWantRead: paho's to handle
            if len(data) <= bufsize:
                return data
            self._buf, self._pos = data, 0
        end = self._pos + bufsize
        out = self._buf[self._pos:end]
        self._pos = min(end, len(self._buf))
        return out

    def pending(self) -> int:
        """Bytes that can be read without waiting (paho then skips its select() timeout)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._buf) - self._pos + (inner() if inner is not None else 0)

    def send(self, data: bytes) -> int:
        return self._sock.send(data)

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:  # anything else paho asks of a socket
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    """`paho.mqtt.client.Client` over a BufferedSocket (see the module docstring)."""

    route: Route | None = None
    routed = 0  # messages handed on by the buffer's own way (tests and health read it)

    def _create_socket(self) -> mqtt.SocketLike:
        return BufferedSocket(super()._create_socket())  # type: ignore[return-value]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        for _ in range(READ_BURST):
            sock = self._sock
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            if self.route is not None and self._in_packet["command"] == 0 and self._publishes_from(sock):
                continue
            rc = super().loop_read(max_packets)
        return rc

    def _publishes_from(self, sock: BufferedSocket) -> int:
        """Hand on the routed QoS 0 PUBLISH packets at the head of the buffer; stop at the
        first packet that is anything else (or not whole yet), which paho then reads."""
        route = self.route
        assert route is not None
        buf, pos = sock._buf, sock._pos
        end = len(buf)
        mqtt5 = self._protocol == MQTTProtocolVersion.MQTTv5
        handled = 0
        while pos < end:
            command = buf[pos]
            if (command & 0xF6) != 0x30:  # not a PUBLISH (type 3) at QoS 0
                break
            length, mult, p = 0, 1, pos + 1
            while p < end and p - pos <= 4:
                byte = buf[p]
                p += 1
                length += (byte & 127) * mult
                mult *= 128
                if not byte & 128:
                    break
            else:
                break  # the length is not whole yet, or malformed: paho's to judge
            body_end = p + length
            if body_end > end or length < 2:
                break
            topic_end = p + 2 + ((buf[p] << 8) | buf[p + 1])
            payload_at = topic_end + 1 if mqtt5 else topic_end
            if payload_at > body_end or topic_end == p + 2 or (mqtt5 and buf[topic_end] != 0):
                break  # empty topic, MQTT 5 properties (an alias, say) or malformed
            try:
                topic = buf[p + 2:topic_end].decode()
            except UnicodeDecodeError:
                break
            handlers = route(topic)
            if not handlers:
                break
            pos = sock._pos = body_end  # taken before the handlers run, whatever they do
            handled += 1
            message = ReceivedMessage(topic, buf[payload_at:body_end], bool(command & 1))
            for handler in handlers:
                try:
                    handler(message)
                except Exception:  # paho's thread must live on
                    log.exception("mqtt: handler for %s failed", topic)
        if handled:
            self.routed += handled
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
        return handled
