"""Wiring: the parts the CLI runs, built once from the config and injected."""

from __future__ import annotations

import functools
import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from assistant.config import CarvoiceConfig
from assistant.voice.events import BusEventSink
from assistant.voice.devices import AudioInput, AudioOutput
from assistant.voice.live import LiveAssistant, watch_push_to_talk_button
from assistant.voice.pipeline import VoicePipeline, VoiceTurn
from assistant.voice.speech import Recognizer, Synthesizer
from assistant.voice.vad import SileroVad
from hardware.probe import pick, probe
from hardware.profile import HardwareProfile, load_profile
from intents.dialogue import Dialogue
from intents.fastpath import Call
from intents.llm import LlmIntentModel, LlmSettings
from intents.vehicle import BusVehicle
from models.registry import Registry
from vehicle_bus.brokers import EmbeddedBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusConnectionError
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import SAVED_PLACES
from vehicle_bus.sim.vehicle import SimulatedVehicle

log = logging.getLogger(__name__)


@functools.cache
def hardware_profile(choice: str = "auto") -> HardwareProfile:
    """The profile for this machine ("auto": probed once per process), or the one named or given as a file,
    with the LLM this machine's memory allows."""
    machine = probe()
    profile = load_profile(choice) if choice != "auto" else pick(machine)[0]
    log.debug("hardware profile %s", profile.name)
    return profile.for_memory(machine.memory_gb)


class LazyLlm:
    """Loads the LLM on the first sentence the fast path leaves to it, so fast-path turns never wait for it."""

    def __init__(self, registry: Registry, settings: LlmSettings, profile: HardwareProfile):
        self.registry, self.settings, self.profile = registry, settings, profile
        self._model: LlmIntentModel | None = None
        self._lock = threading.Lock()  # one llama.cpp context: one sentence at a time

    @property
    def model(self) -> LlmIntentModel:
        with self._lock:
            if self._model is None:
                self._model = load_llm(self.registry, self.settings, self.profile)
            return self._model

    def load(self) -> None:
        """Load now rather than on the first sentence that needs it (benchmarks: loading is not a turn)."""
        _ = self.model

    def spec(self) -> None:
        """Check the model is known and installed (sha256 verified), without loading it."""
        spec = self.registry.spec(self.settings.model or self.profile.models.llm)
        if not self.settings.path:
            self.registry.verify(spec.id)

    def parse(self, text: str, previous: Call | None) -> list[Call]:
        model = self.model
        with self._lock:
            return model.parse(text, previous)


def load_llm(registry: Registry, settings: LlmSettings, profile: HardwareProfile) -> LlmIntentModel:
    """The configured GGUF (else the profile's), verified by sha256, with the chat format its manifest entry
    names, run with the profile's llama.cpp options."""
    spec = registry.spec(settings.model or profile.models.llm)
    path: Path = settings.path or registry.verify(spec.id) / spec.files[0].name
    log.info("loading %s from %s", spec.id, path)
    return LlmIntentModel(path, settings.chat_format or spec.chat_format or "auto", settings, profile.llm)


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
            stack.enter_context(SimulatedVehicle(config.vehicle.id, config.bus,
                                                 state_file=config.sim.state_dir / f"{config.vehicle.id}.json",
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


def build_speech(config: CarvoiceConfig) -> tuple[Recognizer, Synthesizer]:
    """Recogniser and voice from the registry (verified by sha256), run as the hardware profile says."""
    registry, profile = Registry(config.models.store_dir), hardware_profile(config.hardware.profile)
    recognizer = Recognizer(registry.verify(config.speech.asr_model or profile.models.asr), profile.asr)
    voice = registry.spec(config.speech.voice or profile.models.voice)
    return recognizer, Synthesizer(registry.verify(voice.id) / voice.files[0].name, profile.onnx)


def build_voice(config: CarvoiceConfig, dialogue: Dialogue, vehicle: BusVehicle) -> VoicePipeline:
    """The speech engines around a dialogue; events go on the vehicle's bus."""
    recognizer, synthesizer = build_speech(config)
    return VoicePipeline(recognizer, dialogue, synthesizer, BusEventSink(vehicle.client, vehicle.vehicle_id))


def build_dialogue(config: CarvoiceConfig, vehicle: BusVehicle) -> Dialogue:
    profile = hardware_profile(config.hardware.profile)
    llm = LazyLlm(Registry(config.models.store_dir), config.llm, profile) if config.llm.enabled else None
    save_places(vehicle, config.navigation.places)
    return Dialogue(vehicle, llm=llm, idle_timeout_s=config.dialogue.idle_timeout_s)


def save_places(vehicle: BusVehicle, places: dict[str, str]) -> None:
    """The configured places added to the car's saved places (a configured name replaces the car's)."""
    if not places:
        return
    saved = json.loads(vehicle.state()[SAVED_PLACES])
    vehicle.set(SAVED_PLACES, json.dumps(saved | places, sort_keys=True))


def build_live(config: CarvoiceConfig, voice: VoicePipeline, vehicle: BusVehicle, audio_in: AudioInput,
               audio_out: AudioOutput, session_id: str = "voice",
               on_turn: Callable[[VoiceTurn], None] | None = None) -> LiveAssistant:
    """The live loop around a voice pipeline, with the car's steering-wheel push-to-talk button watched."""
    vad = SileroVad(hardware_profile(config.hardware.profile).onnx)
    live = LiveAssistant(voice, audio_in, audio_out, config.live, session_id, vad, on_turn)
    watch_push_to_talk_button(vehicle.client, vehicle.vehicle_id, live.press)
    return live
