"""What an action of the catalogue is: its arguments and their checks, the words that make a reading of it
plausible, and the errors validation raises. The table of actions itself is :mod:`intents.catalogue`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from vehicle_bus.signals import SIGNALS

SAVED_NAME = re.compile(r"[a-z][a-z0-9 ]{0,39}")
"""A saved place's name, as the navigation ECU accepts it."""

State = dict[str, Any]
Plan = list[tuple[str, Any]]
"""Vehicle writes: (VSS path, value), applied in order."""


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
    "pharmacy": ("pharmacy", "chemist", "drugstore", "drug store", "apotheke", "painkillers", "medicine", "medication"),
    "supermarket": ("supermarket", "grocery store", "grocery", "groceries", "food store"),
    "atm": ("atm", "cash machine", "cashpoint", "bank machine", "cash"),
}
"""Phrases naming each point-of-interest category the navigation ECU can find (the fast path's list too)."""
POI_WORDS = "|".join(re.escape(phrase) for phrases in POI_PHRASES.values() for phrase in phrases)
GENRES = ("rock", "classic rock", "hard rock", "soft rock", "pop", "jazz", "smooth jazz", "blues", "classical", "country",
          "reggae", "soul", "funk", "disco", "folk", "punk", "metal", "heavy metal", "hip hop", "rap", "r and b", "techno",
          "electronic", "indie", "gospel", "opera", "salsa", "ambient", "lo fi", "grunge", "oldies", "motown")
DECADES = ("fifties", "sixties", "seventies", "eighties", "nineties", "50s", "60s", "70s", "80s", "90s",
           "2000s", "1950s", "1960s", "1970s", "1980s", "1990s")
GENRE_PHRASES = tuple(dict.fromkeys((*GENRES, *DECADES, *(f"{decade} {genre}" for decade in DECADES for genre in GENRES))))
"""Kinds of music named without a title ("some eighties rock"): what to play, whatever frame it is said in."""
GENRE_WORDS = "|".join(re.escape(phrase) for phrase in (*GENRES, *DECADES))

DOMAIN_WORDS = {
    "climate": r"temperature|temp|degrees?|celsius|fahrenheit|warm\w*|hot\w*|heat\w*|cold\w*|cool\w*|chill\w*|"
               r"freez\w*|boiling|stuffy|fan|fans|air|ac|aircon|blow\w*|breeze|vents?|defrost\w*|demist\w*|"
               r"defog\w*|fog\w*|mist\w*|windscreen|windshield|windows?|seats?|recirculat\w*|climate|sweat\w*",
    "media": r"play\w*|music|songs?|tracks?|album|artist|band|listen\w*|hear|radio|station|fm|dab|volume|"
             r"loud\w*|quiet\w*|mute|unmute|sound|audio|skip|next|previous|pause|resume|bluetooth|usb|"
             rf"stream\w*|put on|tunes?|sing\w*|{GENRE_WORDS}",
    "navigation": r"navigat\w*|route|directions?|drive|driving|take me|take us|get me|bring me|go|head|destination|"
                  r"way to|trip|guidance|map|find|nearest|closest|near|nearby|gas|fuel|petrol|charg\w*|park\w*|"
                  rf"eat|hungry|thirsty|sleep\w*|tired|{POI_WORDS}",
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
    "play_media": r"play\w*|put (?:\w+ ){0,4}on|stick (?:\w+ ){0,4}on|listen\w*|hear|fancy|music|songs?|tunes?|album|artist|"
                  rf"band|radio|station|{GENRE_WORDS}",
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
