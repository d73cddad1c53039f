"""The errors of the vehicle bus client: what a caller of :class:`vehicle_bus.client.BusClient` catches."""

from __future__ import annotations

from typing import Any


class BusError(Exception):
    """Base class of vehicle bus errors."""


class BusConnectionError(BusError):
    """The broker cannot be reached or refused the connection."""


class SetRejected(BusError):
    """The vehicle refused a set request; ``reason`` says why."""

    def __init__(self, vehicle_id: str, path: str, value: Any, reason: str):
        super().__init__(f"{vehicle_id}: setting {path} to {value!r} was rejected: {reason}")
        self.vehicle_id, self.path, self.value, self.reason = vehicle_id, path, value, reason


class AckTimeout(BusError):
    """No answer to a set request in time. The vehicle refuses the request from its deadline on, and it is
    not sent again; it was applied only if the vehicle got it in time and its ack was lost."""

    def __init__(self, vehicle_id: str, path: str, timeout_s: float, request_id: str):
        super().__init__(
            f"{vehicle_id}: no answer to setting {path} within {timeout_s:g} s; "
            f"is vehicle {vehicle_id!r} running and connected to the broker?"
        )
        self.vehicle_id, self.path, self.timeout_s, self.request_id = vehicle_id, path, timeout_s, request_id


class SignalUnavailable(BusError):
    """The vehicle has published no value for a signal."""
