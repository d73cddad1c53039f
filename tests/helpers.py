"""Small helpers for talking to the bus the raw way, as a foreign client would."""

from __future__ import annotations

import queue

from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.protocol import Ack, ack_topic, set_topic


def raw_request(client: BusClient, vehicle_id: str, path: str, payload: bytes, answers: int = 1,
                timeout_s: float = 5.0) -> list[Ack]:
    """Publish ``payload`` to a set topic and return the acks that arrive (waits for ``answers`` of them)."""
    received: queue.Queue[BusMessage] = queue.Queue()
    unsubscribe = client.subscribe(ack_topic(vehicle_id, path), received.put)
    try:
        client.publish(set_topic(vehicle_id, path), payload)
        acks = [Ack.decode(received.get(timeout=timeout_s).payload) for _ in range(answers)]
    finally:
        unsubscribe()
    return acks
