"""One paho-mqtt connection per daemon, shared by the MQTT input and the MQTT publisher.

The daemon builds `MqttInput(settings.mqtt)` and `MqttPublisher(settings.mqtt)` separately;
both call `MqttConnection.shared(config)` and get the same connection (keyed by broker,
client id and credentials), reference-counted: the network loop starts with the first
`acquire()` and the connection closes with the last `release()`.

Why one connection: one client id means one persistent session on the broker (QoS 1
frames and reminders queued across outages) and one last will (`<prefix>/status`).

Reconnects are paho's own (`loop_start` + `reconnect_delay_set`, exponential backoff from
RECONNECT_MIN_S to `reconnect_max_s`). Subscriptions are re-sent on every connect, because
a broker that lost its persistence (or a clean session) has forgotten them. QoS 1 messages
published while disconnected stay in paho's queue and go out after the reconnect.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from monitor.config.settings import MqttConfig
from monitor.mqtt.buffered import BufferedClient, Handler
from monitor.mqtt.topics import monitor_status_topic

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 0.5
SESSION_EXPIRY_S = 7 * 24 * 3600  # MQTT 5: keep our session (and its queue) a week
MAX_QUEUED_OUT = 10_000  # QoS 1 messages paho holds while the broker is away
STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"

class _BenignPahoErrors(logging.Filter):
    """paho 2.2 logs ERROR "Client is not connected" once after every disconnect (its loop
    runs once more without a socket); it is not an error, and the reconnect is logged by us."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Client is not connected")


_paho_log = logging.getLogger("paho.mqtt")
_paho_log.addFilter(_BenignPahoErrors())

MessageHandler = Handler  # takes a ReceivedMessage or an MQTTMessage: .topic, .payload, .retain
ROUTE_CACHE_MAX = 65_536  # topics whose handlers are remembered (cushions x their topics)
ConnectListener = Callable[[bool, str | None], None]  # (connected, error)


def default_client_id(config: MqttConfig, identity: str | None = None) -> str:
    """Stable across restarts (a persistent session needs that); unique per host and prefix,
    and per `identity` when given (the daemon passes its database: two daemons on one host
    would otherwise take each other's session off the broker in turn)."""
    host = "".join(ch for ch in socket.gethostname() if ch.isalnum() or ch in "-_")[:24] or "host"
    prefix = config.topic_prefix.replace("/", "_")[:24]
    if identity is None:
        return f"sitwell-{host}-{prefix}"
    return f"sitwell-{host}-{prefix}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


def _key(config: MqttConfig) -> tuple:
    return (
        config.host,
        config.port,
        config.client_id or default_client_id(config),
        config.username,
        config.password,
        config.protocol,
        config.tls,
        str(config.ca_file),
        str(config.cert_file),
        str(config.key_file),
    )


