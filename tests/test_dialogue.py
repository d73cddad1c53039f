"""Dialogue on the fast path against a real simulated car over Mosquitto: state, replies, follow-ups, refusals."""

from __future__ import annotations

import pytest

from intents.dialogue import DECLINED, DISMISSED, NOT_UNDERSTOOD, OUT_OF_DOMAIN, UNSAFE, Dialogue
from intents.vehicle import BusVehicle
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings
from vehicle_bus.sim.vehicle import control_over_bus

HVAC = "Vehicle.Cabin.HVAC"
AC, FAN = f"{HVAC}.IsAirConditioningActive", f"{HVAC}.Station.Row1.Driver.FanSpeed"
SEAT, WIFE_SEAT = "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", "Vehicle.Cabin.Seat.Row1.PassengerSide.HeatingCooling"
WINDOW = "Vehicle.Cabin.Door.{}.Window.Position"
REAR_TEMP = f"{HVAC}.Station.Row2.Driver.Temperature"
DRIVER_TEMP, PASSENGER_TEMP = f"{HVAC}.Station.Row1.Driver.Temperature", f"{HVAC}.Station.Row1.Passenger.Temperature"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
NAV = "Vehicle.Private.Carvoice.Navigation"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def dialogue(car, clock):
    return Dialogue(car, clock=clock)


@pytest.mark.parametrize("said, expected, reply", [
    ("Set the temperature to 21.5", {DRIVER_TEMP: 21.5, PASSENGER_TEMP: 21.5}, "Temperature set to 21.5 degrees for the front."),
    ("make it seventy degrees fahrenheit", {DRIVER_TEMP: 21.0}, "70 degrees Fahrenheit"),
    ("set the driver side to 23 degrees", {DRIVER_TEMP: 23.0, PASSENGER_TEMP: 21.0}, "for the driver"),
    ("turn on the AC and set it to 20", {f"{HVAC}.IsAirConditioningActive": True, DRIVER_TEMP: 20.0},
     "Air conditioning on. Temperature set to 20 degrees"),
    ("two degrees warmer for the passenger", {PASSENGER_TEMP: 23.0, DRIVER_TEMP: 21.0}, "23 degrees for the passenger"),
    ("I'm freezing", {DRIVER_TEMP: 23.0}, "23 degrees"),
    ("fan to half", {f"{HVAC}.Station.Row1.Driver.FanSpeed": 50}, "Fan at 50 percent."),
    ("turn the fan off", {f"{HVAC}.Station.Row1.Passenger.FanSpeed": 0}, "Fan off."),
    ("defrost the windscreen", {f"{HVAC}.IsFrontDefrosterActive": True}, "Front defroster on."),
    ("recirculate the air", {f"{HVAC}.IsRecirculationActive": True}, "Recirculation on."),
    ("air to my feet", {f"{HVAC}.Station.Row1.Driver.AirDistribution": "DOWN"}, "feet"),
    ("heat my seat", {"Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling": 66}, "Seat heating at 66 percent"),
    ("cool the passenger seat", {"Vehicle.Cabin.Seat.Row1.PassengerSide.HeatingCooling": -66}, "cooling"),
    ("open the passenger window halfway", {"Vehicle.Cabin.Door.Row1.PassengerSide.Window.Position": 50},
     "Opening the passenger window to 50 percent."),
    ("close all the windows", {"Vehicle.Cabin.Door.Row2.DriverSide.Window.Position": 0}, "Closing the windows."),
    ("play Bohemian Rhapsody", {f"{MEDIA}.Played.Track": "Bohemian Rhapsody"}, "Playing Bohemian Rhapsody by Queen."),
    ("play One Love by Bob Marley", {f"{MEDIA}.Played.Track": "One Love"}, "Playing One Love by Bob Marley."),
    ("put on some jazz", {f"{MEDIA}.Played.Genre": "Jazz"}, "Playing So What by Miles Davis."),
    ("switch to DAB", {f"{MEDIA}.Played.Source": "DAB"}, "Switched to digital radio; playing BBC Radio 1."),
    ("volume to thirty five", {f"{MEDIA}.Volume": 35}, "Volume 35."),
    ("louder please", {f"{MEDIA}.Volume": 40}, "Volume 40."),
    ("mute", {"Vehicle.Private.Carvoice.Media.IsMuted": True}, "Muted."),
    ("navigate to Augsburg", {f"{NAV}.DestinationName": "Augsburg, DE", f"{NAV}.RouteStatus": "ACTIVE"},
     "Navigating to Augsburg, DE:"),
    ("take me to the nearest charging station", {f"{NAV}.RouteStatus": "ACTIVE"}, "kilometres"),
    ("Navigate to Paris, France.", {f"{NAV}.DestinationName": "Paris, FR"}, "Navigating to Paris, FR"),
    ("I need to get to Frankfurt airport", {f"{NAV}.DestinationName": "Frankfurt am Main, DE"}, "Frankfurt am Main"),
    ("could you turn the heat up a couple of degrees", {DRIVER_TEMP: 23.0}, "23 degrees"),
    ("fan speed three", {f"{HVAC}.Station.Row1.Driver.FanSpeed": 30}, "Fan at 30 percent."),
])
def test_commands_change_the_car_and_say_so(said, expected, reply, dialogue, car):
    turn = dialogue.handle(said)
    assert turn.path == "fast", turn
    assert all(a.status == "applied" for a in turn.actions), turn
    state = car.state()
    assert {path: state[path] for path in expected} == expected
    assert reply in turn.reply


