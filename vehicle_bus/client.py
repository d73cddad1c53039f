"""A thread-safe MQTT client for the vehicle bus: get, set (waits for the ack), subscribe.

QoS 1 throughout. The connection is kept up by paho's network thread: after a broker restart
it reconnects, re-subscribes every filter and re-sends set requests still waiting for their
ack (the vehicle applies a request id once, so a re-send cannot apply twice).

Each set request carries a deadline (and, over MQTT 5, a message expiry interval): the vehicle
refuses it after that, and once its caller was told it failed it is never sent again, not even
from paho's queue of messages waiting for a connection.

Closing waits (briefly) until the broker has acknowledged what was published, so "publish, then close"
loses nothing.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes

from vehicle_bus.protocol import (Ack, BusMessage, ControlRequest, ProtocolError, SetRequest, SignalValue,
                                  VehicleStatus, ack_topic, control_topic, path_of, set_topic, status_topic,
                                  value_topic)
from vehicle_bus.errors import AckTimeout, BusConnectionError, BusError, SetRejected, SignalUnavailable
from vehicle_bus.settings import BusSettings

log = logging.getLogger(__name__)

ACK_TRAVEL_S = 0.5
"""How much longer than a request's deadline its ack is waited for: an ack sent just in time is on its way."""
CLOSE_WAIT_S = 2.0
"""How long :meth:`BusClient.close` waits for the broker to acknowledge the messages published before it."""


MessageHandler = Callable[[BusMessage], None]


@dataclass
class _PendingSet:
    topic: str
    request: SetRequest
    answered: threading.Event = field(default_factory=threading.Event)
    ack: Ack | None = None


