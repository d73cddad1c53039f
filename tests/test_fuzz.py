"""Fuzzing the vehicle through a real Mosquitto: whatever arrives, one ack, a valid state, no crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import raw_request
from vehicle_bus.signals import SIGNALS, get_signal

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5,
)
paths = st.sampled_from(sorted(SIGNALS)) | st.from_regex(r"\AVehicle(\.[A-Za-z]{1,8}){1,4}\Z")
request_ids = st.text(alphabet="abcdefghijklmnop0123456789-", min_size=1, max_size=16)
payloads = st.one_of(
    st.builds(lambda v, r: json.dumps({"value": v, "request_id": r}).encode(), json_values, request_ids),
    st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.text(max_size=10), json_values, max_size=3)),
    st.binary(max_size=40),
)


@pytest.fixture(scope="module")
def fuzz_target(mosquitto, shared_ecu_data, tmp_path_factory):
    from vehicle_bus.client import BusClient
    from vehicle_bus.settings import BusSettings
    from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus

    bus = BusSettings(url=mosquitto.url)
    vehicle = SimulatedVehicle("car-fuzz", bus, default_ecus(*shared_ecu_data),
                               tmp_path_factory.mktemp("fuzz") / "car.json", time_scale=0).start()
    with BusClient(bus) as client:
        yield vehicle, client
    vehicle.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, payload=payloads, salt=st.uuids())
def test_any_set_request_gets_one_ack_and_leaves_a_valid_state(fuzz_target, path, payload, salt):
    vehicle, client = fuzz_target
    try:  # make request ids unique per example, so earlier answers are not replayed
        data = json.loads(payload)
        if isinstance(data, dict) and isinstance(data.get("request_id"), str):
            payload = json.dumps(data | {"request_id": f"{data['request_id']}-{salt}"}).encode()
    except ValueError:
        pass
    before = dict(vehicle.state)
    [ack] = raw_request(client, vehicle.vehicle_id, path, payload)
    if ack.status == "rejected":
        assert ack.reason
        assert vehicle.state == before
    else:
        assert get_signal(path).coerce(ack.value) == ack.value
    for signal_path, value in vehicle.state.items():
        assert SIGNALS[signal_path].coerce(value) == value
    assert client.get(vehicle.vehicle_id, "Vehicle.Speed").value == vehicle.state["Vehicle.Speed"]
