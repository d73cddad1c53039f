"""Pipeline events: one typed event at each stage boundary, with the time since the end of speech.

Dashboards and tests follow a turn on ``vehicle/<id>/assistant/events`` (JSON, QoS 1, not retained).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from vehicle_bus.client import BusClient
from vehicle_bus.protocol import check_vehicle_id, now_iso

Stage = Literal["speech_end", "transcript", "intent", "vehicle_ack", "first_audio", "audio_end",
                "speech_start", "push_to_talk", "barge_in", "wake", "ignored", "error"]
"""The six stages of a turn, then what only the live loop reports (its ``elapsed_ms`` is 0)."""


class PipelineEvent(BaseModel):
    stage: Stage
    session: str
    elapsed_ms: float
    """Milliseconds since the end of the driver's speech."""
    ts: str
    data: dict[str, Any] = {}


EventSink = Callable[[PipelineEvent], None]


def events_topic(vehicle_id: str) -> str:
    return f"vehicle/{check_vehicle_id(vehicle_id)}/assistant/events"


class BusEventSink:
    """Publishes every event on the vehicle's assistant events topic."""

    def __init__(self, client: BusClient, vehicle_id: str):
        self.client, self.topic = client, events_topic(vehicle_id)

    def __call__(self, event: PipelineEvent) -> None:
        self.client.publish(self.topic, event.model_dump_json())


def make_event(stage: Stage, session: str, elapsed_ms: float, **data: Any) -> PipelineEvent:
    return PipelineEvent(stage=stage, session=session, elapsed_ms=round(elapsed_ms, 1), ts=now_iso(),
                         data=data)
