"""How each action of the catalogue is carried out: the places of the car it names, the vehicle writes it
plans from its arguments and the car's state, and the reply built from the state after the writes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from vehicle_bus.signals import (CABIN_TEMPERATURE, DESTINATION_LATITUDE, DESTINATION_LONGITUDE,
                                 DESTINATION_NAME, DISTANCE_TO_DESTINATION, FRONT_DEFROSTER, HVAC_STATIONS,
                                 LATITUDE, LONGITUDE, LOOKUP, LOOKUP_DISTANCE, LOOKUP_NAME, LOOKUP_TIME,
                                 MEDIA_ACTION, MEDIA_MUTED, MEDIA_SOURCE, MEDIA_VOLUME, OUTSIDE_TEMPERATURE,
                                 PLAYED_ARTIST, PLAYED_TRACK, REAR_DEFROSTER, ROUTE_STATUS, SAVED_PLACES,
                                 SEAT_POSITIONS, SELECTED_URI, SIGNALS, SPEED, TIME_TO_DESTINATION,
                                 TRAFFIC_LEVEL, UNMUTE_IN, air_distribution, fan_speed, seat_heating,
                                 station_temperature, window_position)

from intents.actions import POI_PHRASES, SAVED_NAME, Plan, Refusal, State, clamped

# -- places in the car ------------------------------------------------------------------------------
CLIMATE_ZONES = {
    "driver": ("Row1.Driver",), "passenger": ("Row1.Passenger",), "front": ("Row1.Driver", "Row1.Passenger"),
    "rear": ("Row2.Driver", "Row2.Passenger"), "all": HVAC_STATIONS,
}
"""Climate zone -> the HVAC stations it covers."""
SEATS = {
    "driver": ("Row1.DriverSide",), "passenger": ("Row1.PassengerSide",), "rear_left": ("Row2.DriverSide",),
    "rear_right": ("Row2.PassengerSide",), "front": ("Row1.DriverSide", "Row1.PassengerSide"),
    "rear": ("Row2.DriverSide", "Row2.PassengerSide"), "all": SEAT_POSITIONS,
}
"""Seat (or window) -> the seat positions it covers."""
DRIVER_STATION, DRIVER_SEAT = CLIMATE_ZONES["driver"][0], SEATS["driver"][0]
PLACE_NAMES = {"driver": "the driver", "passenger": "the passenger", "front": "the front", "rear": "the back",
               "all": "everyone", "rear_left": "the rear left", "rear_right": "the rear right"}
SOURCES = {"FM": "FM radio", "DAB": "digital radio", "USB": "USB", "BLUETOOTH": "Bluetooth", "INTERNET": "streaming"}
POI_CATEGORIES = tuple(POI_PHRASES)
UNSAVED_PLACE_WORDS = ("home", "work", "office", "the office")
"""Places drivers name as if the car knew them: refused with advice until saved."""
WINDOW_FAST_KMH = 130.0
"""Above this speed windows open at most half way."""
WINDOWS_CONFIRM_KMH = 80.0
"""Above this speed opening several windows more than half way is confirmed first."""
VOLUME_JUMP_CONFIRM = 40
"""A volume rise larger than this is confirmed first."""
TEMPERATURE_RANGE = SIGNALS[station_temperature(DRIVER_STATION)].bounds
"""The temperatures the car can be set to, in Celsius."""
AIR_DIRECTIONS = SIGNALS[air_distribution(DRIVER_STATION)].allowed


# -- planners and repliers --------------------------------------------------------------------------
def stations(zone: str, signal_of: Callable[[str], str]) -> list[str]:
    """The paths of one signal (``fan_speed``) of every HVAC station of ``zone``."""
    return [signal_of(station) for station in CLIMATE_ZONES[zone]]


def to_celsius(value: float, unit: str) -> float:
    return round((value - 32) * 5 / 9 * 2) / 2 if unit == "fahrenheit" else value


def confirmation_question(name: str, args: dict, plan: Plan, state: State) -> str | None:
    """The question to ask before a risky but allowed request is applied, else ``None``."""
    if name == "set_window" and args["position"] > 50 and len(SEATS[args["window"]]) > 1 \
            and state[SPEED] > WINDOWS_CONFIRM_KMH:
        where = {"all": "all the", "front": "both front", "rear": "both rear"}[args["window"]]
        return f"Open {where} windows at {state[SPEED]:.0f} kilometres per hour?"
    for path, value in plan:
        if path == MEDIA_VOLUME and value - state[MEDIA_VOLUME] > VOLUME_JUMP_CONFIRM:
            return f"Turn the volume up from {state[MEDIA_VOLUME]} to {value}?"
    return None


def _temperature_plan(celsius: float, zone: str) -> Plan:
    low, high = TEMPERATURE_RANGE
    if not low <= celsius <= high:
        raise Refusal(f"I can set the temperature between {low:g} and {high:g} degrees.")
    return [(path, celsius) for path in stations(zone, station_temperature)]


FAHRENHEIT_FROM = 50
"""A temperature said without a unit at or above this is Fahrenheit: no cabin is set to 50 °C."""


def infer_unit(args: dict) -> dict:
    value = args.get("value")
    if args.get("unit") is None and isinstance(value, int | float) and value >= FAHRENHEIT_FROM:
        return {**args, "unit": "fahrenheit"}
    return args


def plan_set_temperature(args: dict, state: State) -> Plan:
    return _temperature_plan(to_celsius(args["value"], args["unit"]), args["zone"])


def plan_change_temperature(args: dict, state: State) -> Plan:
    low, high = TEMPERATURE_RANGE
    plan = []
    for path in stations(args["zone"], station_temperature):
        target = state[path] + args["delta"]
        if not low <= target <= high:
            limit = "warmest" if args["delta"] > 0 else "coolest"
            raise Refusal(f"It's already at {state[path]:g} degrees; {high if args['delta'] > 0 else low:g} is the "
                          f"{limit} I can set.")
        plan.append((path, target))
    return plan


def reply_temperature(args: dict, state: State) -> str:
    value = state[stations(args["zone"], station_temperature)[0]]
    if args.get("unit") == "fahrenheit":
        return f"Temperature set to {args['value']:g} degrees Fahrenheit for {PLACE_NAMES[args['zone']]}."
    return f"Temperature set to {value:g} degrees for {PLACE_NAMES[args['zone']]}."


def plan_set_fan(args: dict, state: State) -> Plan:
    return [(path, args["level"]) for path in stations(args["zone"], fan_speed)]


def plan_change_fan(args: dict, state: State) -> Plan:
    return [(path, clamped(path, state[path] + args["delta"])) for path in stations(args["zone"], fan_speed)]


def reply_fan(args: dict, state: State) -> str:
    level = state[stations(args["zone"], fan_speed)[0]]
    return "Fan off." if level == 0 else f"Fan at {level} percent."


def switch(path: str, arg: str = "on") -> Callable[[dict, State], Plan]:
    return lambda args, state: [(path, args[arg])]


def said_switch(what: str, path: str) -> Callable[[dict, State], str]:
    return lambda args, state: f"{what} {'on' if state[path] else 'off'}."


def plan_defroster(args: dict, state: State) -> Plan:
    path = FRONT_DEFROSTER if args["window"] == "front" else REAR_DEFROSTER
    return [(path, args["on"])]


def reply_defroster(args: dict, state: State) -> str:
    return f"{args['window'].capitalize()} defroster {'on' if args['on'] else 'off'}."


def plan_air_distribution(args: dict, state: State) -> Plan:
    return [(path, args["direction"]) for path in stations(args["zone"], air_distribution)]


def reply_air_distribution(args: dict, state: State) -> str:
    where = {"UP": "the windscreen", "MIDDLE": "the face", "DOWN": "the feet"}[args["direction"]]
    return f"Air directed to {where}."


def seat_paths(seat: str) -> list[str]:
    return [seat_heating(s) for s in SEATS[seat]]


def plan_seat(args: dict, state: State) -> Plan:
    return [(path, args["level"]) for path in seat_paths(args["seat"])]


def reply_seat(args: dict, state: State) -> str:
    level, whose = state[seat_paths(args["seat"])[0]], PLACE_NAMES[args["seat"]]
    if level == 0:
        return f"Seat heating off for {whose}."
    return f"Seat {'heating' if level > 0 else 'cooling'} at {abs(level)} percent for {whose}."


def window_paths(window: str) -> list[str]:
    return [window_position(s) for s in SEATS[window]]


def plan_window(args: dict, state: State) -> Plan:
    if args["position"] > 50 and state[SPEED] > WINDOW_FAST_KMH:
        raise Refusal(f"At over {WINDOW_FAST_KMH:g} kilometres per hour I only open the windows half way.")
    return [(path, args["position"]) for path in window_paths(args["window"])]


def reply_window(args: dict, state: State) -> str:
    position = state[window_paths(args["window"])[0]]
    plural = "s" if len(SEATS[args["window"]]) > 1 else ""
    where = "" if args["window"] == "all" else f"{PLACE_NAMES[args['window']].removeprefix('the ')} "
    if position == 0:
        return f"Closing the {where}window{plural}."
    return f"Opening the {where}window{plural}" + ("." if position == 100 else f" to {position} percent.")


def plan_play(args: dict, state: State) -> Plan:
    if args.get("query"):
        return [(SELECTED_URI, f"search:{args['query']}")]
    return [(MEDIA_ACTION, "PLAY")]


def now_playing(state: State) -> str:
    track, artist = state[PLAYED_TRACK], state[PLAYED_ARTIST]
    if not track:
        return "nothing"
    return f"{track} by {artist}" if artist else track


def reply_play(args: dict, state: State) -> str:
    return f"Playing {now_playing(state)}."


def reply_pause(args: dict, state: State) -> str:
    return "Paused."


def plan_volume(args: dict, state: State) -> Plan:
    return [(MEDIA_VOLUME, args["level"])]


def plan_change_volume(args: dict, state: State) -> Plan:
    return [(MEDIA_VOLUME, clamped(MEDIA_VOLUME, state[MEDIA_VOLUME] + args["delta"]))]


def plan_mute(args: dict, state: State) -> Plan:
    if args.get("minutes") and args["on"]:  # muted first, so that undo unmutes
        return [(MEDIA_MUTED, True), (UNMUTE_IN, round(args["minutes"] * 60))]
    return [(MEDIA_MUTED, args["on"])]


def reply_mute(args: dict, state: State) -> str:
    if not state[MEDIA_MUTED]:
        return "Sound back on."
    minutes = round(state[UNMUTE_IN] / 60)
    return f"Muted for {minutes} minute{'s' if minutes != 1 else ''}." if state[UNMUTE_IN] else "Muted."


def reply_volume(args: dict, state: State) -> str:
    return f"Volume {state[MEDIA_VOLUME]}."


def reply_source(args: dict, state: State) -> str:
    return f"Switched to {SOURCES[state[MEDIA_SOURCE]]}; playing {now_playing(state)}."


def destination_of(text: str) -> str:
    """A spoken destination as the navigation ECU takes it: a place name, or poi:<category>. A category said as
    one ("a hotel for the night", "the nearest pharmacy that is open") is that category whatever follows it."""
    text = re.sub(r"^(?:to|towards)\s+", "", text.strip())
    a_kind_of = re.match(r"(?:a|an|some|any|the nearest|the closest|nearest|closest)\b", text) is not None
    text = re.sub(r"^(?:(?:a|an|the|some|any|nearest|closest|nearby|next|close by)\s+)*", "", text)
    text = re.sub(r"\s+(?:nearby|near here|close by|around here|near me)$", "", text)
    words = text.split()
    heads = [" ".join(words[:n]) for n in range(len(words), 0, -1)] if a_kind_of else [text]
    return next((f"poi:{category}" for head in heads if (category := poi_category(head))), text)


def poi_category(words: str) -> str | None:
    """The POI category a phrase names: "charger" -> charging."""
    words = words.strip().lower()
    return next((c for c, phrases in POI_PHRASES.items() if words in phrases), None)


def _route_target(args: dict, state: State) -> str:
    """The destination as the navigation ECU takes it: a saved place's name, poi:<category>[:<rank>], or a place."""
    destination = destination_of(args["destination"])
    if destination.lower() in json.loads(state[SAVED_PLACES]):
        return destination.lower()
    if destination.lower() in UNSAVED_PLACE_WORDS:
        raise Refusal(f"I don't have an address saved for {destination.lower()}. Say 'save this as "
                      f"{destination.lower()}' when you are there, or tell me the town.")
    if destination.startswith("poi:"):
        word, _, rank = destination.removeprefix("poi:").partition(":")
        category = poi_category(word)
        if category is None:
            raise Refusal(f"I can find {', '.join(POI_CATEGORIES)}, but not {word}.")
        destination = f"poi:{category}" + (f":{rank}" if rank else "")
    return destination


