"""A paho client that reads its socket in 64 KiB chunks.

paho reads a packet as one recv() of its command byte, one per byte of its length and one
(or more) of its body, and handles one packet per turn of its network loop (a select()
each). A daemon taking 10,000 frames a second (1,000 cushions at 10 Hz) spends most of its
MQTT thread in those calls. `BufferedClient` puts a `BufferedSocket` under paho: one
recv(64 KiB) serves many packets from memory, and a turn of the loop handles every
complete packet in the buffer (up to READ_BURST). The socket reports the bytes it holds
through `pending()`, which paho already asks of an SSL socket, so its select() does not
wait while packets are buffered. Nothing else changes: paho still parses every packet,
writes, keeps alive and reconnects as it always does.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 64 * 1024
READ_BURST = 2000  # packets per turn of paho's loop, so its writes (acks, states) go out between


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

    def _create_socket(self) -> mqtt.SocketLike:
        return BufferedSocket(super()._create_socket())  # type: ignore[return-value]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        for _ in range(READ_BURST):
            sock = self._sock
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc
