"""Faults: broker restarts, simulator restarts, unreadable state files."""

from __future__ import annotations

import json
import threading
import time

import pytest

from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient
from vehicle_bus.errors import AckTimeout
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import default_state

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
MEDIA = "Vehicle.Cabin.Infotainment.Media"


@pytest.fixture
def own_mosquitto():
    """A broker of this test's own, free to be restarted."""
    with MosquittoBroker() as broker:
        yield broker


def test_broker_restart_brings_back_retained_state(own_mosquitto, make_vehicle):
    settings = BusSettings(url=own_mosquitto.url)
    vehicle = make_vehicle(settings)
    with BusClient(settings) as client:
        client.set(vehicle.vehicle_id, TEMPERATURE, 19.0)
        own_mosquitto.restart()  # Mosquitto without persistence: every retained message is gone
        assert client.wait_connected(15) and vehicle.client.wait_connected(15)
        assert client.get(vehicle.vehicle_id, TEMPERATURE, timeout_s=5).value == 19.0
        assert client.set(vehicle.vehicle_id, TEMPERATURE, 20.0).status == "applied"


def test_a_request_sent_while_the_broker_is_down_is_applied_once(own_mosquitto, make_vehicle):
    settings = BusSettings(url=own_mosquitto.url)
    vehicle = make_vehicle(settings)
    with BusClient(settings) as client:
        client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", "media:album/rumours")
        own_mosquitto.stop()
        outcome = {}
        sender = threading.Thread(target=lambda: outcome.update(
            ack=client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "SKIP_FORWARD", timeout_s=30)))
        sender.start()
        time.sleep(1.5)
        own_mosquitto.start()
        sender.join(35)
        assert outcome["ack"].status == "applied"
        assert client.get(vehicle.vehicle_id, f"{MEDIA}.Played.Track", timeout_s=5).value == "Dreams"


def test_a_request_with_no_broker_fails_loudly(own_mosquitto, make_vehicle):
    settings = BusSettings(url=own_mosquitto.url)
    vehicle = make_vehicle(settings)
    with BusClient(settings) as client:
        own_mosquitto.stop()
        with pytest.raises(AckTimeout, match=f"no answer to setting {TEMPERATURE} within 1.5 s"):
            client.set(vehicle.vehicle_id, TEMPERATURE, 18.0, timeout_s=1.5)


def test_a_request_to_a_vehicle_that_is_not_running_times_out(client):
    with pytest.raises(AckTimeout, match="is vehicle 'nobody' running"):
        client.set("nobody", TEMPERATURE, 18.0, timeout_s=1)


def test_state_survives_a_simulator_restart(bus, make_vehicle, tmp_path):
    state_file = tmp_path / "persisted.json"
    first = make_vehicle(bus, "car-persist", state_file)
    with BusClient(bus) as client:
        client.set("car-persist", TEMPERATURE, 24.5)
        client.set("car-persist", f"{MEDIA}.SelectedURI", "search:get lucky")
        first.stop()
        make_vehicle(bus, "car-persist", state_file)
        assert client.get("car-persist", TEMPERATURE).value == 24.5
        assert client.get("car-persist", f"{MEDIA}.Played.Track").value == "Get Lucky"


def test_an_unreadable_state_file_is_moved_aside(bus, make_vehicle, tmp_path, caplog):
    state_file = tmp_path / "broken.json"
    state_file.write_text("{ this is not json")
    vehicle = make_vehicle(bus, state_file=state_file)
    assert vehicle.state == default_state()
    assert state_file.with_suffix(".corrupt").read_text() == "{ this is not json"
    assert "unreadable" in caplog.text


def test_stale_values_in_a_state_file_fall_back_to_defaults(bus, make_vehicle, tmp_path, caplog):
    state_file = tmp_path / "stale.json"
    state_file.write_text(json.dumps({TEMPERATURE: 99, f"{MEDIA}.Volume": 12, "Vehicle.Cabin.Gone": 1}))
    vehicle = make_vehicle(bus, state_file=state_file)
    assert vehicle.state[TEMPERATURE] == default_state()[TEMPERATURE]
    assert vehicle.state[f"{MEDIA}.Volume"] == 12
    assert "between 16 and 28" in caplog.text and "unknown signal Vehicle.Cabin.Gone" in caplog.text
