"""Fault injection against real Mosquitto: broker killed mid-request, stale and replayed requests, hostile
payloads, a state folder that cannot be written, simulators sharing a state folder."""

from __future__ import annotations

import errno
import json
import os
import queue
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.fleet.documents import (ConfigDocument, Rollout, SigningKey, fleet_topic, next_topic, public_key_text,
                                       verify)
from assistant.fleet.operator import FleetOperator
from assistant.fleet.simulator import SimulatedFleet
from tests.helpers import eventually, raw_request
from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.errors import AckTimeout, SetRejected
from vehicle_bus.protocol import (MAX_INTEGER_DIGITS, MAX_NESTING, MAX_PAYLOAD_BYTES, Ack, ProtocolError, ack_topic,
                                  check_vehicle_id, set_topic)
from vehicle_bus.settings import BusSettings
from vehicle_bus.sim import vehicle as vehicle_module
from vehicle_bus.sim.climate import ClimateEcu
from vehicle_bus.sim.media import MediaEcu
from vehicle_bus.sim.navigation import NavigationEcu
from vehicle_bus.sim.store import StateStore
from vehicle_bus.sim.vehicle import SimulatedVehicle

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
FAN = "Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed"
CABIN = "Vehicle.Cabin.HVAC.AmbientAirTemperature"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
KIND_OF_BLUE = ["So What", "Freddie Freeloader", "Blue in Green", "All Blues", "Flamenco Sketches"]


@pytest.fixture
def own_mosquitto():
    """A broker of this test's own, free to be stopped and started."""
    with MosquittoBroker() as broker:
        yield broker


def request(value, request_id: str, deadline: datetime | None = None) -> bytes:
    """A set request as any client may write it: the deadline is optional."""
    fields = {"value": value, "request_id": request_id}
    if deadline:
        fields["deadline"] = deadline.isoformat()
    return json.dumps(fields).encode()


# -- broker killed mid-request ------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_request_that_timed_out_while_the_broker_was_down_is_never_applied(protocol, own_mosquitto, make_vehicle):
    settings = BusSettings(url=own_mosquitto.url, protocol=protocol)
    vehicle = make_vehicle(settings)
    with BusClient(settings) as client:
        client.set(vehicle.vehicle_id, TEMPERATURE, 20.0)
        acks: queue.Queue[BusMessage] = queue.Queue()
        client.subscribe(ack_topic(vehicle.vehicle_id, TEMPERATURE), acks.put)  # subscribed again on reconnect

        def after_the_vehicle() -> None:
            """Hold the client's reconnection until the vehicle is back and subscribed: a re-sent request reaches it."""
            vehicle.client.wait_connected(15)
            time.sleep(0.5)

        client.on_connect(after_the_vehicle)
        own_mosquitto.stop()
        with pytest.raises(AckTimeout) as timed_out:
            client.set(vehicle.vehicle_id, TEMPERATURE, 18.0, timeout_s=1)
        own_mosquitto.start()
        assert vehicle.client.wait_connected(15) and client.wait_connected(15)
        time.sleep(2)  # time for a re-sent request to arrive
        assert vehicle.state[TEMPERATURE] == 20.0
        assert client.get(vehicle.vehicle_id, TEMPERATURE).value == 20.0
        late = [Ack.decode(message.payload) for message in list(acks.queue)]
        assert [ack for ack in late if ack.request_id == timed_out.value.request_id] == [], "never sent again"
        assert client.set(vehicle.vehicle_id, TEMPERATURE, 19.0).status == "applied"


# -- closing the connection ---------------------------------------------------------------------
def test_requests_published_just_before_closing_all_reach_the_vehicle(vehicle, bus):
    """A script that sends its settings and exits: close() waits for the broker to have every one of them."""
    volume = f"{MEDIA}.Volume"
    with BusClient(bus) as script:
        for level in range(1, 101):
            script.publish(set_topic(vehicle.vehicle_id, volume), request(level, f"volume-{level}"))
    assert eventually(lambda: vehicle.state[volume] == 100, 30), f"the volume stopped at {vehicle.state[volume]}"


# -- broker restart during a staged rollout -----------------------------------------------------
OLD, NEW = {"dialogue": {"idle_timeout_s": 30}}, {"dialogue": {"idle_timeout_s": 45}}


def is_stage(payload: bytes, percent: float) -> bool:
    """Whether ``payload`` is the rollout document of the stage that reaches ``percent`` of the fleet."""
    return bool(payload) and ConfigDocument.decode(payload).rollout == Rollout(percent=percent)


