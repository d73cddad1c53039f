"""The dialogue's narrow view of the car: read its state, ask it to set a signal."""

from __future__ import annotations

from typing import Any, Protocol

from vehicle_bus.client import BusClient
from vehicle_bus.mirror import VehicleMirror
from vehicle_bus.protocol import Ack


class Vehicle(Protocol):
    def state(self) -> dict[str, Any]:
        """Current value of every signal, by VSS path."""

    def set(self, path: str, value: Any) -> Ack:
        """Apply one actuator value; raises ``SetRejected`` or another ``BusError``."""


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
        return self.client.set(self.vehicle_id, path, value)
