"""What the simulated car does with requests and with time, seen through the bus as a client sees it."""

from __future__ import annotations

import pytest

from vehicle_bus.errors import BusError, SetRejected
from vehicle_bus.sim.gazetteer import Gazetteer, distance_km
from vehicle_bus.sim.vehicle import control_over_bus

HVAC = "Vehicle.Cabin.HVAC"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
NAV = "Vehicle.Private.Carvoice.Navigation"


def values(client, vehicle, *paths):
    return tuple(client.get(vehicle.vehicle_id, path).value for path in paths)


# -- climate ----------------------------------------------------------------------------------
def test_ac_on_starts_stopped_front_fans(vehicle, client):
    for side in ("Driver", "Passenger"):
        client.set(vehicle.vehicle_id, f"{HVAC}.Station.Row1.{side}.FanSpeed", 0)
    client.set(vehicle.vehicle_id, f"{HVAC}.IsAirConditioningActive", True)
    assert values(client, vehicle, f"{HVAC}.Station.Row1.Driver.FanSpeed",
                  f"{HVAC}.Station.Row1.Passenger.FanSpeed") == (30, 30)


def test_front_defroster_points_the_air_up(vehicle, client):
    client.set(vehicle.vehicle_id, f"{HVAC}.IsFrontDefrosterActive", True)
    assert values(client, vehicle, f"{HVAC}.Station.Row1.Driver.AirDistribution") == ("UP",)


def test_window_position_drives_is_open(vehicle, client):
    window = "Vehicle.Cabin.Door.Row2.PassengerSide.Window"
    client.set(vehicle.vehicle_id, f"{window}.Position", 40)
    assert values(client, vehicle, f"{window}.IsOpen") == (True,)
    client.set(vehicle.vehicle_id, f"{window}.Position", 0)
    assert values(client, vehicle, f"{window}.IsOpen") == (False,)


def test_cabin_warms_toward_the_set_temperature_over_time(vehicle, client):
    for side in ("Driver", "Passenger"):
        client.set(vehicle.vehicle_id, f"{HVAC}.Station.Row1.{side}.Temperature", 26)
        client.set(vehicle.vehicle_id, f"{HVAC}.Station.Row1.{side}.FanSpeed", 100)
    control_over_bus(client, vehicle.vehicle_id, 60)
    [after_minute] = values(client, vehicle, f"{HVAC}.AmbientAirTemperature")
    assert 22.0 < after_minute < 26.0
    control_over_bus(client, vehicle.vehicle_id, 3600)
    assert values(client, vehicle, f"{HVAC}.AmbientAirTemperature") == (26.0,)


# -- media ------------------------------------------------------------------------------------
PLAYED = tuple(f"{MEDIA}.Played.{field}" for field in ("Track", "Artist", "Album", "Source")) + (f"{MEDIA}.Action",)


@pytest.mark.parametrize("request_text, resolved, played", [
    ("search:play some Miles Davis", "media:artist/miles-davis", ("So What", "Miles Davis", "Kind of Blue", "USB", "PLAY")),
    ("search:bohemian rhapsody", "media:track/a-night-at-the-opera/4",
     ("Bohemian Rhapsody", "Queen", "A Night at the Opera", "USB", "PLAY")),
    ("search:jazz fm", "media:station/jazz-fm", ("Jazz FM", "", "", "DAB", "PLAY")),
    ("search:reggae", "media:genre/reggae", ("Is This Love", "Bob Marley", "Legend", "USB", "PLAY")),
    ("media:album/abbey-road", "media:album/abbey-road", ("Come Together", "The Beatles", "Abbey Road", "USB", "PLAY")),
])
def test_selecting_media_plays_it(request_text, resolved, played, vehicle, client):
    ack = client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", request_text)
    assert ack.value == resolved
    assert values(client, vehicle, *PLAYED) == played


def test_skip_pause_and_resume(vehicle, client):
    client.set(vehicle.vehicle_id, f"{MEDIA}.SelectedURI", "media:album/time-out")
    assert client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "SKIP_FORWARD").value == "PLAY"
    assert values(client, vehicle, f"{MEDIA}.Played.Track") == ("Strange Meadow Lark",)
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "SKIP_BACKWARD")
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "SKIP_BACKWARD")
    assert values(client, vehicle, f"{MEDIA}.Played.Track") == ("Take Five",)  # wraps around
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "STOP")  # pause keeps the track
    assert values(client, vehicle, f"{MEDIA}.Action", f"{MEDIA}.Played.Track") == ("STOP", "Take Five")
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "PLAY")
    assert values(client, vehicle, f"{MEDIA}.Action", f"{MEDIA}.Played.Track") == ("PLAY", "Take Five")


def test_play_with_nothing_selected_starts_the_current_source(vehicle, client):
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "PLAY")
    assert values(client, vehicle, f"{MEDIA}.Played.Track", f"{MEDIA}.Played.Source") == ("Bayern 3", "FM")