def plan_navigate(args: dict, state: State) -> Plan:
    return [(DESTINATION_NAME, _route_target(args, state))]


def plan_look_up(args: dict, state: State) -> Plan:
    return [(LOOKUP, _route_target(args, state))]


def describe_trip(seconds: float, km: float) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    time_text = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if hours:
        time_text = f"{hours} hour{'s' if hours > 1 else ''} {time_text}"
    return f"{time_text}, {km:.0f} kilometre{'s' if round(km) != 1 else ''}"


def reply_travel_time(args: dict, state: State) -> str:
    return (f"{state[LOOKUP_NAME]} is {describe_trip(state[LOOKUP_TIME], state[LOOKUP_DISTANCE])}"
            f" away in today's traffic.")


def reply_find_place(args: dict, state: State) -> str:
    return (f"The nearest is {state[LOOKUP_NAME]}, "
            f"{describe_trip(state[LOOKUP_TIME], state[LOOKUP_DISTANCE])} away. "
            f"Say 'take me there' to go.")


def reply_traffic(args: dict, state: State) -> str:
    level = state[TRAFFIC_LEVEL].lower()
    if state[ROUTE_STATUS] != "ACTIVE":
        return f"Traffic around here is {level}."
    delay = " There is a jam on the way." if level == "heavy" else ""
    return (f"Traffic is {level} on the way to {state[DESTINATION_NAME]}: "
            f"{describe_eta(state)} to go.{delay}")