def test_questions_are_answered_from_the_vehicle_state(dialogue):
    assert dialogue.handle("what's playing?").reply == "Nothing is playing."
    dialogue.handle("play some Miles Davis")
    assert dialogue.handle("who is this").reply == "This is So What by Miles Davis."
    assert dialogue.handle("how long until we arrive").reply == "There is no active route."
    dialogue.handle("drive to Nuremberg")
    eta = dialogue.handle("how long until we get there")
    assert eta.actions[0].status == "answered" and "minutes" in eta.reply and "Nuremberg, DE" in eta.reply
    assert dialogue.handle("what's the temperature inside").reply == \
        "It's 22 degrees inside; the temperature is set to 21."


def test_negated_requests_switch_off(dialogue, car):
    dialogue.handle("turn on the AC")
    assert dialogue.handle("I don't need the AC anymore").reply == "Air conditioning off."
    assert car.state()[f"{HVAC}.IsAirConditioningActive"] is False


def test_follow_ups_use_the_last_request(dialogue, car):
    dialogue.handle("set the driver side to 19 degrees")
    dialogue.handle("same for the passenger")
    assert car.state()[PASSENGER_TEMP] == 19.0
    dialogue.handle("warmer")
    assert car.state()[PASSENGER_TEMP] == 20.0 and car.state()[DRIVER_TEMP] == 19.0
    dialogue.handle("a bit more")
    assert car.state()[PASSENGER_TEMP] == 21.0


def test_a_question_is_asked_again_of_the_other_place(dialogue):
    assert "outside" in dialogue.handle("how chilly is it outdoors right now").reply
    turn = dialogue.handle("and in here?")
    assert [a.name for a in turn.actions] == ["ask_cabin_temperature"] and "inside" in turn.reply


def test_not_this_one_moves_on(dialogue, car):
    dialogue.handle("play some jazz")
    turn = dialogue.handle("not this one")
    assert turn.actions[0].name == "next_track"
    assert car.state()[f"{MEDIA}.Played.Track"] == "Freddie Freeloader"
    first = dialogue.handle("take me to a gas station")
    second = dialogue.handle("not this one")
    assert second.actions[0].args == {"destination": "poi:fuel:2"}
    assert first.reply != second.reply and car.state()[f"{NAV}.RouteStatus"] == "ACTIVE"


def test_undo_restores_what_the_last_request_changed(dialogue, car):
    dialogue.handle("volume to 60 and set the temperature to 25")
    assert (car.state()[f"{MEDIA}.Volume"], car.state()[DRIVER_TEMP]) == (60, 25.0)
    assert dialogue.handle("cancel that").reply == "Done, I've undone that."
    assert (car.state()[f"{MEDIA}.Volume"], car.state()[DRIVER_TEMP]) == (30, 21.0)
    assert dialogue.handle("undo").reply == "There is nothing to undo."


