"""The dialogue's narrow view of the car: read its state, ask it to set a signal; failures as its own errors
(the dialogue does not know the transport). ``BusVehicle`` is that view over the MQTT bus."""

from __future__ import annotations

from typing import Any, Protocol

from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusError, SetRejected
from vehicle_bus.mirror import VehicleMirror
from vehicle_bus.protocol import Ack


class VehicleError(Exception):
    """A write the car did not carry out; ``reason`` says why, in words for the driver."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WriteRefused(VehicleError):
    """The car answered and refused the value (out of range, not possible now)."""


class NoAnswer(VehicleError):
    """The car did not answer in time, or could not be reached: the write may or may not have happened."""


class Vehicle(Protocol):
    def state(self) -> dict[str, Any]:
        """Current value of every signal, by VSS path."""

    def set(self, path: str, value: Any) -> Ack:
        """Apply one actuator value; raises :class:`WriteRefused` or :class:`NoAnswer`."""


class BusVehicle:
    """A vehicle reached over the MQTT bus: a client for requests and a mirror of its state."""

    def __init__(self, client: BusClient, vehicle_id: str):
        self.client, self.vehicle_id = client, vehicle_id
        self.mirror = VehicleMirror(client, vehicle_id)

    def start(self) -> BusVehicle:
        self.mirror.start()
        return self

    def state(self) -> dict[str, Any]:
        return self.mirror.snapshot()

    def set(self, path: str, value: Any) -> Ack:
        try:
            return self.client.set(self.vehicle_id, path, value)
        except SetRejected as exc:
            raise WriteRefused(exc.reason) from exc
        except BusError as exc:
            raise NoAnswer("the car did not answer") from exc
