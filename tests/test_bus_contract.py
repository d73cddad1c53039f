"""The topic contract, driven through real brokers: every signal, every kind of bad request."""

from __future__ import annotations

import json
import queue
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes

from tests.helpers import raw_request
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusConnectionError, SetRejected
from vehicle_bus.protocol import SetRequest, set_topic, status_topic
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import SIGNALS, default_state
from vehicle_bus.brokers import free_port

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
# Actuators whose ECU turns the request into something else: (value sent, value the ack reports).
SPECIAL_VALUES = {
    f"{MEDIA}.Action": ("PLAY", "PLAY"),
    f"{MEDIA}.Played.Source": ("DAB", "DAB"),
    f"{MEDIA}.SelectedURI": ("search:queen", "media:artist/queen"),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude": (48.4, 48.4),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude": (11.9, 11.9),
    "Vehicle.Private.Carvoice.Navigation.DestinationName": ("Augsburg", "Augsburg, DE"),
    "Vehicle.Private.Carvoice.Navigation.SavedPlaces": ('{"home": "Augsburg"}', '{"home": "Augsburg"}'),
    "Vehicle.Private.Carvoice.Navigation.Lookup": ("poi:pharmacy", "poi:pharmacy"),
}
ACTUATORS = [s for s in SIGNALS.values() if s.is_actuator]
SENSORS = [s for s in SIGNALS.values() if not s.is_actuator]


def sample_value(signal):
    """A valid value for ``signal`` that differs from its default."""
    if signal.path in SPECIAL_VALUES:
        return SPECIAL_VALUES[signal.path]
    if signal.datatype == "boolean":
        value = not signal.default
    elif signal.allowed:
        value = next(v for v in signal.allowed if v != signal.default)
    else:
        low, high = signal.bounds
        value = signal.coerce(round(low + (high - low) * 0.75))
    return value, value


@pytest.mark.parametrize("signal", ACTUATORS, ids=lambda s: s.path)
def test_every_actuator_can_be_set_and_read_back(signal, any_bus, make_vehicle):
    vehicle = make_vehicle(any_bus)
    value, expected = sample_value(signal)
    with BusClient(any_bus) as client:
        ack = client.set(vehicle.vehicle_id, signal.path, value)
        assert ack.status == "applied" and ack.value == expected
        assert client.get(vehicle.vehicle_id, signal.path).value == expected


@pytest.mark.parametrize("signal", SENSORS, ids=lambda s: s.path)
def test_every_sensor_refuses_writes(signal, any_bus, make_vehicle):
    vehicle = make_vehicle(any_bus)
    with BusClient(any_bus) as client:
        with pytest.raises(SetRejected, match="is a sensor and cannot be set"):
            client.set(vehicle.vehicle_id, signal.path, signal.default)
        assert client.get(vehicle.vehicle_id, signal.path).value == signal.default


def test_snapshot_holds_every_signal_and_status_is_online(vehicle, client):
    state = client.snapshot(vehicle.vehicle_id, expected=len(SIGNALS))
    assert {path: value.value for path, value in state.items()} == default_state()
    assert all(value.ts.endswith("Z") for value in state.values())
    online = raw_status(client, vehicle.vehicle_id)
    assert online["state"] == "online"


def raw_status(client: BusClient, vehicle_id: str) -> dict:
    received = queue.Queue()
    unsubscribe = client.subscribe(status_topic(vehicle_id), received.put)
    try:
        return json.loads(received.get(timeout=5).payload)
    finally:
        unsubscribe()