class BusClient:
    """One MQTT connection to the vehicle bus. Use as a context manager or call :meth:`connect`."""

    def __init__(self, settings: BusSettings, client_id: str | None = None,
                 will: tuple[str, bytes] | None = None):
        self.settings = settings
        self._protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
        client_id = client_id or f"carvoice-{uuid.uuid4().hex[:12]}"
        self._mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=self._protocol)
        self._lock = threading.RLock()
        self._handlers: dict[str, list[MessageHandler]] = {}
        self._pending: dict[str, _PendingSet] = {}
        self._watched: dict[str, list[Callable[[], None]]] = {}
        """Vehicles whose acks and status this client listens to (for set), with the unsubscribe functions."""
        self._suback: dict[int, threading.Event] = {}
        self._connected = threading.Event()
        self.connections = 0
        """How many times this client has connected (a reconnection after a broker restart counts)."""
        self._refused: str | None = None
        self._on_connect_hooks: list[Callable[[], None]] = []
        self._unacked: dict[int, mqtt.MQTTMessageInfo] = {}
        """Messages published and not yet acknowledged by the broker, by message id."""
        self._acked = threading.Condition()
        self._configure(will)

    def _configure(self, will: tuple[str, bytes] | None) -> None:
        settings = self.settings
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self._mqtt.username_pw_set(settings.username, password)
        if settings.uses_tls:
            tls = settings.tls
            self._mqtt.tls_set(
                ca_certs=str(tls.ca_file) if tls and tls.ca_file else None,
                certfile=str(tls.cert_file) if tls and tls.cert_file else None,
                keyfile=str(tls.key_file) if tls and tls.key_file else None,
            )
        if will:
            self._mqtt.will_set(will[0], will[1], qos=1, retain=True)
        self._mqtt.reconnect_delay_set(min_delay=1, max_delay=5)
        self._mqtt.on_connect = self._handle_connect
        self._mqtt.on_disconnect = self._handle_disconnect
        self._mqtt.on_message = self._handle_message
        self._mqtt.on_subscribe = self._handle_suback
        self._mqtt.on_publish = self._handle_puback

    # -- connection -----------------------------------------------------------------------
    def connect(self, timeout_s: float = 10.0) -> BusClient:
        """Connect and start the network thread; raise :class:`BusConnectionError` if it fails."""
        try:
            self._mqtt.connect_async(self.settings.host, self.settings.port,
                                     keepalive=self.settings.keepalive_s)
        except (OSError, ValueError) as exc:
            raise BusConnectionError(f"cannot connect to {self.settings.describe()}: {exc}") from exc
        self._mqtt.loop_start()
        deadline = time.monotonic() + timeout_s
        while not self._connected.wait(0.05):
            if self._refused or time.monotonic() > deadline:
                self.close()
                why = self._refused or f"no connection within {timeout_s:g} s"
                raise BusConnectionError("cannot connect to the MQTT broker at "
                                         f"{self.settings.describe()}: {why}")
        return self

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Disconnect, once the broker has acknowledged what was published (waiting ``wait_s`` at most), so
        a message published just before closing is not lost."""
        if not self.wait_published(wait_s):
            log.warning("closing with %d message(s) the broker has not acknowledged", len(self._unacked))
        self._mqtt.disconnect()
        self._mqtt.loop_stop()
        self._connected.clear()

    def wait_published(self, timeout_s: float) -> bool:
        """Wait until the broker has acknowledged every message published so far; False if some are still
        unacknowledged after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._acked:
            while True:
                self._unacked = {mid: info for mid, info in self._unacked.items() if not _settled(info)}
                remaining = deadline - time.monotonic()
                if not self._unacked or remaining <= 0:
                    return not self._unacked
                self._acked.wait(min(remaining, 0.05))

    def __enter__(self) -> BusClient:
        return self.connect()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` (on the network thread) after every successful (re)connection."""
        self._on_connect_hooks.append(hook)

    def _handle_connect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
            log.warning("broker refused the connection: %s", reason_code)
            return
        self._refused = None
        # paho re-sends its queued messages after this callback: keep those still wanted
        for message in self._mqtt.drop_out_messages():
            with self._acked:
                self._unacked.pop(message.mid, None)
            if not _expired_request(message):
                self.publish(message.topic, message.payload, retain=message.retain,
                             properties=message.properties)
        with self._lock:
            filters = list(self._handlers)
            pending = list(self._pending.values())
        for topic_filter in filters:
            self._mqtt.subscribe(topic_filter, qos=1)
        for request in pending:
            self._send(request)
        for hook in self._on_connect_hooks:
            hook()
        self.connections += 1
        self._connected.set()
        log.info("connected to %s", self.settings.describe())

    def _handle_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._connected.clear()
        if reason_code != 0:
            log.warning("lost the broker connection (%s); reconnecting", reason_code)

    # -- publish / subscribe ----------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, retain: bool = False,
                properties: mqtt.Properties | None = None) -> None:
        """Publish at QoS 1. While disconnected the message is queued and sent on reconnect."""
        info = self._mqtt.publish(topic, payload, qos=1, retain=retain, properties=properties)
        with self._acked:
            if not _settled(info):
                self._unacked[info.mid] = info

    def _handle_puback(self, _client, _userdata, mid, _reason_code, _properties) -> None:
        with self._acked:
            self._unacked.pop(mid, None)
            self._acked.notify_all()

    def subscribe(self, topic_filter: str, handler: MessageHandler,
                  timeout_s: float = 5.0) -> Callable[[], None]:
        """Call ``handler(message)`` for every message on ``topic_filter``; returns an unsubscribe function.

        Waits for the broker's SUBACK, so messages published after this returns are not missed. While the
        connection is down, every filter is subscribed again as soon as it is back.
        """
        with self._lock:
            first = topic_filter not in self._handlers
            self._handlers.setdefault(topic_filter, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                handlers = self._handlers.get(topic_filter, [])
                if handler in handlers:
                    handlers.remove(handler)
                if handlers:
                    return
                self._handlers.pop(topic_filter, None)
            self._mqtt.unsubscribe(topic_filter)

        if first and self.is_connected:
            try:
                self._subscribe_and_wait(topic_filter, timeout_s)
            except BusConnectionError:
                unsubscribe()  # the caller gets no unsubscribe function: leave nothing behind
                raise
        return unsubscribe

    def _subscribe_and_wait(self, topic_filter: str, timeout_s: float) -> None:
        """Subscribe and wait for the SUBACK; a connection lost meanwhile subscribes it again once back."""
        done, connection = threading.Event(), self.connections
        with self._lock:
            result, mid = self._mqtt.subscribe(topic_filter, qos=1)
            if result == mqtt.MQTT_ERR_SUCCESS:
                self._suback[mid] = done
        deadline = time.monotonic() + timeout_s
        try:
            while result == mqtt.MQTT_ERR_SUCCESS and not done.wait(0.05):
                if not self.is_connected or self.connections != connection:
                    return
                if time.monotonic() > deadline:
                    raise BusConnectionError("the broker did not confirm the "
                                             f"subscription to {topic_filter!r}")
        finally:
            with self._lock:
                self._suback.pop(mid, None)

    def _handle_suback(self, _client, _userdata, mid, _reason_codes, _properties) -> None:
        with self._lock:
            done = self._suback.pop(mid, None)
        if done:
            done.set()

    def _handle_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            handlers = [h for f, hs in self._handlers.items() if mqtt.topic_matches_sub(f, message.topic)
                        for h in hs]
        properties = getattr(message, "properties", None)
        received = BusMessage(message.topic, message.payload,
                              getattr(properties, "ResponseTopic", None),
                              getattr(properties, "CorrelationData", None))
        for handler in handlers:
            try:
                handler(received)
            except Exception:  # a faulty handler must not stop the network thread
                log.exception("handler for %s failed", message.topic)

    # -- vehicle signal API -----------------------------------------------------------------
    def set(self, vehicle_id: str, path: str, value: Any, timeout_s: float | None = None) -> Ack:
        """Ask the vehicle to set an actuator and wait for its ack.

        The request's deadline is ``timeout_s`` from now. Returns the ack (``ack.value`` is the value as
        applied); raises :class:`SetRejected` with the vehicle's reason, or :class:`AckTimeout` when no
        answer came in time.
        """
        timeout_s = timeout_s or self.settings.ack_timeout_s
        self._ensure_ack_subscription(vehicle_id)
        request_id = uuid.uuid4().hex
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        request = _PendingSet(set_topic(vehicle_id, path),
                              SetRequest(value=value, request_id=request_id, deadline=deadline))
        with self._lock:
            self._pending[request_id] = request
        try:
            self._send(request)
            if not request.answered.wait(timeout_s + ACK_TRAVEL_S):
                raise AckTimeout(vehicle_id, path, timeout_s, request_id)
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        ack = request.ack
        if ack.status == "rejected":
            raise SetRejected(vehicle_id, path, value, ack.reason or "no reason given")
        return ack

    def _send(self, pending: _PendingSet) -> None:
        """Publish a set request, unless its deadline has passed; over MQTT 5 it expires then."""
        remaining_s = (pending.request.deadline - datetime.now(UTC)).total_seconds()
        if remaining_s <= 0:
            return
        properties = None
        if self._protocol == mqtt.MQTTv5:
            properties = mqtt.Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = math.ceil(remaining_s)
        self.publish(pending.topic, pending.request.encode(), properties=properties)

    def exchange(self, topic: str, payload: bytes | str, answer_topic: str,
                 timeout_s: float | None = None) -> bytes:
        """Publish ``payload`` and return the first message that then arrives on ``answer_topic``."""
        answers: queue.Queue[bytes] = queue.Queue()
        unsubscribe = self.subscribe(answer_topic, lambda message: answers.put(message.payload))
        try:
            self.publish(topic, payload)
            return answers.get(timeout=timeout_s or self.settings.ack_timeout_s)
        except queue.Empty:
            waited = timeout_s or self.settings.ack_timeout_s
            raise BusError(f"no answer on {answer_topic} within {waited:g} s to the message on {topic}") \
                from None
        finally:
            unsubscribe()

    def control(self, vehicle_id: str, request: ControlRequest) -> Ack:
        """Send a simulator control request (set any signal, faults, advance time) and wait for its ack."""
        topic = control_topic(vehicle_id)
        ack = Ack.decode(self.exchange(topic, request.encode(), f"{topic}/ack"))
        if ack.status == "rejected":
            raise SetRejected(vehicle_id, "sim/control", request.set, ack.reason or "no reason given")
        return ack

    def _ensure_ack_subscription(self, vehicle_id: str) -> None:
        """Listen for this vehicle's acks, and for it coming online (then pending requests are re-sent)."""
        with self._lock:
            if vehicle_id in self._watched:
                return
            self._watched[vehicle_id] = watches = []
        try:
            watches.append(self.subscribe(ack_topic(vehicle_id, "+"), self._handle_ack))
            watches.append(self.subscribe(status_topic(vehicle_id), self._handle_status))
        except BusConnectionError:
            self.forget_vehicle(vehicle_id)  # the next set tries again
            raise

    def forget_vehicle(self, vehicle_id: str) -> None:
        """Stop listening for a vehicle's acks and status, once done with it (a later set listens again)."""
        with self._lock:
            watches = self._watched.pop(vehicle_id, [])
        for unsubscribe in watches:
            unsubscribe()

    def subscriptions(self) -> dict[str, int]:
        """The topic filters this client is subscribed to, each with how many handlers listen on it."""
        with self._lock:
            return {topic_filter: len(handlers) for topic_filter, handlers in self._handlers.items()}

    def _handle_status(self, message: BusMessage) -> None:
        """A vehicle that (re)connects may have missed requests sent while it was away: send them again."""
        try:
            online = VehicleStatus.decode(message.payload).state == "online"
        except ProtocolError:
            return
        prefix = message.topic.removesuffix("status")
        with self._lock:
            pending = [p for p in self._pending.values()
                       if p.topic.startswith(prefix) and not p.answered.is_set()]
        for request in pending if online else ():
            self._send(request)

    def _handle_ack(self, message: BusMessage) -> None:
        try:
            ack = Ack.decode(message.payload)
        except ProtocolError as exc:
            log.warning("ignoring malformed ack on %s: %s", message.topic, exc)
            return
        with self._lock:
            request = self._pending.get(ack.request_id) if ack.request_id else None
        if request and not request.answered.is_set():
            request.ack = ack
            request.answered.set()

    def get(self, vehicle_id: str, path: str, timeout_s: float = 2.0) -> SignalValue:
        """The vehicle's current (retained) value of one signal."""
        values = self._collect(value_topic(vehicle_id, path), timeout_s, expected=1)
        if not values:
            raise SignalUnavailable(f"{vehicle_id} has published no value for {path} "
                                    "(is the vehicle running?)")
        return next(iter(values.values()))

    def snapshot(self, vehicle_id: str, timeout_s: float = 3.0,
                 expected: int | None = None) -> dict[str, SignalValue]:
        """Every signal value the vehicle has published, by VSS path.

        Returns once ``expected`` values arrived, or when retained delivery goes quiet.
        """
        return self._collect(value_topic(vehicle_id, "+"), timeout_s, expected)

    def _collect(self, topic_filter: str, timeout_s: float, expected: int | None) -> dict[str, SignalValue]:
        values: dict[str, SignalValue] = {}
        changed = threading.Condition()

        def keep(message: BusMessage) -> None:
            try:
                value = SignalValue.decode(message.payload)
            except ProtocolError as exc:
                log.warning("ignoring malformed value on %s: %s", message.topic, exc)
                return
            with changed:
                values[path_of(message.topic)] = value
                changed.notify_all()

        unsubscribe = self.subscribe(topic_filter, keep)
        deadline = time.monotonic() + timeout_s
        quiet_s = 0.3
        try:
            with changed:
                while len(values) < (expected or float("inf")):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    before = len(values)
                    changed.wait(min(remaining, quiet_s) if values else remaining)
                    if expected is None and values and len(values) == before:
                        break
        finally:
            unsubscribe()
        return dict(values)


def _settled(info: mqtt.MQTTMessageInfo) -> bool:
    """Whether there is nothing more to wait for about a published message: the broker acknowledged it, or
    paho refused it (its queue was full). False while it is in flight or queued for want of a connection."""
    try:
        return info.is_published()
    except (RuntimeError, ValueError):  # queued (no connection), or refused
        return info.rc == mqtt.MQTT_ERR_QUEUE_SIZE


def _expired_request(message: mqtt.MQTTMessage) -> bool:
    """Whether a queued message is a set request past its deadline (its caller has been told it failed)."""
    if not message.topic.endswith("/set"):
        return False
    try:
        return SetRequest.decode(message.payload).expired()
    except ProtocolError:
        return False