def plan_save_place(args: dict, state: State) -> Plan:
    name = re.sub(r"^(?:my|the|our) ", "", args["name"].strip().lower())
    if not SAVED_NAME.fullmatch(name):
        raise Refusal("A saved place needs a short name, like home or work.")
    if state[ROUTE_STATUS] == "ACTIVE":
        lat, lon = state[DESTINATION_LATITUDE], state[DESTINATION_LONGITUDE]
    else:
        lat, lon = state[LATITUDE], state[LONGITUDE]
    places = json.loads(state[SAVED_PLACES]) | {name: f"{lat:.5f}, {lon:.5f}"}
    return [(SAVED_PLACES, json.dumps(places, sort_keys=True))]


def reply_save_place(args: dict, state: State) -> str:
    where = "the destination" if state[ROUTE_STATUS] == "ACTIVE" else "where we are"
    return f"Saved {where} as {re.sub(r'^(?:my|the|our) ', '', args['name'].strip().lower())}."


def describe_eta(state: State) -> str:
    return describe_trip(state[TIME_TO_DESTINATION], state[DISTANCE_TO_DESTINATION])


def reply_navigate(args: dict, state: State) -> str:
    return f"Navigating to {state[DESTINATION_NAME]}: {describe_eta(state)}."


def plan_cancel_navigation(args: dict, state: State) -> Plan:
    if state[ROUTE_STATUS] != "ACTIVE":
        raise Refusal("There is no route to cancel.")
    return [(DESTINATION_NAME, "")]


def reply_cabin_temperature(args: dict, state: State) -> str:
    return (f"It's {state[CABIN_TEMPERATURE]:.0f} degrees inside; the temperature is set to "
            f"{state[station_temperature(DRIVER_STATION)]:g}.")


def reply_outside_temperature(args: dict, state: State) -> str:
    return f"It's {state[OUTSIDE_TEMPERATURE]:.0f} degrees outside."


def reply_now_playing(args: dict, state: State) -> str:
    if not state[PLAYED_TRACK]:
        return "Nothing is playing."
    paused = " (paused)" if state[MEDIA_ACTION] == "STOP" else ""
    return f"This is {now_playing(state)}{paused}."


def reply_eta(args: dict, state: State) -> str:
    status = state[ROUTE_STATUS]
    if status == "ARRIVED":
        return f"We have arrived at {state[DESTINATION_NAME]}."
    if status != "ACTIVE":
        return "There is no active route."
    return f"{describe_eta(state).capitalize()} to {state[DESTINATION_NAME]}."


def no_plan(args: dict, state: State) -> Plan:
    return []


def reply_undone(args: dict, state: State) -> str:
    return "Done, I've undone that."