@pytest.mark.parametrize("path, value, reason", [
    (TEMPERATURE, 35, "must be between 16 and 28 celsius, got 35"),
    (TEMPERATURE, "warm", "expects a number, got 'warm'"),
    ("Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", -5, "between 0 and 100"),
    (f"{MEDIA}.Action", "PAUSE", "must be one of"),
    (f"{MEDIA}.Action", "UNKNOWN", "UNKNOWN is not a playback command"),
    (f"{MEDIA}.Played.Source", "CD", "this car has no CD source"),
    (f"{MEDIA}.SelectedURI", "search:polka from mars", "nothing in the media library matches"),
    ("Vehicle.Private.Carvoice.Navigation.DestinationName", "Xyzzyville", "no place called 'Xyzzyville'"),
    ("Vehicle.Private.Carvoice.Navigation.DestinationName", "Sydney, AU", "too far for a road route"),
    ("Vehicle.Private.Carvoice.Navigation.DestinationName", "poi:casino", "unknown kind of place 'casino'"),
    ("Vehicle.Cabin.Teleporter.Target", "Mars", "unknown signal 'Vehicle.Cabin.Teleporter.Target'"),
])
def test_bad_requests_are_rejected_with_a_reason_and_change_nothing(path, value, reason, vehicle, client):
    before = dict(vehicle.state)
    with pytest.raises(SetRejected) as rejected:
        client.set(vehicle.vehicle_id, path, value)
    assert reason in rejected.value.reason
    assert vehicle.state == before
    if path in SIGNALS:
        assert client.get(vehicle.vehicle_id, path).value == before[path]


@pytest.mark.parametrize("payload, request_id, reason", [
    (b"{not json", None, "not valid JSON"),
    (b"\xff\xfe\x00", None, "not valid JSON"),
    (b"[21]", None, "must be a JSON object"),
    (b'{"value": 21}', None, "request_id: Field required"),
    (b'{"request_id": "r-1"}', "r-1", "value: Field required"),
    (b'{"value": 21, "request_id": 7}', None, "request_id: Input should be a valid string"),
    (b'{"value": 21, "request_id": "r-2", "colour": "red"}', "r-2", "colour: Extra inputs are not permitted"),
])
def test_malformed_payloads_get_a_rejection_ack(payload, request_id, reason, vehicle, client):
    before = dict(vehicle.state)
    [ack] = raw_request(client, vehicle.vehicle_id, TEMPERATURE, payload)
    assert ack.status == "rejected" and reason in ack.reason
    assert ack.request_id == request_id
    assert vehicle.state == before


def test_a_repeated_request_id_is_applied_once_and_answered_again(vehicle, client):
    client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", "media:album/abbey-road")
    payload = SetRequest(value="SKIP_FORWARD", request_id="skip-once").encode()
    first = raw_request(client, vehicle.vehicle_id, f"{MEDIA}.Action", payload)
    second = raw_request(client, vehicle.vehicle_id, f"{MEDIA}.Action", payload)
    assert first == second and first[0].status == "applied"
    assert client.get(vehicle.vehicle_id, f"{MEDIA}.Played.Track").value == "Something"


def test_mqtt5_response_topic_and_correlation_data(mosquitto, make_vehicle):
    settings = BusSettings(url=mosquitto.url, protocol="5")
    vehicle = make_vehicle(settings)
    replies = queue.Queue()
    with BusClient(settings) as client:
        client.subscribe("replies/dashboard-7", replies.put)
        properties = mqtt.Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = "replies/dashboard-7"
        properties.CorrelationData = b"corr-42"
        request = SetRequest(value=19.5, request_id=uuid.uuid4().hex)
        client.publish(set_topic(vehicle.vehicle_id, TEMPERATURE), request.encode(), properties=properties)
        reply = replies.get(timeout=5)
    assert reply.correlation_data == b"corr-42"
    assert json.loads(reply.payload) == {"request_id": request.request_id, "status": "applied", "value": 19.5,
                                         "reason": None}


def test_no_broker_gives_a_clear_connection_error():
    settings = BusSettings(url=f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(BusConnectionError, match=r"cannot connect to the MQTT broker at mqtt://127.0.0.1:\d+"):
        BusClient(settings).connect(timeout_s=1.5)
