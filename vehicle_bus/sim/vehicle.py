"""A simulated vehicle on the bus: validates set requests, lets its ECUs apply them, publishes state.

Every set request gets exactly one ack. Requests are checked against the signal table (known path,
actuator, type, range) before an ECU sees them; an ECU may still refuse; a request that arrives after
its deadline is refused. A request id that was already answered for a signal is answered again with
the same ack and not applied twice, so clients may re-send after a reconnect (the last
``ANSWERED_REQUESTS_KEPT`` answers are remembered). Every change is saved before it is published and
acked: a change that cannot be saved is refused. State is republished (retained) on every
(re)connection to the broker.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes

from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.errors import BusError
from vehicle_bus.protocol import (Ack, ControlRequest, Faults, ProtocolError, SetRequest, SignalValue,
                                  VehicleStatus,
                                  ack_topic, check_vehicle_id, control_topic, now_iso, path_of, request_id_of,
                                  set_topic, status_topic, value_topic)
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import SignalValueError, UnknownSignalError, default_state, get_signal
from vehicle_bus.sim.climate import ClimateEcu
from vehicle_bus.sim.ecu import Changes, Ecu, Rejected, State
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media import MediaEcu
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.navigation import NavigationEcu
from vehicle_bus.sim.store import StateStore

log = logging.getLogger(__name__)

ANSWERED_REQUESTS_KEPT = 1024
MAX_ADVANCE_S = 86400.0


def default_ecus(gazetteer: Gazetteer | None = None, library: MediaLibrary | None = None) -> list[Ecu]:
    """Climate, media and navigation ECUs; pass a shared gazetteer when running many vehicles."""
    return [ClimateEcu(), MediaEcu(library or MediaLibrary.load()), NavigationEcu(gazetteer or Gazetteer())]


class SimulatedVehicle:
    """One car on the bus. ``time_scale`` 0 freezes simulated time (advance it over ``sim/control``)."""

    def __init__(self, vehicle_id: str, bus: BusSettings, ecus: list[Ecu] | None = None,
                 state_file: Path | None = None, time_scale: float = 1.0, tick_s: float = 1.0):
        self.vehicle_id = check_vehicle_id(vehicle_id)
        self.ecus = ecus if ecus is not None else default_ecus()
        self.store = StateStore(state_file) if state_file else None
        self.state: State = self.store.load() if self.store else default_state()
        self.time_scale, self.tick_s = time_scale, tick_s
        self._lock = threading.RLock()
        self.faults = Faults()
        self._answered: OrderedDict[tuple[str, str], Ack] = OrderedDict()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        offline = VehicleStatus(state="offline", ts=now_iso()).encode()
        self.client = BusClient(bus, client_id=f"carvoice-vehicle-{vehicle_id}",
                                will=(status_topic(vehicle_id), offline))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> SimulatedVehicle:
        self.client.on_connect(self._publish_everything)
        self.client.connect(timeout_s)
        self.client.subscribe(set_topic(self.vehicle_id, "+"), self._handle_set)
        self.client.subscribe(control_topic(self.vehicle_id), self._handle_control)
        if self.time_scale > 0:
            self._ticker = threading.Thread(target=self._run_clock, name=f"clock-{self.vehicle_id}",
                                            daemon=True)
            self._ticker.start()
        log.info("%s: online on %s", self.vehicle_id, self.client.settings.describe())
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=5)
        self.client.publish(status_topic(self.vehicle_id),
                            VehicleStatus(state="offline", ts=now_iso()).encode(), retain=True)
        self.client.close()

    def __enter__(self) -> SimulatedVehicle:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _publish_everything(self) -> None:
        with self._lock:
            for path, value in self.state.items():
                self._publish_value(path, value)
        self.client.publish(status_topic(self.vehicle_id),
                            VehicleStatus(state="online", ts=now_iso()).encode(), retain=True)

    def _publish_value(self, path: str, value: Any) -> None:
        payload = SignalValue(value=value, ts=now_iso()).encode()
        self.client.publish(value_topic(self.vehicle_id, path), payload, retain=True)

    # -- requests ----------------------------------------------------------------------------
    def apply(self, path: str, value: Any) -> Any:
        """Validate and apply one actuator value; returns the value as applied, raises :class:`Rejected`."""
        try:
            signal = get_signal(path)
        except UnknownSignalError as exc:
            raise Rejected(f"{exc}; see 'carvoice sim signals'") from None
        if not signal.is_actuator:
            raise Rejected(f"{path} is a sensor and cannot be set")
        try:
            value = signal.coerce(value)
        except SignalValueError as exc:
            raise Rejected(str(exc)) from None
        ecu = next(e for e in self.ecus if e.owns(path))
        with self._lock:
            changes = ecu.apply(path, value, dict(self.state))
            self._commit(changes)
        return changes[path]

    def _commit(self, changes: Changes) -> None:
        """Save, then publish, the values that changed; raises :class:`Rejected`, changing nothing, if saving
        fails."""
        changed = {path: value for path, value in changes.items() if self.state.get(path) != value}
        if not changed:
            return
        if self.store:
            try:
                self.store.save(self.state | changed)
            except OSError as exc:
                raise Rejected(f"the vehicle could not save its state ({exc}); nothing was changed") from None
        self.state.update(changed)
        for path, value in changed.items():
            self._publish_value(path, value)

    def _handle_set(self, message: BusMessage) -> None:
        path = path_of(message.topic)
        try:
            request = SetRequest.decode(message.payload)
        except ProtocolError as exc:
            self._answer(message, path, Ack(request_id=request_id_of(message.payload), status="rejected",
                                            reason=str(exc)))
            return
        if self.faults.silent:
            log.info("%s: silent (fault): %s = %r not answered", self.vehicle_id, path, request.value)
            return
        key = (path, request.request_id)
        with self._lock:
            ack = self._answered.get(key)
            if ack is None:
                ack = self._carry_out(path, request)
                self._answered[key] = ack
                while len(self._answered) > ANSWERED_REQUESTS_KEPT:
                    self._answered.popitem(last=False)
            else:
                self._answered.move_to_end(key)
        self._answer(message, path, ack)

    def _carry_out(self, path: str, request: SetRequest) -> Ack:
        """Apply a request seen for the first time; the ack says what was applied or why not."""
        if request.expired():
            reason = (f"the request expired at {request.deadline.isoformat()} before the "
                      "vehicle got it; not applied")
        elif path in self.faults.reject:
            reason = self.faults.reject[path]
        else:
            try:
                applied = self.apply(path, request.value)
            except Rejected as exc:
                reason = exc.reason
            except Exception as exc:  # a bug in an ECU: the request is still answered
                log.exception("%s: applying %s = %r failed", self.vehicle_id, path, request.value)
                reason = f"the vehicle failed to carry out the request ({type(exc).__name__}: {exc})"
            else:
                log.info("%s: %s = %r", self.vehicle_id, path, applied)
                return Ack(request_id=request.request_id, status="applied", value=applied)
        log.info("%s: rejected %s = %r: %s", self.vehicle_id, path, request.value, reason)
        return Ack(request_id=request.request_id, status="rejected", reason=reason)

    def _answer(self, message: BusMessage, path: str, ack: Ack) -> None:
        payload = ack.encode()
        self.client.publish(ack_topic(self.vehicle_id, path), payload)
        if message.response_topic:
            properties = mqtt.Properties(PacketTypes.PUBLISH)
            if message.correlation_data is not None:
                properties.CorrelationData = message.correlation_data
            self.client.publish(message.response_topic, payload, properties=properties)

    # -- simulated time ----------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Advance simulated time in ``tick_s`` steps, letting every ECU update the car."""
        remaining = seconds
        with self._lock:
            before = dict(self.state)
            while remaining > 1e-9:
                step = min(self.tick_s, remaining)
                for ecu in self.ecus:
                    self.state.update(ecu.tick(step, dict(self.state)))
                remaining -= step
            after, self.state = self.state, before
            self._commit(after)

    def _run_clock(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.advance(self.tick_s * self.time_scale)
            except Rejected as exc:
                log.warning("%s: simulated time stands still: %s", self.vehicle_id, exc.reason)

    def _handle_control(self, message: BusMessage) -> None:
        reply_topic = f"{control_topic(self.vehicle_id)}/ack"
        try:
            request = ControlRequest.decode(message.payload)
            if not 0 <= request.advance_s <= MAX_ADVANCE_S:
                raise ProtocolError(f"advance_s must be between 0 and {MAX_ADVANCE_S:g}")
            overrides = {path: get_signal(path).coerce(value) for path, value in request.set.items()}
        except (ProtocolError, UnknownSignalError, SignalValueError) as exc:
            ack = Ack(request_id=request_id_of(message.payload), status="rejected", reason=str(exc))
        else:
            try:
                with self._lock:
                    self._commit(overrides)
                    self.faults = request.faults or self.faults
                self.advance(request.advance_s)
                ack = Ack(request_id=request.request_id, status="applied", value=request.advance_s)
            except Rejected as exc:
                ack = Ack(request_id=request.request_id, status="rejected", reason=exc.reason)
        self.client.publish(reply_topic, ack.encode())


def control_over_bus(client: BusClient, vehicle_id: str, advance_s: float = 0.0,
                     overrides: dict | None = None, timeout_s: float = 10.0) -> None:
    """Ask a (possibly remote) simulated vehicle to override signals and advance its time; wait until done."""
    request_id = uuid.uuid4().hex
    answer: list[Ack] = []
    done = threading.Event()

    def on_ack(message: BusMessage) -> None:
        try:
            ack = Ack.decode(message.payload)
        except ProtocolError:
            return
        if ack.request_id == request_id:
            answer.append(ack)
            done.set()

    unsubscribe = client.subscribe(f"{control_topic(vehicle_id)}/ack", on_ack)
    try:
        request = ControlRequest(advance_s=advance_s, set=overrides or {}, request_id=request_id)
        client.publish(control_topic(vehicle_id), request.encode())
        if not done.wait(timeout_s):
            raise BusError(f"vehicle {vehicle_id!r} did not answer the simulator "
                           f"control within {timeout_s:g} s")
    finally:
        unsubscribe()
    if answer[0].status == "rejected":
        raise BusError(f"vehicle {vehicle_id!r} refused the simulator control: {answer[0].reason}")