class RestartAfterTheStage(BusClient):
    """The operator's connection: the broker restarts just after it acknowledged the rollout document of the
    ``percent`` stage (None: never), before the operator reads it back (a restart loses what it retained)."""

    def __init__(self, settings: BusSettings, broker: MosquittoBroker, percent: float | None):
        super().__init__(settings)
        self.broker, self.percent, self.restarted = broker, percent, threading.Event()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False, properties=None) -> None:
        super().publish(topic, payload, retain, properties)
        if self.percent and topic.endswith("/config/next") and is_stage(payload, self.percent) \
                and not self.restarted.is_set():
            assert self.wait_published(5)
            self.broker.restart()
            self.restarted.set()


def restart_while_the_stage_applies(broker: MosquittoBroker, watcher: BusClient, fleet_id: str,
                                    percent: float) -> threading.Event:
    """Restart ``broker`` as soon as the rollout document of the ``percent`` stage reaches ``watcher``, while
    the vehicles apply it; returns an event set once the broker is back."""
    out, back = threading.Event(), threading.Event()
    watcher.subscribe(next_topic(fleet_id), lambda message: is_stage(message.payload, percent) and out.set())

    def restart() -> None:
        if out.wait(60):
            broker.restart()
            back.set()

    threading.Thread(target=restart, daemon=True).start()
    return back


@pytest.mark.parametrize("when", ["between stages", "while a stage applies", "just after it took a stage"])
def test_a_broker_restart_during_a_staged_rollout_leaves_every_vehicle_on_a_signed_version(when, own_mosquitto):
    key, fleet_id = SigningKey.generate(), f"restart-{uuid.uuid4().hex[:8]}"
    trusted = {key.key_id: public_key_text(key.public_key)}
    settings = BusSettings(url=own_mosquitto.url, ack_timeout_s=5)
    operator_client = RestartAfterTheStage(settings, own_mosquitto, 50 if when.startswith("just") else None)
    versions_seen: list[dict[str, int | None]] = []
    with operator_client.connect(), BusClient(settings) as watcher, \
            SimulatedFleet(settings, fleet_id, trusted, [f"car-{n:04d}" for n in range(12)]).start() as fleet:
        operator = FleetOperator(operator_client, fleet_id, key)
        operator.push(OLD, "fleet")
        assert eventually(lambda: set(fleet.versions().values()) == {1} and len(operator.statuses) == 12, 20)
        back = operator_client.restarted
        if when == "while a stage applies":
            back = restart_while_the_stage_applies(own_mosquitto, watcher, fleet_id, 50)

        def after_each_stage(_stage) -> None:
            versions_seen.append(fleet.versions())
            if when == "between stages" and not back.is_set():
                own_mosquitto.restart()
                back.set()

        report = operator.rollout(NEW, canary_percent=25, halt_on_reject=0.05, stages=(50,), wait_s=30,
                                  progress=after_each_stage)
        assert back.is_set(), "the broker was not restarted during the rollout"
        assert report.outcome in ("completed", "halted"), report
        final, config = (2, NEW) if report.outcome == "completed" else (1, OLD)
        assert eventually(lambda: all(agent.documents.keys() == {"fleet"} and agent.documents["fleet"].version == final
                                      for agent in fleet.agents.values()), 20), fleet.versions()
        assert {version for seen in versions_seen for version in seen.values()} <= {1, 2}, versions_seen
        for agent in fleet.agents.values():
            document = agent.documents["fleet"]
            verify(document, trusted)
            assert (document.version, document.config) == (final, config)
            assert agent.config.dialogue.idle_timeout_s == config["dialogue"]["idle_timeout_s"]
        stable = operator.retained(fleet_topic(fleet_id), 5)  # what a vehicle connecting later is given
        assert (stable.version, stable.config) == (final, config)
        operator.close()


# -- stale and replayed requests ----------------------------------------------------------------
def test_a_request_past_its_deadline_is_refused_with_a_reason(vehicle, client):
    stale = datetime.now(UTC) - timedelta(seconds=3)
    [ack] = raw_request(client, vehicle.vehicle_id, TEMPERATURE, request(18.0, "stale-1", stale))
    assert ack.status == "rejected" and ack.request_id == "stale-1"
    assert "expired" in ack.reason and "not applied" in ack.reason
    assert vehicle.state[TEMPERATURE] == 21.0
    fresh = datetime.now(UTC) + timedelta(seconds=30)
    [ack] = raw_request(client, vehicle.vehicle_id, TEMPERATURE, request(18.0, "fresh-1", fresh))
    assert ack.status == "applied" and vehicle.state[TEMPERATURE] == 18.0


