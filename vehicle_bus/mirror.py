"""A live, read-only copy of one vehicle's state, kept current from its retained value topics."""

from __future__ import annotations

import threading
from typing import Any

from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.errors import BusError
from vehicle_bus.protocol import ProtocolError, SignalValue, path_of, value_topic
from vehicle_bus.signals import SIGNALS


class VehicleMirror:
    """Subscribes to ``vehicle/<id>/vss/+`` and keeps the latest value of every signal."""

    def __init__(self, client: BusClient, vehicle_id: str):
        self.client, self.vehicle_id = client, vehicle_id
        self._values: dict[str, Any] = {}
        self._complete = threading.Event()
        self._lock = threading.Lock()
        self._unsubscribe = None

    def start(self, timeout_s: float = 5.0) -> VehicleMirror:
        """Subscribe and wait until every signal's value has arrived."""
        self._unsubscribe = self.client.subscribe(value_topic(self.vehicle_id, "+"), self._keep)
        if not self._complete.wait(timeout_s):
            self.stop()
            raise BusError(f"vehicle {self.vehicle_id!r} has not published its state on "
                           f"{self.client.settings.describe()}; is it running?")
        return self

    def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def _keep(self, message: BusMessage) -> None:
        path = path_of(message.topic)
        if path not in SIGNALS:
            return
        try:
            value = SignalValue.decode(message.payload).value
        except ProtocolError:
            return
        with self._lock:
            self._values[path] = value
            if len(self._values) == len(SIGNALS):
                self._complete.set()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)