def test_switching_source_plays_from_it(vehicle, client):
    client.set(vehicle.vehicle_id, f"{MEDIA}.Played.Source", "DAB")
    assert values(client, vehicle, f"{MEDIA}.Played.Track") == ("BBC Radio 1",)
    client.set(vehicle.vehicle_id, f"{MEDIA}.Action", "SKIP_FORWARD")
    assert values(client, vehicle, f"{MEDIA}.Played.Track") == ("Jazz FM",)


def test_volume_change_unmutes(vehicle, client):
    client.set(vehicle.vehicle_id, "Vehicle.Private.Carvoice.Media.IsMuted", True)
    client.set(vehicle.vehicle_id, f"{MEDIA}.Volume", 20)
    assert values(client, vehicle, "Vehicle.Private.Carvoice.Media.IsMuted", f"{MEDIA}.Volume") == (False, 20)


# -- navigation -------------------------------------------------------------------------------
def test_route_to_a_city_sets_destination_distance_and_eta(vehicle, client):
    ack = client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "nuremberg")
    assert ack.value == "Nuremberg, DE"
    lat, lon, status, distance, eta, speed = values(
        client, vehicle, "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude",
        "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude", f"{NAV}.RouteStatus",
        f"{NAV}.DistanceToDestination", f"{NAV}.TimeToDestination", "Vehicle.Speed")
    assert (round(lat, 1), round(lon, 1), status) == (49.5, 11.1, "ACTIVE")
    assert 180 < distance < 250  # Munich to Nuremberg: 150 km straight, more by road
    assert eta == pytest.approx(distance / speed * 3600, rel=0.01)


def test_country_code_picks_the_right_paris(vehicle, client):
    assert client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "Paris").value == "Paris, FR"
    with pytest.raises(SetRejected, match="too far"):  # Paris, Texas is beyond 5,000 km from Munich
        client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "Paris, US")


def test_nearest_point_of_interest_is_deterministic(vehicle, client):
    first = client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "poi:charging").value
    expected = Gazetteer.nearby("charging", 48.137154, 11.576124, count=1)[0]
    assert first == expected.name
    assert values(client, vehicle, f"{NAV}.DistanceToDestination")[0] < 10


def test_the_car_drives_to_its_destination_and_arrives(vehicle, client):
    client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "Freising")
    [start_distance] = values(client, vehicle, f"{NAV}.DistanceToDestination")
    control_over_bus(client, vehicle.vehicle_id, 300)
    distance, lat, lon = values(client, vehicle, f"{NAV}.DistanceToDestination", "Vehicle.CurrentLocation.Latitude",
                                "Vehicle.CurrentLocation.Longitude")
    assert 0 < distance < start_distance
    assert distance_km(lat, lon, 48.137154, 11.576124) > 1  # it moved
    control_over_bus(client, vehicle.vehicle_id, 3 * 3600)
    assert values(client, vehicle, f"{NAV}.RouteStatus", "Vehicle.Speed", f"{NAV}.DistanceToDestination") == \
        ("ARRIVED", 0.0, 0.0)
    with pytest.raises(SetRejected, match="already at Freising"):
        client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "Freising")


def test_cancel_stops_guidance(vehicle, client):
    client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "48.3, 11.9")
    client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "")
    assert values(client, vehicle, f"{NAV}.RouteStatus", f"{NAV}.DestinationName", "Vehicle.Speed") == \
        ("IDLE", "", 0.0)


def test_traffic_follows_its_cycle(vehicle, client):
    client.set(vehicle.vehicle_id, f"{NAV}.DestinationName", "Hamburg")
    seen = set()
    for _ in range(5):
        control_over_bus(client, vehicle.vehicle_id, 300)
        seen.add(values(client, vehicle, f"{NAV}.TrafficLevel")[0])
    assert seen == {"LIGHT", "MODERATE", "HEAVY"}


def test_time_advance_requests_are_validated(vehicle, client):
    with pytest.raises(BusError, match="advance_s must be between 0 and 86400"):
        control_over_bus(client, vehicle.vehicle_id, -5)
    with pytest.raises(BusError, match="Vehicle.Speed must be between 0 and 250"):
        control_over_bus(client, vehicle.vehicle_id, overrides={"Vehicle.Speed": 900})
    with pytest.raises(BusError, match="unknown signal 'Vehicle.Warp'"):
        control_over_bus(client, vehicle.vehicle_id, overrides={"Vehicle.Warp": 9})


def test_control_overrides_sensors_for_test_setups(vehicle, client):
    control_over_bus(client, vehicle.vehicle_id, overrides={"Vehicle.Speed": 88.0,
                                                            "Vehicle.Exterior.AirTemperature": -5.0})
    assert values(client, vehicle, "Vehicle.Speed", "Vehicle.Exterior.AirTemperature") == (88.0, -5.0)