def test_a_replay_after_the_deadline_gets_the_first_answer_and_applies_nothing(vehicle, client):
    client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", "media:album/kind-of-blue")
    payload = request("SKIP_FORWARD", "skip-soon", datetime.now(UTC) + timedelta(seconds=0.5))
    [first] = raw_request(client, vehicle.vehicle_id, f"{MEDIA}.Action", payload)
    time.sleep(0.6)
    [replayed] = raw_request(client, vehicle.vehicle_id, f"{MEDIA}.Action", payload)
    assert first == replayed and first.status == "applied"
    assert vehicle.state[f"{MEDIA}.Played.Track"] == KIND_OF_BLUE[1]


def test_a_request_id_reused_on_another_signal_is_a_new_request(vehicle, client):
    [fan] = raw_request(client, vehicle.vehicle_id, FAN, request(70, "shared-id"))
    [temperature] = raw_request(client, vehicle.vehicle_id, TEMPERATURE, request(19.5, "shared-id"))
    assert (fan.status, fan.value) == ("applied", 70)
    assert (temperature.status, temperature.value) == ("applied", 19.5)
    assert vehicle.state[FAN] == 70 and vehicle.state[TEMPERATURE] == 19.5


def test_the_memory_of_answered_requests_is_bounded_and_keeps_the_recently_used(vehicle, client, monkeypatch):
    monkeypatch.setattr(vehicle_module, "ANSWERED_REQUESTS_KEPT", 2)
    client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", "media:album/kind-of-blue")

    def skip(request_id: str) -> str:
        raw_request(client, vehicle.vehicle_id, f"{MEDIA}.Action", request("SKIP_FORWARD", request_id))
        return vehicle.state[f"{MEDIA}.Played.Track"]

    assert [skip("s1"), skip("s2"), skip("s1"), skip("s3"), skip("s1"), skip("s2")] == [
        KIND_OF_BLUE[1], KIND_OF_BLUE[2], KIND_OF_BLUE[2],  # s1 replayed: answered again, and now the most recent
        KIND_OF_BLUE[3], KIND_OF_BLUE[3],  # s3 pushed out s2, not s1
        KIND_OF_BLUE[4],  # s2 was forgotten: applied as new
    ]


# -- hostile payloads ---------------------------------------------------------------------------
HUNDREDS_OF_DIGITS = "9" * 400


@pytest.mark.parametrize("path, payload, request_id, reason", [
    (FAN, f'{{"value": {HUNDREDS_OF_DIGITS}, "request_id": "big-1"}}', "big-1",
     "must be between 0 and 100 percent, got a number of about 400 digits"),
    (TEMPERATURE, f'{{"value": -{HUNDREDS_OF_DIGITS}, "request_id": "big-2"}}', "big-2",
     "must be between 16 and 28 celsius, got a number of about 400 digits"),
    (f"{MEDIA}.SelectedURI", f'{{"value": {HUNDREDS_OF_DIGITS}, "request_id": "big-3"}}', "big-3",
     "expects a string, got a number of about 400 digits"),
    (FAN, f'{{"value": {"9" * 5000}, "request_id": "big-4"}}', None,
     f"a number of 5000 digits (at most {MAX_INTEGER_DIGITS})"),
    (FAN, '{"value": 1e999, "request_id": "big-5"}', "big-5", "expects a finite number, got inf"),
    (f"{MEDIA}.SelectedURI", json.dumps({"value": "x" * MAX_PAYLOAD_BYTES, "request_id": "huge"}), None,
     f"at most {MAX_PAYLOAD_BYTES} bytes"),
    (FAN, '{"value": ' + "[" * 100 + "]" * 100 + ', "request_id": "deep-1"}', None,
     f"nested more than {MAX_NESTING} levels deep"),
    (FAN, '{"value": ' + "[" * 20_000 + "]" * 20_000 + ', "request_id": "deep-2"}', None,
     f"nested more than {MAX_NESTING} levels deep"),
    (FAN, '{"value": "' + "[" * 100 + '", "request_id": "brackets-in-text"}', "brackets-in-text",
     "expects a number"),
], ids=["400-digits-int", "400-digits-float", "400-digits-string", "5000-digits", "infinity", "oversized",
        "nested-100", "nested-20000", "brackets-in-a-string"])
