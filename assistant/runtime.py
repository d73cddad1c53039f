"""Wiring: the parts the CLI runs, built once from the config and injected."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from assistant.config import CarvoiceConfig
from assistant.events import BusEventSink
from assistant.pipeline import VoicePipeline
from assistant.speech import Recognizer, Synthesizer
from intents.dialogue import Dialogue
from intents.fastpath import Call
from intents.llm import LlmIntentModel, LlmSettings
from intents.vehicle import BusVehicle
from models.registry import Registry
from vehicle_bus.brokers import EmbeddedBroker
from vehicle_bus.client import BusClient, BusConnectionError
from vehicle_bus.sim.vehicle import SimulatedVehicle

log = logging.getLogger(__name__)


class LazyLlm:
    """Loads the LLM on the first sentence the fast path leaves to it, so fast-path turns never wait for it."""

    def __init__(self, registry: Registry, settings: LlmSettings):
        self.registry, self.settings = registry, settings
        self._model: LlmIntentModel | None = None

    @property
    def model(self) -> LlmIntentModel:
        if self._model is None:
            self._model = load_llm(self.registry, self.settings)
        return self._model

    def parse(self, text: str, previous: Call | None) -> list[Call]:
        return self.model.parse(text, previous)


def load_llm(registry: Registry, settings: LlmSettings) -> LlmIntentModel:
    """The configured GGUF, verified by sha256, with the chat format its manifest entry names."""
    spec = registry.spec(settings.model)
    path: Path = settings.path or registry.verify(settings.model) / spec.files[0].name
    log.info("loading %s from %s", spec.id, path)
    return LlmIntentModel(path, settings.chat_format or spec.chat_format or "auto", settings)


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


def build_voice(config: CarvoiceConfig, dialogue: Dialogue, vehicle: BusVehicle) -> VoicePipeline:
    """Recogniser and voice from the registry (verified by sha256), around a dialogue; events go on the bus."""
    registry = Registry(config.models.store_dir)
    recognizer = Recognizer(registry.verify(config.speech.asr_model), threads=config.llm.threads)
    voice = registry.spec(config.speech.voice).files[0].name
    synthesizer = Synthesizer(registry.verify(config.speech.voice) / voice)
    return VoicePipeline(recognizer, dialogue, synthesizer, BusEventSink(vehicle.client, vehicle.vehicle_id))


def build_dialogue(config: CarvoiceConfig, vehicle: BusVehicle) -> Dialogue:
    llm = LazyLlm(Registry(config.models.store_dir), config.llm) if config.llm.enabled else None
    return Dialogue(vehicle, llm=llm, idle_timeout_s=config.dialogue.idle_timeout_s)