class MqttConnection:
    """A paho client with re-subscription, connection listeners and reference counting."""

    _registry: dict[tuple, MqttConnection] = {}
    _registry_lock = threading.Lock()

    @classmethod
    def shared(cls, config: MqttConfig) -> MqttConnection:
        """The connection for this config, made on first use (call `acquire()` to start it)."""
        key = _key(config)
        with cls._registry_lock:
            conn = cls._registry.get(key)
            if conn is None or conn._closed:
                conn = cls(config)
                cls._registry[key] = conn
            return conn

    def __init__(self, config: MqttConfig) -> None:
        if not config.host:
            raise ValueError("mqtt.host is not set")
        self.config = config
        self.client_id = config.client_id or default_client_id(config)
        self.status_topic = monitor_status_topic(config)
        self.mqtt5 = config.protocol == "5"
        self._lock = threading.RLock()
        self._refs = 0
        self._closed = False
        self._started = False
        self._subs: dict[str, int] = {}  # topic filter -> qos
        self._handlers: dict[str, MessageHandler] = {}  # topic filter -> handler
        self._routes: dict[str, tuple[MessageHandler, ...]] = {}  # topic -> handlers, filled as topics come
        self._listeners: list[ConnectListener] = []
        self.connected = False
        self.error: str | None = None
        self._refused: str | None = None  # why the broker refused the last CONNECT
        self.connects = 0  # successful CONNACKs (tests and health read it)
        # set when the broker has acknowledged our subscriptions on the current connection
        self.subscribed = threading.Event()
        self.client = self._make_client()

    # ---- set-up ----------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        """A paho client reading in 64 KiB chunks (monitor/mqtt/buffered.py: many frames a second)."""
        cfg = self.config
        client: mqtt.Client
        if self.mqtt5:
            client = BufferedClient(
                CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=MQTTProtocolVersion.MQTTv5
            )
        else:
            # clean_session False + a stable client id: the broker keeps our subscriptions
            # and queues QoS 1 messages for us while we are away
            client = BufferedClient(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                clean_session=False,
                protocol=MQTTProtocolVersion.MQTTv311,
            )
        client.route = self._route
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set(
                ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
                certfile=str(cfg.cert_file) if cfg.cert_file else None,
                keyfile=str(cfg.key_file) if cfg.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.will_set(self.status_topic, STATUS_OFFLINE, qos=1, retain=True)
        # paho's annotations say int; it computes the back-off in float seconds (0.5 s works)
        client.reconnect_delay_set(min(RECONNECT_MIN_S, cfg.reconnect_max_s), cfg.reconnect_max_s)  # type: ignore[arg-type]
        client.max_queued_messages_set(MAX_QUEUED_OUT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.enable_logger(_paho_log)
        return client

    def add_listener(self, listener: ConnectListener) -> None:
        """Called (from paho's thread) on every connect and disconnect."""
        with self._lock:
            self._listeners.append(listener)
            connected, error = self.connected, self.error
        if self._started:
            listener(connected, error)

    def remove_listener(self, listener: ConnectListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def subscribe(self, topic: str, qos: int, handler: MessageHandler) -> None:
        """Route messages on `topic` (a filter) to `handler`; kept across reconnects."""
        self.client.message_callback_add(topic, lambda _c, _u, msg: handler(msg))
        with self._lock:
            self._subs[topic] = qos
            self._handlers[topic] = handler
            self._routes.clear()
            connected = self.connected
        if connected:
            self.client.subscribe(topic, qos)

    def forget_handler(self, topic: str) -> None:
        """Stop handing messages on `topic` on, but stay subscribed (the broker then queues
        QoS 1 messages for our next run in the persistent session)."""
        self.client.message_callback_remove(topic)
        with self._lock:
            self._handlers.pop(topic, None)
            self._routes.clear()

    def unsubscribe(self, topic: str) -> None:
        self.forget_handler(topic)
        with self._lock:
            self._subs.pop(topic, None)
            connected = self.connected
        if connected:
            self.client.unsubscribe(topic)

    def _route(self, topic: str) -> tuple[MessageHandler, ...]:
        """The handlers of a topic (paho's thread, for BufferedClient's QoS 0 way): a dict
        lookup once a topic is known, where paho walks its filter trie for every message."""
        handlers = self._routes.get(topic)
        if handlers is None:
            with self._lock:
                handlers = tuple(h for f, h in self._handlers.items() if mqtt.topic_matches_sub(f, topic))
                if len(self._routes) >= ROUTE_CACHE_MAX:
                    self._routes.clear()  # a flood of made-up topics must not grow it without end
                self._routes[topic] = handlers
        return handlers

    # ---- lifetime ---------------------------------------------------------------
    def acquire(self) -> None:
        """Start the connection on the first user; returns at once (connects in the background)."""
        with self._lock:
            self._refs += 1
            if self._started:
                return
            self._started = True
        cfg = self.config
        kwargs: dict[str, Any] = {}
        if self.mqtt5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            # a bounded in-flight window for the QoS 1 frames the broker sends us (docs/scaling.md)
            props.ReceiveMaximum = cfg.receive_maximum
            kwargs = {"clean_start": False, "properties": props}
        log.info(
            "mqtt: connecting to %s:%s as %s (MQTT %s%s)",
            cfg.host, cfg.port, self.client_id, cfg.protocol, ", TLS" if cfg.tls else "",
        )
        # connect_async + loop_start: the first connection is retried in the background
        # like every later one, so a broker that is not up yet is not an error at start
        assert cfg.host is not None, "Settings requires mqtt.host for an MQTT input or publisher"
        self.client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive, **kwargs)
        self.client.loop_start()

    def release(self, timeout: float = 1.0) -> None:
        """Drop one user; the last one says `offline`, disconnects and stops the loop."""
        with self._lock:
            self._refs = max(0, self._refs - 1)
            if self._refs or not self._started or self._closed:
                return
            self._closed = True
            connected = self.connected
        if connected:
            info = self.client.publish(self.status_topic, STATUS_OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        with self._registry_lock:
            for key, conn in list(self._registry.items()):
                if conn is self:
                    del self._registry[key]
        log.info("mqtt: disconnected from %s:%s", self.config.host, self.config.port)

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Thread-safe. QoS 1 is queued while disconnected; QoS 0 is lost then."""
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    # ---- paho callbacks (paho's network thread) -----------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, _properties: Properties | None) -> None:
        if reason_code.is_failure:
            error = f"broker refused the connection: {reason_code}"
            log.warning("mqtt: %s", error)
            self._refused = error  # the disconnect that follows must not hide the reason
            self._set_state(False, error)
            return
        self._refused = None
        # the subscription snapshot and `connected` change together, so a subscribe()
        # racing with this callback is either in the snapshot or sent by subscribe() itself
        with self._lock:
            subs = list(self._subs.items())
            self.connects += 1
            self.connected, self.error = True, None
        log.info("mqtt: connected to %s:%s (session present: %s)", self.config.host, self.config.port,
                 flags.session_present)
        client.publish(self.status_topic, STATUS_ONLINE, qos=1, retain=True)
        if subs:
            client.subscribe([(topic, qos) for topic, qos in subs])
        else:
            self.subscribed.set()
        self._set_state(True, None)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reason_codes: list[mqtt.ReasonCode],
                      _properties: Properties | None) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.warning("mqtt: broker refused a subscription: %s", failed)
        self.subscribed.set()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        error = f"cannot connect to {self.config.host}:{self.config.port}"
        log.warning("mqtt: %s; retrying", error)
        self._set_state(False, error)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: mqtt.DisconnectFlags,
                       reason_code: mqtt.ReasonCode, _properties: Properties | None) -> None:
        error = None if self._closed else self._refused or f"disconnected: {reason_code}"
        if not self._closed and not self._refused:
            log.warning("mqtt: %s; reconnecting", error)
        self._set_state(False, error)

    def _set_state(self, connected: bool, error: str | None) -> None:
        if not connected:
            self.subscribed.clear()
        with self._lock:
            self.connected = connected
            self.error = error
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(connected, error)
            except Exception:  # a listener bug must not kill paho's thread
                log.exception("mqtt: connection listener failed")