def test_a_hostile_payload_gets_one_clear_rejection_and_the_vehicle_keeps_working(
        path, payload, request_id, reason, vehicle, client):
    before = dict(vehicle.state)
    acks: queue.Queue[BusMessage] = queue.Queue()
    unsubscribe = client.subscribe(ack_topic(vehicle.vehicle_id, path), acks.put)
    [ack] = raw_request(client, vehicle.vehicle_id, path, payload.encode())
    assert ack.status == "rejected" and reason in ack.reason
    assert ack.request_id == request_id
    assert vehicle.state == before
    assert client.set(vehicle.vehicle_id, f"{MEDIA}.Volume", 55).status == "applied"
    unsubscribe()
    assert acks.qsize() == 1, "exactly one answer to the hostile payload"


def test_a_faulty_ecu_still_gets_the_request_answered(bus, shared_ecu_data, client, tmp_path):
    class BrokenClimate(ClimateEcu):
        def apply(self, path, value, state):
            raise KeyError("a bug in the ECU")

    gazetteer, library = shared_ecu_data
    ecus = [BrokenClimate(), MediaEcu(library), NavigationEcu(gazetteer)]
    with SimulatedVehicle("car-broken-ecu", bus, ecus, tmp_path / "car.json", time_scale=0) as vehicle:
        with pytest.raises(SetRejected, match=r"the vehicle failed to carry out the request \(KeyError"):
            client.set(vehicle.vehicle_id, FAN, 60)
        assert vehicle.state[FAN] == 30


# -- persistence --------------------------------------------------------------------------------
def no_space_left(*_args) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_save_rejects_the_request_and_changes_nothing(vehicle, client, monkeypatch):
    client.set(vehicle.vehicle_id, TEMPERATURE, 19.0)
    state_file = vehicle.store.path
    saved = state_file.read_text()
    monkeypatch.setattr(os, "replace", no_space_left)  # the disk is full
    with pytest.raises(SetRejected, match="could not save its state .*No space left on device"):
        client.set(vehicle.vehicle_id, TEMPERATURE, 25.0)
    assert vehicle.state[TEMPERATURE] == 19.0
    assert client.get(vehicle.vehicle_id, TEMPERATURE).value == 19.0
    assert state_file.read_text() == saved
    assert sorted(p.name for p in state_file.parent.iterdir()) == [state_file.name]  # no temporary file left
    monkeypatch.undo()
    assert client.set(vehicle.vehicle_id, TEMPERATURE, 25.0).status == "applied"
    assert json.loads(state_file.read_text())[TEMPERATURE] == 25.0


def test_the_clock_keeps_ticking_through_failed_saves(bus, make_vehicle, client, monkeypatch, caplog):
    vehicle = make_vehicle(bus, time_scale=1, tick_s=0.5)
    for side in ("Driver", "Passenger"):  # full fans: the cabin cools by 0.01 degrees a tick
        client.set(vehicle.vehicle_id, f"Vehicle.Cabin.HVAC.Station.Row1.{side}.FanSpeed", 100)
    assert eventually(lambda: vehicle.state[CABIN] != 22.0)
    monkeypatch.setattr(os, "replace", no_space_left)
    time.sleep(1)
    stood_still = vehicle.state[CABIN]
    time.sleep(1)
    assert vehicle.state[CABIN] == stood_still  # what is not saved is not applied
    monkeypatch.undo()
    assert eventually(lambda: vehicle.state[CABIN] != stood_still)
    assert "simulated time stands still" in caplog.text


def test_two_simulators_sharing_a_state_folder_never_corrupt_it(tmp_path):
    stores = [StateStore(tmp_path / "car-shared.json") for _ in range(2)]
    states = [{TEMPERATURE: 16.0 + n, "padding": "x" * 100_000} for n in range(2)]
    errors: list[BaseException] = []

    def save_often(store: StateStore, state: dict) -> None:
        try:
            for _ in range(100):
                store.save(state)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=save_often, args=pair) for pair in zip(stores, states, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert json.loads((tmp_path / "car-shared.json").read_text()) in states
    assert [p.name for p in tmp_path.iterdir()] == ["car-shared.json"]


# -- small ones ---------------------------------------------------------------------------------
@pytest.mark.parametrize("vehicle_id", ["car-1\n", "car-1\r\n", "\ncar-1", "car 1", "", "x" * 65])
def test_vehicle_ids_are_exactly_one_topic_level(vehicle_id):
    with pytest.raises(ProtocolError, match="must be 1-64 letters"):
        check_vehicle_id(vehicle_id)


def test_a_stopped_mosquitto_leaves_no_open_file_and_no_temporary_folder():
    broker = MosquittoBroker().start()
    workdir = Path(os.readlink(f"/proc/{broker.pid}/cwd"))
    broker.stop()
    assert not workdir.exists()
    assert [fd for fd in Path("/proc/self/fd").iterdir() if str(workdir) in _target(fd)] == []


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed meanwhile
        return ""
