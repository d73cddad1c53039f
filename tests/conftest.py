"""Shared fixtures: real brokers (Mosquitto and the embedded amqtt), simulated vehicles, bus clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import TEST_LLM
from vehicle_bus.brokers import EmbeddedBroker, MosquittoBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus


SLOW = ("test_voice.py", "test_live.py", "test_scenarios.py", "test_soak.py", "test_fleet.py", "test_fleet_trust.py",
        "test_faults.py", "test_llm.py", "test_perf.py", "test_intent_bench.py", "test_restart.py", "test_fuzz.py",
        "scenarios")
"""The slow tier (speech models, the LLM, the scenario library, fleets, broker restarts): ``pytest -m "not slow"``
leaves it out for a quick inner loop; ``make test`` runs everything."""


def pytest_configure(config):
    """Every config a test loads, and every carvoice command it starts, use the small LLM the tests install
    (the hardware profile would pick the 1.5B where memory allows)."""
    os.environ["CARVOICE_LLM__MODEL"] = TEST_LLM


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if item.path.relative_to(here).parts[0] in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[BusSettings]:
    settings = BusSettings(embedded_port=free_port())
    with EmbeddedBroker(settings.embedded_host, settings.embedded_port):
        yield settings


@pytest.fixture(scope="session", params=["mosquitto", "embedded"])
def any_bus(request) -> BusSettings:
    """Each test using this runs once against Mosquitto and once against the embedded broker."""
    if request.param == "mosquitto":
        return BusSettings(url=request.getfixturevalue("mosquitto").url)
    return request.getfixturevalue("embedded_broker")


@pytest.fixture(scope="session")
def bus(mosquitto) -> BusSettings:
    return BusSettings(url=mosquitto.url, ack_timeout_s=5)


@pytest.fixture(scope="session")
def shared_ecu_data() -> tuple[Gazetteer, MediaLibrary]:
    """One gazetteer and media library for all test vehicles (the city index takes a second to build)."""
    return Gazetteer(), MediaLibrary.load()


@pytest.fixture
def make_vehicle(shared_ecu_data, tmp_path: Path):
    """Start simulated vehicles (frozen time unless ``time_scale`` is given, state in tmp_path); all are
    stopped after the test."""
    started: list[SimulatedVehicle] = []

    def make(settings: BusSettings, vehicle_id: str | None = None, state_file: Path | None = None,
             time_scale: float = 0, tick_s: float = 1.0) -> SimulatedVehicle:
        vehicle_id = vehicle_id or f"car-{uuid.uuid4().hex[:8]}"
        vehicle = SimulatedVehicle(vehicle_id, settings, default_ecus(*shared_ecu_data),
                                   state_file or tmp_path / f"{vehicle_id}.json", time_scale=time_scale, tick_s=tick_s)
        started.append(vehicle.start())
        return vehicle

    yield make
    for vehicle in started:
        vehicle.stop()


@pytest.fixture
def vehicle(make_vehicle, bus) -> SimulatedVehicle:
    return make_vehicle(bus)


@pytest.fixture
def client(bus) -> Iterator[BusClient]:
    with BusClient(bus) as connected:
        yield connected


@pytest.fixture
def car(vehicle, client):
    """The dialogue's view of the test vehicle, over the test's client."""
    from intents.vehicle import BusVehicle

    return BusVehicle(client, vehicle.vehicle_id).start()


TEST_MODELS = (TEST_LLM, "whisper-tiny.en", "piper-en_US-joe-medium")


@pytest.fixture(scope="session")
def test_registry():
    """The default model store, with the small models the tests use (installed by `make test`)."""
    from assistant.config import default_model_store
    from models.registry import Registry

    registry = Registry(default_model_store())
    for model_id in TEST_MODELS:
        if not registry.is_installed(model_id):
            registry.install(model_id)
        registry.verify(model_id)
    return registry


@pytest.fixture(scope="session")
def recognizer(test_registry):
    from assistant.voice.speech import Recognizer

    return Recognizer(test_registry.verify("whisper-tiny.en"))


@pytest.fixture(scope="session")
def synthesizer(test_registry):
    from assistant.voice.speech import Synthesizer

    return Synthesizer(test_registry.verify("piper-en_US-joe-medium") / "en_US-joe-medium.onnx")


@pytest.fixture(scope="session")
def gguf(test_registry):
    """The small real LLM the tests use."""
    return test_registry.file_path(TEST_LLM)


@pytest.fixture(scope="session")
def llm(gguf):
    from intents.llm import LlmIntentModel

    return LlmIntentModel(gguf, "chatml")