def test_missing_arguments_are_asked_for_and_filled_by_the_next_turn(dialogue, car):
    asked = dialogue.handle("navigate")
    assert asked.actions[0].status == "asked" and asked.reply == "Where would you like to go?"
    assert car.state()[f"{NAV}.RouteStatus"] == "IDLE"
    answered = dialogue.handle("Regensburg")
    assert answered.actions[0].status == "applied"
    assert car.state()[f"{NAV}.DestinationName"] == "Regensburg, DE"
    assert dialogue.handle("set the volume").reply == "What volume?"
    dialogue.handle("twenty")
    assert car.state()[f"{MEDIA}.Volume"] == 20


def test_context_expires_after_idle_time(dialogue, clock):
    dialogue.handle("navigate")
    clock.now += 61
    assert dialogue.handle("Regensburg").reply == OUT_OF_DOMAIN


def test_sessions_are_separate(dialogue):
    dialogue.handle("navigate", session_id="front")
    assert dialogue.handle("Regensburg", session_id="rear").reply == OUT_OF_DOMAIN
    assert "Regensburg" in dialogue.handle("Regensburg", session_id="front").reply


@pytest.mark.parametrize("said, reply", [
    ("set the temperature to 35", "I can set the temperature between 16 and 28 degrees."),
    ("make it 100 fahrenheit", "I can set the temperature between 16 and 28 degrees."),
    ("turn on the AC and set it to 40", "I can set the temperature between 16 and 28 degrees."),
    ("volume to 150", "The volume must be between 0 and 100."),
    ("cancel navigation", "There is no route to cancel."),
    ("navigate home", "I don't have an address saved for home. Say 'save this as home' when you are there"),
    ("navigate to Xyzzyville", "Sorry, there is no place called 'xyzzyville' in the offline map."),
    ("set the temperature to 22 and navigate to Xyzzyville", "Sorry, there is no place called 'xyzzyville'"),
    ("play polka from mars", "Sorry, nothing in the media library matches 'polka from mars'."),
    ("turn off the brakes", UNSAFE),
    ("unlock the doors", UNSAFE),
    ("what's the capital of France", OUT_OF_DOMAIN),
    ("", NOT_UNDERSTOOD),
    ("?!", NOT_UNDERSTOOD),
])
def test_refusals_are_spoken_and_nothing_is_half_applied(said, reply, dialogue, car):
    before = car.state()
    turn = dialogue.handle(said)
    assert reply in turn.reply
    assert all(a.status == "rejected" for a in turn.actions)
    assert car.state() == before


def test_window_safety_limit_at_speed(dialogue, car, vehicle, client):
    control_over_bus(client, vehicle.vehicle_id, overrides={"Vehicle.Speed": 140.0})
    refused = dialogue.handle("open all windows")
    assert "only open the windows half way" in refused.reply
    assert dialogue.handle("open the windows halfway").actions[0].status == "applied"


def test_turn_as_json_has_the_documented_shape(dialogue):
    data = dialogue.handle("set the temperature to 22").as_dict()
    assert set(data) == {"text", "actions", "reply", "path", "timings_ms"}
    assert data["actions"] == [{"name": "set_temperature", "args": {"value": 22.0, "unit": "celsius", "zone": "front"},
                                "status": "applied", "result": "Temperature set to 22 degrees for the front."}]
    assert {"fast_ms", "vehicle_ms", "total_ms"} <= set(data["timings_ms"])


