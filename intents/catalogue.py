"""The intent catalogue: every function of the car as a typed action.

One table (:data:`CATALOGUE`) says, per action, its arguments (types, ranges, enums, defaults and
the question to ask when one is missing), the VSS signals it sets, and its reply. The fast path,
the LLM grammar and prompt, validation, ``carvoice intents list`` and the docs are derived from it.

Actions only *plan* vehicle writes (:meth:`Action.plan`); the dialogue layer sends them and builds
the reply from what the vehicle acknowledged (:meth:`Action.reply`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from vehicle_bus.signals import (AIR_CONDITIONING, CABIN_TEMPERATURE, DESTINATION_LATITUDE,
                                  DESTINATION_LONGITUDE, DESTINATION_NAME, DISTANCE_TO_DESTINATION,
                                  FRONT_DEFROSTER, HVAC_STATIONS, LATITUDE, LONGITUDE, LOOKUP,
                                  LOOKUP_DISTANCE, LOOKUP_NAME, LOOKUP_TIME, MEDIA_ACTION, MEDIA_MUTED,
                                  MEDIA_SOURCE, MEDIA_VOLUME, OUTSIDE_TEMPERATURE, PLAYED_ARTIST,
                                  PLAYED_TRACK, REAR_DEFROSTER, RECIRCULATION, ROUTE_STATUS, SAVED_PLACES,
                                  SEAT_POSITIONS, SELECTED_URI, SIGNALS, SPEED, TIME_TO_DESTINATION,
                                  TRAFFIC_LEVEL, UNMUTE_IN, air_distribution, fan_speed, seat_heating,
                                  station_temperature, window_position)

SAVED_NAME = re.compile(r"[a-z][a-z0-9 ]{0,39}")
"""A saved place's name, as the navigation ECU accepts it."""

State = dict[str, Any]
Plan = list[tuple[str, Any]]
"""Vehicle writes: (VSS path, value), applied in order."""


DOMAIN_WORDS = {
    "climate": r"temperature|temp|degrees?|celsius|fahrenheit|warm\w*|hot\w*|heat\w*|cold\w*|cool\w*|chill\w*|"
               r"freez\w*|boiling|stuffy|fan|fans|air|ac|aircon|blow\w*|breeze|vents?|defrost\w*|demist\w*|"
               r"defog\w*|fog\w*|mist\w*|windscreen|windshield|windows?|seats?|recirculat\w*|climate|sweat\w*",
    "media": r"play\w*|music|songs?|tracks?|album|artist|band|listen\w*|hear|radio|station|fm|dab|volume|"
             r"loud\w*|quiet\w*|mute|unmute|sound|audio|skip|next|previous|pause|resume|bluetooth|usb|"
             r"stream\w*|put on|tunes?|sing\w*|jazz|rock|pop|classical|reggae|soul",
    "navigation": r"navigat\w*|route|directions?|drive|driving|take me|take us|get me|bring me|go|head|destination|"
                  r"way to|trip|guidance|map|find|nearest|closest|near|nearby|gas|fuel|petrol|charg\w*|park\w*|"
                  r"restaurant|eat|food|hungry|coffee|cafe|hotel|hospital|stay",
}
ETA_WORDS = r"arriv\w*|eta|how long|how far|how much longer|get there|there yet|destination|minutes|distance|left|" \
            r"further|farther|to go|kilomet\w*|km|miles"
"""Words one of which a sentence must contain for the LLM's reading of it as an action of that domain to stand."""
TEMPERATURE_WORDS = r"temp\w*|degrees?|heat\w*|warm\w*|cool\w*|cold\w*|chill\w*|freez\w*|hot\w*|boiling|stuffy|" \
                    r"sweat\w*|swelter\w*|roasting|nippy|frosty|climate|thermostat|fahrenheit|celsius"
