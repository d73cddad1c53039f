"""Wiring: the car over the bus, and the dialogue, voice pipeline and live loop around the engines."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from assistant.config import CarvoiceConfig
from assistant.engines import Engines
from assistant.voice.events import BusEventSink
from assistant.voice.devices import AudioInput, AudioOutput
from assistant.voice.live import LiveAssistant, watch_push_to_talk_button
from assistant.voice.pipeline import VoicePipeline, VoiceTurn
from intents.dialogue import Dialogue
from intents.vehicle import BusVehicle
from vehicle_bus.brokers import EmbeddedBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusConnectionError
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import SAVED_PLACES
from vehicle_bus.sim.vehicle import SimulatedVehicle

@contextmanager
def connected_vehicle(config: CarvoiceConfig) -> Iterator[BusVehicle]:
    """The configured vehicle over the bus. With no broker URL and nothing listening on the embedded
    broker's port, an embedded broker and a simulated vehicle are started here for the duration."""
    with ExitStack() as stack:
        client = BusClient(config.bus)
        try:
            client.connect(timeout_s=2 if config.bus.uses_embedded_broker else 10)
        except BusConnectionError:
            if not config.bus.uses_embedded_broker:
                raise
            stack.enter_context(EmbeddedBroker(config.bus.embedded_host, config.bus.embedded_port))
            state_file = config.sim.state_dir / f"{config.vehicle.id}.json"
            stack.enter_context(SimulatedVehicle(config.vehicle.id, config.bus, state_file=state_file,
                                                 time_scale=config.sim.time_scale, tick_s=config.sim.tick_s))
            client = BusClient(config.bus).connect()
        stack.callback(client.close)
        yield BusVehicle(client, config.vehicle.id).start()


@contextmanager
def scratch_vehicle(vehicle_id: str = "car1") -> Iterator[BusVehicle]:
    """A simulated car of its own (frozen time, state in a temporary folder) on an embedded broker on a
    free port: for the demo and the benchmarks, which must not touch a real or shared car."""
    bus = BusSettings(embedded_port=free_port())
    with tempfile.TemporaryDirectory() as state_dir, EmbeddedBroker(bus.embedded_host, bus.embedded_port), \
            SimulatedVehicle(vehicle_id, bus, state_file=Path(state_dir) / "car.json", time_scale=0), \
            BusClient(bus) as client:
        yield BusVehicle(client, vehicle_id).start()


def build_voice(engines: Engines, dialogue: Dialogue, vehicle: BusVehicle) -> VoicePipeline:
    """The speech engines around a dialogue; events go on the vehicle's bus."""
    return VoicePipeline(engines.recognizer, dialogue, engines.synthesizer,
                         BusEventSink(vehicle.client, vehicle.vehicle_id))


def build_dialogue(engines: Engines, vehicle: BusVehicle) -> Dialogue:
    """The dialogue with the configured LLM, the configured places saved in the car."""
    save_places(vehicle, engines.config.navigation.places)
    return Dialogue(vehicle, llm=engines.llm, idle_timeout_s=engines.config.dialogue.idle_timeout_s)


def save_places(vehicle: BusVehicle, places: dict[str, str]) -> None:
    """The configured places added to the car's saved places (a configured name replaces the car's)."""
    if not places:
        return
    saved = json.loads(vehicle.state()[SAVED_PLACES])
    vehicle.set(SAVED_PLACES, json.dumps(saved | places, sort_keys=True))


def build_live(engines: Engines, voice: VoicePipeline, vehicle: BusVehicle, audio_in: AudioInput,
               audio_out: AudioOutput, session_id: str = "voice",
               on_turn: Callable[[VoiceTurn], None] | None = None) -> LiveAssistant:
    """The live loop around a voice pipeline, with the car's steering-wheel push-to-talk button watched."""
    live = LiveAssistant(voice, audio_in, audio_out, engines.config.live, session_id, engines.vad(), on_turn)
    watch_push_to_talk_button(vehicle.client, vehicle.vehicle_id, live.press)
    return live