@pytest.mark.parametrize("turns, expected, last_reply", [
    (["don't open the windows"], {WINDOW.format("Row1.DriverSide"): 0, WINDOW.format("Row2.PassengerSide"): 0},
     DECLINED),
    (["I'm hot but don't turn on the AC"], {AC: False, DRIVER_TEMP: 20.0}, "Temperature set to 20 degrees"),
    (["heat my seat", "I don't need the seat heating anymore"], {SEAT: 0}, "Seat heating off"),
    (["turn on the AC and the fan", "turn off the fan and the AC"], {AC: False, FAN: 0}, "Air conditioning off."),
    (["close the sunroof and open the window a bit"], {WINDOW.format("Row1.DriverSide"): 0}, OUT_OF_DOMAIN),
    (["open up the windows"], {WINDOW.format("Row2.DriverSide"): 100}, "Opening the windows."),
    (["increase the volume by 20"], {f"{MEDIA}.Volume": 50}, "Volume 50."),
    (["turn the sound up"], {f"{MEDIA}.Volume": 40}, "Volume 40."),
    (["lower the temperature to 18"], {DRIVER_TEMP: 18.0}, "18 degrees"),
    (["raise the temperature to 24"], {DRIVER_TEMP: 24.0}, "24 degrees"),
    (["set my seat heating to level 2"], {SEAT: 66}, "66 percent"),
    (["open the rear passenger window"], {WINDOW.format("Row2.PassengerSide"): 100, WINDOW.format("Row1.PassengerSide"): 0},
     "Opening the rear right window."),
    (["set the temperature to 25", "put the temperature back to 21"], {DRIVER_TEMP: 21.0, REAR_TEMP: 21.0}, "21 degrees"),
    (["turn on my seat heater", "and my wife's too"], {SEAT: 66, WIFE_SEAT: 66}, "for the passenger"),
    (["set the driver side to 20", "a bit warmer", "same for the passenger"], {DRIVER_TEMP: 21.0, PASSENGER_TEMP: 21.0},
     "21 degrees for the passenger"),
    (["set the temperature to 22, no wait, 23"], {DRIVER_TEMP: 23.0}, "23 degrees"),
    (["set the fan"], {FAN: 30}, "How strong should the fan be?"),
    (["volume to 60", "set the temperature", "never mind"], {f"{MEDIA}.Volume": 60, DRIVER_TEMP: 21.0}, DISMISSED),
    (["set the temperature", "72"], {DRIVER_TEMP: 22.0}, "72 degrees Fahrenheit"),
    (["set the volume", "turn on the AC"], {AC: True, f"{MEDIA}.Volume": 30}, "Air conditioning on."),
    (["defrost the windscreen and the rear window"], {f"{HVAC}.IsFrontDefrosterActive": True,
                                                      f"{HVAC}.IsRearDefrosterActive": True}, "Rear defroster on."),
    (["turn on the rear defroster", "and the front one"], {f"{HVAC}.IsFrontDefrosterActive": True,
                                                          f"{HVAC}.IsRearDefrosterActive": True}, "Front defroster on."),
    (["a bit warmer and the same for the back"], {DRIVER_TEMP: 22.0, REAR_TEMP: 22.0}, "22 degrees for the back."),
    (["cool it down half a degree"], {DRIVER_TEMP: 20.5}, "20.5 degrees"),
    (["we are going to be late so take me to Nuremberg as fast as you can"], {f"{NAV}.DestinationName": ""},
     OUT_OF_DOMAIN),
])
def test_what_was_said_is_what_is_done(turns, expected, last_reply, dialogue, car):
    """Negation, clause verbs, to/by, zones, follow-ups and questions: the car ends where the driver meant."""
    for said in turns:
        turn = dialogue.handle(said)
    state = car.state()
    assert {path: state[path] for path in expected} == expected, turn
    assert last_reply in turn.reply


def test_risky_requests_wait_for_a_yes(dialogue, car, vehicle, client):
    control_over_bus(client, vehicle.vehicle_id, overrides={"Vehicle.Speed": 100.0})
    asked = dialogue.handle("open all windows")
    assert asked.reply == "Open all the windows at 100 kilometres per hour?" and asked.actions[0].status == "asked"
    assert car.state()[WINDOW.format("Row2.DriverSide")] == 0
    assert dialogue.handle("yes").actions[0].status == "applied"
    assert car.state()[WINDOW.format("Row2.DriverSide")] == 100
    assert dialogue.handle("turn the volume to 90").reply == "Turn the volume up from 30 to 90?"
    assert dialogue.handle("no").reply == DISMISSED
    assert car.state()[f"{MEDIA}.Volume"] == 30