SEAT_FEEL = r"heat\w*|warm\w*|cool\w*|cold|chill\w*|freez\w*|ventilat\w*|toast\w*|hot|frozen|icy"
"""Words of how a seat feels or is made to feel: a seat heating reading needs one of them *and* the seat."""
ACTION_WORDS = {
    "set_temperature": TEMPERATURE_WORDS + r"|side", "change_temperature": TEMPERATURE_WORDS + r"|side",
    "set_fan_speed": r"fans?|blower|air|airflow|ventilation|breeze|blow\w*",
    "change_fan_speed": r"fans?|blower|air|airflow|ventilation|breeze|blow\w*",
    "set_air_conditioning": r"ac|air ?con\w*|air conditioning|air conditioner|cooling|climate",
    "set_recirculation": r"recirc\w*|fresh air|outside air|fumes|smell\w*|exhaust",
    "set_defroster": r"defrost\w*|demist\w*|defog\w*|fogg?\w*|mist\w*|steam\w*|ic\w+|frost\w*|windscreen|windshield|"
                     r"rear window|back window",
    "set_air_distribution": r"air|airflow|vents?|blow\w*",
    "set_seat_heating": rf"seats?\b.*\b(?:{SEAT_FEEL})|(?:{SEAT_FEEL})\b.*\bseats?",
    "set_window": r"windows?",
    "play_media": r"play\w*|put (?:\w+ ){0,4}on|stick (?:\w+ ){0,4}on|listen\w*|hear|fancy|music|songs?|tunes?|album|artist|band|radio|station",
    "pause_media": r"pause|stop|hold|halt|silence",
    "next_track": r"next|skip|another|change|different|else|song|track|station|tune",
    "previous_track": r"previous|last|back|again|before|earlier",
    "set_volume": r"volume|loud\w*|quiet\w*|soft\w*|sound|music|tunes|radio|audio",
    "change_volume": r"volume|loud\w*|quiet\w*|soft\w*|sound|music|tunes|radio|audio|turn it|crank it|pump it|hear",
    "mute_media": r"mute|unmute|silence|quiet|sound",
    "set_media_source": r"radio|fm|dab|usb|bluetooth|phone|stream\w*|spotify|internet|online|source|input|aux",
    "cancel_navigation": r"cancel\w*|stop\w*|end|quit|clear|abort|forget|scrap|drop|navigation|route|guidance|"
                         r"directions|trip|destination",
    "ask_traffic": r"traffic|jams?|congest\w*|busy|roads?|delays?|hold ?ups?|queues?|rush hour",
    "ask_travel_time": r"how long|how far|distance|minutes|hours|km|kilomet\w*|miles|far|(?:driving|travel|journey|trip) time",
    "find_place": r"where|nearest|closest|find|any|near|nearby|around|is there",
    "save_place": r"save|remember|store|mark|bookmark",
}
"""Per action, words one of which a sentence must contain for a model's reading of it as that action to stand."""