def test_places_are_looked_up_without_starting_a_route_and_there_means_that_place(dialogue, car):
    found = dialogue.handle("where is the nearest pharmacy")
    assert found.actions[0].status == "answered" and found.reply.startswith("The nearest is ")
    assert "kilometre" in found.reply and "take me there" in found.reply
    assert car.state()[f"{NAV}.RouteStatus"] == "IDLE"
    pharmacy = car.state()[f"{NAV}.LookupName"]
    assert dialogue.handle("take me there").actions[0].name == "navigate_to"
    assert car.state()[f"{NAV}.DestinationName"] == pharmacy and car.state()[f"{NAV}.RouteStatus"] == "ACTIVE"
    far = dialogue.handle("how long to drive to Hamburg")
    assert far.reply.startswith("Hamburg, DE is ") and "hours" in far.reply and "in today's traffic" in far.reply
    assert car.state()[f"{NAV}.DestinationName"] == pharmacy  # the route did not change


def test_traffic_is_told_for_the_route_or_around_here(dialogue, car):
    assert dialogue.handle("how's the traffic").reply == "Traffic around here is light."
    dialogue.handle("drive to Nuremberg")
    assert dialogue.handle("is there a jam on my route").reply.startswith("Traffic is light on the way to Nuremberg, DE")


def test_saved_places_are_destinations_and_unsaved_ones_are_explained(dialogue, car):
    refused = dialogue.handle("take me home")
    assert refused.actions[0].status == "rejected" and "save this as home" in refused.reply
    assert dialogue.handle("save this as home").reply == "Saved where we are as home."
    dialogue.handle("drive to Augsburg")
    assert dialogue.handle("remember this place as my work").reply == "Saved the destination as work."
    dialogue.handle("cancel the route")
    going = dialogue.handle("navigate to work")
    assert going.actions[0].status == "applied" and going.reply.startswith("Navigating to work: ")
    assert car.state()["Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude"] == pytest.approx(48.37, abs=0.01)
    assert "home" in car.state()[f"{NAV}.SavedPlaces"]
    assert dialogue.handle("save this place").reply == "What should I call it?"
    assert dialogue.handle("name it the gym").reply == "Saved the destination as gym."


def test_mute_for_a_while_unmutes_by_itself(dialogue, car, vehicle):
    assert dialogue.handle("mute for fifteen minutes").reply == "Muted for 15 minutes."
    assert car.state()["Vehicle.Private.Carvoice.Media.IsMuted"] is True
    vehicle.advance(15 * 60)
    assert vehicle.state["Vehicle.Private.Carvoice.Media.IsMuted"] is False
    assert dialogue.handle("mute").reply == "Muted."
    dialogue.handle("unmute")
    dialogue.handle("mute for a while")
    assert dialogue.handle("undo").reply == "Done, I've undone that."
    assert car.state()["Vehicle.Private.Carvoice.Media.IsMuted"] is False


@pytest.mark.parametrize("said", ["fan speed {}", "set the temperature to {} degrees", "volume to {} percent",
                                  "turn the volume up by {}", "mute for {} minutes", "{}"])
def test_numbers_of_any_size_get_a_spoken_refusal_and_change_nothing(said, dialogue, car):
    before = car.state()
    dialogue.handle("turn on the AC")
    turn = dialogue.handle(said.format("9" * 400))
    assert turn.reply and all(action.status != "applied" for action in turn.actions)
    assert {k: v for k, v in car.state().items() if v != before[k]} == {f"{HVAC}.IsAirConditioningActive": True}


def test_a_car_that_stops_answering_gets_a_spoken_reason_and_nothing_stays_half_applied(make_vehicle, bus):
    vehicle = make_vehicle(bus)
    with BusClient(BusSettings(url=bus.url, ack_timeout_s=1)) as impatient:
        car = BusVehicle(impatient, vehicle.vehicle_id).start()
        vehicle.stop()  # its last values stay retained on the broker: the mirror still shows them
        turn = Dialogue(car).handle("set the temperature to 24")
    assert turn.reply == "Sorry, the car did not answer."
    assert [a.status for a in turn.actions] == ["rejected"]