class Refusal(Exception):
    """A request the assistant will not or cannot carry out; ``reason`` is spoken to the driver."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MissingArgument(Exception):
    """A required argument is missing; ``question`` asks the driver for it."""

    def __init__(self, action: str, argument: str, question: str):
        super().__init__(question)
        self.action, self.argument, self.question = action, argument, question


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
POI_PHRASES = {
    "fuel": ("gas station", "petrol station", "filling station", "service station", "gas", "petrol", "fuel", "diesel",
             "refuel", "fill up"),
    "charging": ("charging station", "charging point", "charger", "charging", "supercharger", "ev charger", "charge",
                 "recharge", "charging spot", "place to charge"),
    "parking": ("parking lot", "parking garage", "car park", "parking space", "parking spot", "parking", "place to park",
                "somewhere to park", "park"),
    "restaurant": ("restaurant", "something to eat", "place to eat", "somewhere to eat", "place to grab lunch",
                   "place to grab dinner", "place to grab a bite", "somewhere to grab a bite", "food", "diner", "lunch",
                   "dinner", "burger", "pizza", "bite to eat"),
    "cafe": ("coffee shop", "coffee", "cafe", "café", "coffee place"),
    "hotel": ("hotel", "motel", "place to stay", "somewhere to stay", "place to sleep", "somewhere to sleep"),
    "hospital": ("hospital", "emergency room", "er", "clinic", "doctor", "a and e"),
    "pharmacy": ("pharmacy", "chemist", "drugstore", "drug store", "apotheke"),
    "supermarket": ("supermarket", "grocery store", "grocery", "groceries", "food store"),
    "atm": ("atm", "cash machine", "cashpoint", "bank machine", "cash"),
}
"""Phrases naming each point-of-interest category the navigation ECU can find (the fast path's list too)."""
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


def setting(path: str) -> dict[str, float]:
    """The range of an argument that sets ``path``: the signal's own."""
    low, high = SIGNALS[path].bounds
    return {"minimum": low, "maximum": high}


def change_of(path: str) -> dict[str, float]:
    """The range of an argument that changes ``path`` by an amount: at most the signal's span, either way."""
    low, high = SIGNALS[path].bounds
    return {"minimum": low - high, "maximum": high - low}


def clamped(path: str, value: float) -> float:
    """``value`` moved into the range of ``path``."""
    low, high = SIGNALS[path].bounds
    return max(low, min(high, value))


@dataclass(frozen=True)
class Arg:
    """One argument of an action."""

    name: str
    type: Literal["number", "integer", "enum", "boolean", "text"]
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    ask: str | None = None
    """Question for the driver when the argument is missing; ``None`` with no default = optional."""

    @property
    def required(self) -> bool:
        return self.default is None and self.ask is not None

    def check(self, value: Any) -> Any:
        """The value in this argument's type, or :class:`Refusal` with a speakable reason."""
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            raise Refusal(f"I need yes or no for {self.description}.")
        if self.type in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise Refusal(f"I need a number for {self.description}.")
            out_of_range = (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum)  # compared before converting: ints of any size
            if out_of_range:
                raise Refusal(f"{self.description.capitalize()} must be between {self.minimum:g} and {self.maximum:g}.")
            return round(value) if self.type == "integer" else float(value)
        if not isinstance(value, str) or not value.strip():
            raise Refusal(f"I need a word for {self.description}.")
        value = value.strip()
        if self.type == "enum":
            value = value.lower() if self.choices[0].islower() else value.upper()
            if value not in self.choices:
                raise Refusal(f"{self.description.capitalize()} can be {', '.join(self.choices)}.")
        return value


@dataclass(frozen=True)
class Action:
    """One thing the driver can ask for."""

    name: str
    domain: Literal["climate", "media", "navigation", "info", "dialogue"]
    description: str
    args: tuple[Arg, ...]
    signals: tuple[str, ...]
    """The VSS signals this action writes (or reads, for questions)."""
    planner: Callable[[dict, State], Plan]
    replier: Callable[[dict, State], str]
    examples: tuple[str, ...] = ()
    kind: Literal["command", "question", "dialogue"] = "command"
    infer: Callable[[dict], dict] | None = None
    """Fills arguments implied by others before validation (a temperature of 72 is Fahrenheit)."""

    @property
    def vocabulary(self) -> str:
        """A regex of words that mark a sentence as plausibly asking for this action."""
        if self.name in ACTION_WORDS:
            return ACTION_WORDS[self.name]
        if self.name == "ask_eta":
            return ETA_WORDS
        if self.name == "ask_outside_temperature":
            return r"outside|out|outdoors|exterior"
        if self.name == "ask_cabin_temperature":
            return TEMPERATURE_WORDS
        if self.name == "ask_now_playing":
            return DOMAIN_WORDS["media"] + "|this|who"
        return DOMAIN_WORDS.get(self.domain, r"\w+")

    def is_plausible_for(self, text: str) -> bool:
        """Whether ``text`` (normalised) has any word of this action's vocabulary."""
        return re.search(rf"\b(?:{self.vocabulary})\b", text) is not None

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Checked arguments with defaults filled; raises :class:`MissingArgument` or :class:`Refusal`."""
        if self.infer:
            args = self.infer(args)
        unknown = set(args) - {a.name for a in self.args}
        if unknown:
            raise Refusal(f"{self.name} takes no {', '.join(sorted(unknown))}.")
        checked = {}
        for arg in self.args:
            value = args.get(arg.name)
            if value is None or (arg.type == "text" and isinstance(value, str) and not value.strip()):
                if arg.required:
                    raise MissingArgument(self.name, arg.name, arg.ask)
                if arg.default is not None:
                    checked[arg.name] = arg.default
                continue
            checked[arg.name] = arg.check(value)
        return checked

    def plan(self, args: dict[str, Any], state: State) -> Plan:
        return self.planner(args, state)

    def reply(self, args: dict[str, Any], state: State) -> str:
        """The sentence to speak, from the vehicle's state after it acknowledged the plan."""
        return self.replier(args, state)

    def signature(self) -> str:
        params = ", ".join(f"{a.name}{'' if a.required else '?'}: {_type_text(a)}" for a in self.args)
        return f"{self.name}({params})"


def _type_text(arg: Arg) -> str:
    if arg.choices:
        return "|".join(arg.choices)
    if arg.minimum is not None:
        return f"{arg.type} {arg.minimum:g}..{arg.maximum:g}"
    return arg.type


# -- argument kinds shared by several actions -------------------------------------------------------
def zone_arg(default: str = "front") -> Arg:
    return Arg("zone", "enum", "climate zone", tuple(CLIMATE_ZONES), default=default)


def seat_arg(name: str, default: str) -> Arg:
    return Arg(name, "enum", name, tuple(SEATS), default=default)


def on_arg(what: str) -> Arg:
    return Arg("on", "boolean", f"whether {what} is on", default=True)


# -- planners and repliers --------------------------------------------------------------------------
def _stations(zone: str, signal_of: Callable[[str], str]) -> list[str]:
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
    return [(path, celsius) for path in _stations(zone, station_temperature)]


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
    for path in _stations(args["zone"], station_temperature):
        target = state[path] + args["delta"]
        if not low <= target <= high:
            limit = "warmest" if args["delta"] > 0 else "coolest"
            raise Refusal(f"It's already at {state[path]:g} degrees; {high if args['delta'] > 0 else low:g} is the "
                          f"{limit} I can set.")
        plan.append((path, target))
    return plan


def reply_temperature(args: dict, state: State) -> str:
    value = state[_stations(args["zone"], station_temperature)[0]]
    if args.get("unit") == "fahrenheit":
        return f"Temperature set to {args['value']:g} degrees Fahrenheit for {PLACE_NAMES[args['zone']]}."
    return f"Temperature set to {value:g} degrees for {PLACE_NAMES[args['zone']]}."


def plan_set_fan(args: dict, state: State) -> Plan:
    return [(path, args["level"]) for path in _stations(args["zone"], fan_speed)]


def plan_change_fan(args: dict, state: State) -> Plan:
    return [(path, clamped(path, state[path] + args["delta"])) for path in _stations(args["zone"], fan_speed)]


def reply_fan(args: dict, state: State) -> str:
    level = state[_stations(args["zone"], fan_speed)[0]]
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
    return [(path, args["direction"]) for path in _stations(args["zone"], air_distribution)]


def reply_air_distribution(args: dict, state: State) -> str:
    where = {"UP": "the windscreen", "MIDDLE": "the face", "DOWN": "the feet"}[args["direction"]]
    return f"Air directed to {where}."


def _seat_paths(seat: str) -> list[str]:
    return [seat_heating(s) for s in SEATS[seat]]


def plan_seat(args: dict, state: State) -> Plan:
    return [(path, args["level"]) for path in _seat_paths(args["seat"])]


def reply_seat(args: dict, state: State) -> str:
    level, whose = state[_seat_paths(args["seat"])[0]], PLACE_NAMES[args["seat"]]
    if level == 0:
        return f"Seat heating off for {whose}."
    return f"Seat {'heating' if level > 0 else 'cooling'} at {abs(level)} percent for {whose}."


def _window_paths(window: str) -> list[str]:
    return [window_position(s) for s in SEATS[window]]


def plan_window(args: dict, state: State) -> Plan:
    if args["position"] > 50 and state[SPEED] > WINDOW_FAST_KMH:
        raise Refusal(f"At over {WINDOW_FAST_KMH:g} kilometres per hour I only open the windows half way.")
    return [(path, args["position"]) for path in _window_paths(args["window"])]


def reply_window(args: dict, state: State) -> str:
    position = state[_window_paths(args["window"])[0]]
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


# -- the catalogue ----------------------------------------------------------------------------------
def _actions() -> list[Action]:
    return [
        Action("set_temperature", "climate", "set the cabin temperature",
               (Arg("value", "number", "the temperature", minimum=-50, maximum=100, ask="What temperature would you like?"),
                Arg("unit", "enum", "temperature unit", ("celsius", "fahrenheit"), default="celsius"), zone_arg()),
               tuple(_stations("all", station_temperature)), plan_set_temperature, reply_temperature,
               ("set the temperature to 21", "make it 70 degrees fahrenheit", "driver side 22 degrees"),
               infer=infer_unit),
        Action("change_temperature", "climate", "make it warmer (delta > 0) or cooler (delta < 0), in degrees",
               (Arg("delta", "number", "the temperature change",
                    **change_of(station_temperature(DRIVER_STATION)), default=1.0), zone_arg()),
               tuple(_stations("all", station_temperature)), plan_change_temperature, reply_temperature,
               ("warmer", "two degrees cooler", "I'm cold")),
        Action("set_fan_speed", "climate", "set the fan speed in percent; 0 turns the fan off",
               (Arg("level", "integer", "the fan speed", **setting(fan_speed(DRIVER_STATION)),
                    ask="How strong should the fan be?"), zone_arg()),
               tuple(_stations("all", fan_speed)), plan_set_fan, reply_fan,
               ("fan to half", "fan off", "max fan")),
        Action("change_fan_speed", "climate", "more (delta > 0) or less (delta < 0) fan, in percent",
               (Arg("delta", "integer", "the fan change", **change_of(fan_speed(DRIVER_STATION)), default=20),
                zone_arg()),
               tuple(_stations("all", fan_speed)), plan_change_fan, reply_fan, ("more air", "less fan")),
        Action("set_air_conditioning", "climate", "switch the air conditioning on or off", (on_arg("AC"),),
               (AIR_CONDITIONING,), switch(AIR_CONDITIONING),
               said_switch("Air conditioning", AIR_CONDITIONING), ("turn on the AC", "AC off")),
        Action("set_recirculation", "climate", "switch air recirculation on or off", (on_arg("recirculation"),),
               (RECIRCULATION,), switch(RECIRCULATION),
               said_switch("Recirculation", RECIRCULATION), ("recirculate the air",)),
        Action("set_defroster", "climate", "switch the front (windscreen) or rear window defroster",
               (Arg("window", "enum", "which defroster", ("front", "rear"), default="front"), on_arg("the defroster")),
               (FRONT_DEFROSTER, REAR_DEFROSTER), plan_defroster,
               reply_defroster, ("defrost the windscreen", "rear defroster off")),
        Action("set_air_distribution", "climate", "direct the air: UP windscreen, MIDDLE face, DOWN feet",
               (Arg("direction", "enum", "air direction", AIR_DIRECTIONS, ask="Feet, face or windscreen?"),
                zone_arg()),
               tuple(_stations("all", air_distribution)), plan_air_distribution, reply_air_distribution,
               ("air to my feet",)),
        Action("set_seat_heating", "climate", "seat heating (level > 0) or cooling (level < 0) in percent; 0 = off",
               (Arg("level", "integer", "the seat level", **setting(seat_heating(DRIVER_SEAT)), default=66),
                seat_arg("seat", "driver")),
               tuple(_seat_paths("all")), plan_seat, reply_seat, ("heat my seat", "passenger seat heating off")),
        Action("set_window", "climate", "open (position 100) or close (0) windows, in percent",
               (Arg("position", "integer", "the window opening", **setting(window_position(DRIVER_SEAT)),
                    ask="Open or close it?"),
                seat_arg("window", "driver")),
               tuple(_window_paths("all")), plan_window, reply_window, ("open my window", "close all windows")),
        Action("play_media", "media", "play music: an artist, album, song, station or genre; empty resumes",
               (Arg("query", "text", "what to play"),), (SELECTED_URI, MEDIA_ACTION),
               plan_play, reply_play, ("play some jazz", "play Bohemian Rhapsody", "resume the music")),
        Action("pause_media", "media", "pause playback", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "STOP")], reply_pause, ("pause the music",)),
        Action("next_track", "media", "skip to the next track or station", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "SKIP_FORWARD")], reply_play, ("next song",)),
        Action("previous_track", "media", "go back to the previous track or station", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "SKIP_BACKWARD")], reply_play, ("previous track",)),
        Action("set_volume", "media", "set the media volume in percent",
               (Arg("level", "integer", "the volume", **setting(MEDIA_VOLUME), ask="What volume?"),),
               (MEDIA_VOLUME,), plan_volume, reply_volume, ("volume to 30",)),
        Action("change_volume", "media", "louder (delta > 0) or quieter (delta < 0), in percent",
               (Arg("delta", "integer", "the volume change", **change_of(MEDIA_VOLUME), default=10),),
               (MEDIA_VOLUME,), plan_change_volume, reply_volume, ("louder", "turn it down")),
        Action("mute_media", "media", "mute (on) or unmute (off) the media, optionally for some minutes",
               (on_arg("mute"), Arg("minutes", "number", "how long to stay muted", minimum=1, maximum=720)),
               (MEDIA_MUTED, UNMUTE_IN), plan_mute, reply_mute, ("mute", "mute for ten minutes", "unmute")),
        Action("set_media_source", "media", "switch the audio source",
               (Arg("source", "enum", "the audio source", tuple(SOURCES), ask="Which source?"),),
               (MEDIA_SOURCE,), switch(MEDIA_SOURCE, "source"), reply_source,
               ("switch to bluetooth", "play the radio")),
        Action("navigate_to", "navigation",
               "start route guidance to a city, or to poi:<category> for the nearest " + "/".join(POI_CATEGORIES),
               (Arg("destination", "text", "the destination", ask="Where would you like to go?"),),
               (DESTINATION_NAME,), plan_navigate, reply_navigate,
               ("navigate to Munich", "take me to the nearest charging station")),
        Action("cancel_navigation", "navigation", "stop route guidance", (), (DESTINATION_NAME,),
               plan_cancel_navigation, lambda args, state: "Route guidance stopped.", ("cancel the route",)),
        Action("save_place", "navigation", "save the destination (or, without a route, where the car is) by name",
               (Arg("name", "text", "the name to save it as", ask="What should I call it?"),), (SAVED_PLACES,),
               plan_save_place, reply_save_place, ("save this as work", "remember this place as home")),
        Action("ask_travel_time", "navigation", "tell how long and how far it is to a place, without starting a route",
               (Arg("destination", "text", "the place", ask="To where?"),), (LOOKUP,), plan_look_up,
               reply_travel_time, ("how long to drive to Munich", "how far is it to Hamburg"), kind="question"),
        Action("find_place", "navigation", "find the nearest poi:<category> without starting a route",
               (Arg("destination", "text", "what to find", ask="What are you looking for?"),), (LOOKUP,),
               plan_look_up, reply_find_place, ("where is the nearest pharmacy", "is there a charger nearby"),
               kind="question"),
        Action("ask_traffic", "info", "tell how the traffic is on the route or around here", (),
               (TRAFFIC_LEVEL,), no_plan, reply_traffic, ("how's the traffic", "is there a jam on my route"),
               kind="question"),
        Action("ask_cabin_temperature", "info", "tell the temperature inside the car", (),
               (CABIN_TEMPERATURE,), no_plan, reply_cabin_temperature,
               ("what's the temperature inside",), kind="question"),
        Action("ask_outside_temperature", "info", "tell the temperature outside", (),
               (OUTSIDE_TEMPERATURE,), no_plan, reply_outside_temperature,
               ("how cold is it outside",), kind="question"),
        Action("ask_now_playing", "info", "tell what is playing", (), (PLAYED_TRACK,), no_plan,
               reply_now_playing, ("what's playing",), kind="question"),
        Action("ask_eta", "info", "tell the time and distance to the destination", (),
               (TIME_TO_DESTINATION, DISTANCE_TO_DESTINATION), no_plan, reply_eta,
               ("how long until we arrive",), kind="question"),
        Action("undo", "dialogue", "undo the last action", (), (), no_plan, reply_undone, ("cancel that",),
               kind="dialogue"),
    ]


CATALOGUE: dict[str, Action] = {action.name: action for action in _actions()}


def get_action(name: str) -> Action:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise Refusal("Sorry, I can't do that in this car.") from None
