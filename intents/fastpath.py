"""The fast path: a deterministic matcher for the commands drivers say most, in well under a millisecond.

It normalises the sentence, splits it into clauses ("turn on the AC and set it to 20"), and matches
each clause against the rules below, in order. Each rule yields a catalogue call. When any clause
matches no rule the whole sentence is left to the LLM path (``parse`` returns ``None``): the fast path
never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from intents.catalogue import CATALOGUE, destination_of
from intents.text import normalize, with_digits


@dataclass(frozen=True)
class Call:
    """One catalogue action with its (unvalidated) arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({args})"


@dataclass(frozen=True)
class Clause:
    words: str
    """Normalised text, numbers still in words (for names: "One Love")."""
    digits: str
    """The same with numbers as digits."""
    previous: Call | None
    """The call before this one (earlier in the sentence, or the last turn): what "it" and "warmer" refer to."""


Rule = Callable[[Clause], Call | None]
UNSAFE = re.compile(r"\b(?:brakes?|airbags?|steering|accelerat\w*|speed up|go faster|drive faster|cruise control|"
                    r"autopilot|self driving|turn off the engine|engine off|stop the engine|unlock|lock the doors|"
                    r"open the (?:doors?|trunk|boot|bonnet|hood)|handbrake|parking brake|gear|traction|esp|abs|"
                    r"seat ?belts?|headlights?|lights off|horn)\b")
CLAUSE_SPLIT = re.compile(r"\s*(?:,\s*)?\b(?:and then|and also|and|then|also|plus)\b\s*")
NUMBER = r"(-?\d+(?:\.\d+)?)"


def _on(text: str, default: bool = True) -> bool:
    if re.search(r"\b(?:off|disable|deactivate|stop|no more|without|kill|do not need|no longer|anymore|not needed)\b",
                 text):
        return False
    if re.search(r"\b(?:on|enable|activate|start|use)\b", text):
        return True
    return default


def climate_zone(text: str) -> str | None:
    if re.search(r"\b(?:everyone|everybody|everywhere|all zones|whole car|all seats|both sides|all)\b", text):
        return "all"
    if re.search(r"\b(?:passenger|co ?driver|shotgun)\b", text):
        return "passenger"
    if re.search(r"\b(?:rear|back|kids|children)\b", text):
        return "rear"
    if re.search(r"\b(?:driver|my side|for me|my)\b", text):
        return "driver"
    if re.search(r"\bfront\b", text):
        return "front"
    return None


def seat_place(text: str) -> str | None:
    for pattern, place in ((r"\b(?:rear|back) left\b", "rear_left"), (r"\b(?:rear|back) right\b", "rear_right")):
        if re.search(pattern, text):
            return place
    zone = climate_zone(text)
    return zone


def _args(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


# -- climate ----------------------------------------------------------------------------------------
TEMPERATURE_WORDS = r"(?:temperature|temp|heat|heating|climate|thermostat|cabin|degrees?|it|that)"


def set_temperature(c: Clause) -> Call | None:
    t = c.digits
    if re.fullmatch(r"(?:set|change|adjust) (?:the )?(?:temperature|temp)", t):
        return Call("set_temperature")
    match = (re.search(rf"\b{TEMPERATURE_WORDS}\b.*?\b(?:to|at|on)\s+{NUMBER}", t)
             or re.search(rf"(?:^|\b(?:set|make|put|keep|change|want|like|have)\b.*?)\b{NUMBER}\s*(?:degrees?|fahrenheit|celsius)", t)
             or re.search(rf"\b{NUMBER}\s*degrees?\b", t)
         or re.search(rf"\b(?:want|like|make|have|keep|set) it (?:at |to )?{NUMBER}(?: in here| inside)?$", t)
             or re.search(rf"\b(?:driver|passenger|rear|back|front|my side)(?: side| seat)?\s+(?:to\s+)?{NUMBER}$", t))
    if not match or (re.search(r"\b(?:fan|volume|window|seat heat|percent)\b", t) and "degree" not in t):
        return None
    if re.search(rf"{WARMER}|{COOLER}|\b(?:up|down|higher|lower|more|less|by)\b", t):
        return None  # relative: "two degrees up"
    if re.search(r"\bit\b|\bthat\b", t) and "degree" not in t and "temp" not in t and c.previous and \
            not c.previous.name.endswith("temperature") and c.previous.name != "set_air_conditioning":
        return None
    value = float(match.group(1))
    unit = "fahrenheit" if re.search(r"\bfahrenheit\b|\bf$", t) or (value >= 50 and "celsius" not in t) else None
    zone = climate_zone(t) or (c.previous.args.get("zone") if c.previous and "zone" in c.previous.args else None)
    return Call("set_temperature", _args(value=value, unit=unit, zone=zone))


WARMER = r"\b(?:warmer|hotter|warm(?: it)? up|heat(?: it)? up|increase the (?:temperature|heat)|raise the temperature|" \
         r"turn up the (?:heat|temperature)|temperature up|up the (?:heat|temperature)|higher temperature)\b"
COOLER = r"\b(?:cooler|colder|cool(?: it)? down|chill|decrease the (?:temperature|heat)|lower the temperature|" \
         r"drop the (?:temp|temperature|heat)|reduce the temp|" \
         r"turn down the (?:heat|temperature)|temperature down|reduce the (?:temperature|heat)|less heat)\b"
FEELINGS = ((r"\b(?:am|are|is|feel|feels|feeling|getting) (?:a bit |a little |so |very |really |too |quite )?(?:cold|chilly)\b", 1.0),
            (r"\b(?:freezing|frozen)\b", 2.0),
            (r"\b(?:am|are|is|feel|feels|feeling|getting) (?:a bit |a little |so |very |really |too |quite )?(?:hot|warm|stuffy)\b", -1.0),
            (r"\b(?:boiling|roasting|sweating)\b", -2.0))


def change_temperature(c: Clause) -> Call | None:
    t = c.digits
    sign = 1.0 if re.search(WARMER, t) else -1.0 if re.search(COOLER, t) else 0.0
    amount = re.search(rf"{NUMBER}\s*degrees?", t) or re.search(rf"\bby\s+{NUMBER}", t)
    if not sign:
        if amount and re.search(r"\b(?:up|higher|more)\b", t):
            sign = 1.0
        elif amount and re.search(r"\b(?:down|lower|less)\b", t):
            sign = -1.0
        else:
            for pattern, delta in FEELINGS:
                if re.search(pattern, t) and "outside" not in t:
                    return Call("change_temperature", _args(delta=delta, zone=climate_zone(t)))
            if re.fullmatch(r"(?:a (?:bit|little) |a little bit |even |slightly )?(?:more|warmer|higher)", t):
                sign = 1.0
            else:
                return None
    delta = sign * float(amount.group(1)) if amount else sign
    zone = climate_zone(t)
    if zone is None and c.previous and c.previous.name in ("set_temperature", "change_temperature"):
        zone = c.previous.args.get("zone")
    return Call("change_temperature", _args(delta=delta, zone=zone))


FAN_LEVELS = {"crank": 100, "blast": 100, "max": 100, "maximum": 100, "full": 100, "highest": 100, "high": 75, "medium": 50, "half": 50,
              "low": 25, "lowest": 10, "minimum": 10}


def fan(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\b(?:fan|fans|blower|air flow|airflow|ventilation|more air|less air)\b", t):
        return None
    zone = climate_zone(t)
    if re.search(r"\b(?:more|stronger|harder|increase|up|faster)\b", t) and not re.search(r"\bto\b", t):
        return Call("change_fan_speed", _args(delta=20, zone=zone))
    if re.search(r"\b(?:less|weaker|decrease|down|slower|lower)\b", t) and not re.search(r"\bto\b", t):
        return Call("change_fan_speed", _args(delta=-20, zone=zone))
    if level := re.search(rf"{NUMBER}", t):
        value = round(float(level.group(1)))
        value = value * 10 if value <= 10 and "percent" not in t else value  # "fan speed three": level 3 of 10
        return Call("set_fan_speed", _args(level=value, zone=zone))
    for word, level in FAN_LEVELS.items():
        if re.search(rf"\b{word}\b", t):
            return Call("set_fan_speed", _args(level=level, zone=zone))
    if re.search(r"\b(?:off|stop|disable)\b", t):
        return Call("set_fan_speed", _args(level=0, zone=zone))
    if re.search(r"\b(?:on|start)\b", t):
        return Call("set_fan_speed", _args(level=50, zone=zone))
    return None


def air_conditioning(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\b(?:ac|air ?con|aircon|air condition\w*|cooling system)\b", t):
        return None
    if re.search(rf"{NUMBER}", t):
        return None  # "set the AC to 20" is a temperature
    return Call("set_air_conditioning", {"on": _on(t)})


def recirculation(c: Clause) -> Call | None:
    t = c.digits
    if re.search(r"\brecirculat\w*\b", t):
        return Call("set_recirculation", {"on": _on(t)})
    if re.search(r"\bfresh air\b|\boutside air\b", t):
        return Call("set_recirculation", {"on": False})
    return None


def defroster(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\b(?:defrost\w*|demist\w*|defog\w*|de-?ice\w*)\b|\bfogg(?:ed|y) up\b", t):
        return None
    window = "rear" if re.search(r"\b(?:rear|back)\b", t) else "front"
    return Call("set_defroster", {"window": window, "on": _on(t)})


def air_distribution(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\b(?:air|airflow|air flow|vents?|blow\w*)\b", t):
        return None
    for pattern, direction in ((r"\b(?:feet|foot|floor|footwell|legs)\b", "DOWN"),
                               (r"\b(?:face|body|chest|upper)\b", "MIDDLE"),
                               (r"\b(?:windscreen|windshield|window|glass)\b", "UP")):
        if re.search(pattern, t):
            return Call("set_air_distribution", _args(direction=direction, zone=climate_zone(t)))
    return None


SEAT_LEVELS = {"low": 33, "medium": 66, "high": 100, "max": 100, "maximum": 100, "full": 100, "minimum": 33}


def seat(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\bseats?\b", t) or not re.search(r"\b(?:heat\w*|warm\w*|cool\w*|ventilat\w*|chill)\b", t):
        return None
    place = seat_place(re.sub(r"\bseats?\b", "", t)) or ("front" if re.search(r"\bseats\b", t) else None)
    cooling = bool(re.search(r"\b(?:cool\w*|ventilat\w*|chill)\b", t))
    level = 66
    if re.search(r"\b(?:off|stop|disable)\b", t):
        level = 0
    elif number := re.search(rf"{NUMBER}", t):
        level = round(float(number.group(1)))
        level = 3 * level if level <= 3 and "percent" not in t else level  # "level 2" of 3
        level = min(level, 100)
    else:
        level = next((v for w, v in SEAT_LEVELS.items() if re.search(rf"\b{w}\b", t)), 66)
    return Call("set_seat_heating", _args(level=-level if cooling else level, seat=place))


WINDOW_AMOUNTS = ((r"\b(?:crack|a (?:little|bit)|slightly|a crack|a little bit|an inch)\b", 20),
                  (r"\b(?:half ?way|half|halfway)\b", 50))


def window(c: Clause) -> Call | None:
    t = c.digits
    if not re.search(r"\bwindows?\b", t) or re.search(r"\b(?:defrost|demist|defog|air)\b", t):
        return None
    place = seat_place(t) or ("all" if re.search(r"\bwindows\b", t) else None)
    if re.search(r"\b(?:close|shut|raise|roll (?:it |them )?up|up)\b", t):
        return Call("set_window", _args(position=0, window=place))
    if not re.search(r"\b(?:open|lower|roll (?:it |them )?down|down|crack)\b", t):
        return None
    position = 100
    if number := re.search(rf"{NUMBER}\s*(?:percent)?", t):
        position = round(float(number.group(1)))
    else:
        position = next((v for pattern, v in WINDOW_AMOUNTS if re.search(pattern, t)), 100)
    return Call("set_window", _args(position=position, window=place))


# -- media ------------------------------------------------------------------------------------------
SOURCE_WORDS = ((r"\b(?:dab|digital radio)\b", "DAB"), (r"\b(?:fm|radio)\b", "FM"), (r"\busb\b", "USB"),
                (r"\b(?:bluetooth|my phone|phone)\b", "BLUETOOTH"),
                (r"\b(?:streaming|internet|online|spotify)\b", "INTERNET"))


def media_source(c: Clause) -> Call | None:
    t = c.words
    if not re.search(r"\b(?:switch|change|go|turn|put|use|play|listen|set)\b|\bsource\b|^(?:the )?(?:radio|fm)$", t):
        return None
    for pattern, source in SOURCE_WORDS:
        if re.fullmatch(rf"(?:switch|change|go|turn|put|use|play|listen|set)?(?: (?:it|the source|source|audio|music|"
                        rf"over|back|on))*(?: to| on| the| some| from| my)*\s*(?:the )?{pattern[2:-2]}"
                        rf"(?: radio| audio| music| source| input)?", t):
            return Call("set_media_source", {"source": source})
    return None


def pause(c: Clause) -> Call | None:
    if re.fullmatch(r"(?:pause|stop|hold|halt)(?: (?:the|this|my))?(?: music| song| track| playback| media| audio|"
                    r" radio| playing| it)*|(?:stop|quit) playing(?: music)?|silence|be quiet", c.words):
        return Call("pause_media")
    return None


def resume(c: Clause) -> Call | None:
    if re.fullmatch(r"(?:resume|continue|unpause|play|start)(?: (?:the|my))?(?: music| song| track| playback| media|"
                    r" audio| playing| it| again)*|play something|play some music|play music|music on", c.words):
        return Call("play_media")
    return None


def skip(c: Clause) -> Call | None:
    t = c.words
    if re.search(r"\b(?:next|skip|forward)\b", t) and re.search(r"\b(?:song|track|station|next|skip|one|this)\b", t):
        return Call("next_track")
    if re.search(r"\b(?:previous|last|back|earlier)\b", t) and re.search(r"\b(?:song|track|station|one)\b", t) \
            and not re.search(r"\bplay (?:the )?last\b(?! (?:song|track|one))", t):
        return Call("previous_track")
    if re.fullmatch(r"(?:i do not like this(?: song| one)?|not this(?: song| one)?|something else|another(?: one| song)"
                    r"|change (?:the |this )?(?:song|track|station|channel))", t):
        return Call("next_track")
    return None


def volume(c: Clause) -> Call | None:
    t = c.digits
    if re.fullmatch(r"(?:turn (?:it|the music|the volume) up|turn up (?:the )?(?:volume|music|sound|it)|louder|"
                    r"(?:a (?:bit|little) )?louder|volume up|increase (?:the )?volume|raise (?:the )?volume|pump it up)"
                    r"(?: (?:a (?:bit|little)|please))?", t):
        return Call("change_volume", {"delta": 10})
    if re.fullmatch(r"(?:turn (?:it|the music|the volume) down|turn down (?:the )?(?:volume|music|sound|it)|quieter|"
                    r"(?:a (?:bit|little) )?quieter|softer|volume down|decrease (?:the )?volume|lower (?:the )?volume|"
                    r"reduce (?:the )?volume|(?:it is |that is |this is |music is )?(?:way )?too loud)"
                    r"(?: (?:a (?:bit|little)|please))?", t):
        return Call("change_volume", {"delta": -10})
    if re.search(r"\b(?:louder|quieter|softer)\b", t) and not re.search(r"\b(?:fan|air)\b", t):
        return Call("change_volume", {"delta": 10 if "louder" in t else -10})
    if not re.search(r"\b(?:volume|sound level)\b", t):
        return None
    if level := re.search(rf"{NUMBER}", t):
        return Call("set_volume", {"level": round(float(level.group(1)))})
    for word, level in (("max", 100), ("maximum", 100), ("full", 100), ("half", 50), ("low", 20), ("minimum", 5)):
        if re.search(rf"\b{word}\b", t):
            return Call("set_volume", {"level": level})
    return Call("set_volume") if re.fullmatch(r"(?:set|change|adjust) (?:the )?volume", t) else None


def mute(c: Clause) -> Call | None:
    t = c.words
    if re.fullmatch(r"unmute(?: the)?(?: music| audio| sound| media| radio| it)?|sound (?:back )?on", t):
        return Call("mute_media", {"on": False})
    if re.fullmatch(r"mute(?: the)?(?: music| audio| sound| media| radio| it)?|sound off", t):
        return Call("mute_media", {"on": True})
    return None


PLAY = re.compile(r"^(?:play|put on|listen to|hear|i want to hear|let me hear|queue|shuffle|play me|tune (?:in )?to)\s+(?:some |the |a )?"
                  r"(?:(?:music|songs?|album|track) (?:by |from |of )?)?(?P<query>.+?)(?: please)?$")


def play(c: Clause) -> Call | None:
    match = PLAY.match(c.words)
    if not match or re.search(r"\b(?:podcast|audiobook|video|movie|netflix|youtube)\b", c.words):
        return None
    query = re.sub(r"\s+(?:on|from) (?:the )?(?:radio|spotify|usb|bluetooth)$", "", match["query"])
    query = re.sub(r"^(?:something|anything|songs|music|stuff) (?:by|from) ", "", query)
    return Call("play_media", {"query": query})


# -- navigation -------------------------------------------------------------------------------------
NAVIGATE = re.compile(r"^(?:navigate|drive|take me|take us|bring me|get me|go|head|directions|route|guide me|"
                      r"(?:i (?:need|have|want) to |we (?:need|have|want) to )?get|"
                      r"navigation|set (?:a |the )?(?:destination|route|course|navigation)|find (?:me )?a route|"
                      r"let us go|i want to go|i need to go|show me the way|how do i get|start navigation)"
                      r"(?:\s+(?:to|for|towards|over to|home to))?(?:\s+(?P<dest>.+))?$")
FIND = re.compile(r"^(?:find|search for|look for|where is|show me|i need|we need|locate|get me to|is there)\s+"
                  r"(?:me |us )?(?P<dest>.+)$")


def navigate(c: Clause) -> Call | None:
    t = c.words
    if re.search(r"\b(?:cancel|stop|end|quit|clear)\b.*\b(?:navigation|navigating|route|guidance|directions|trip)\b", t):
        return Call("cancel_navigation")
    if match := NAVIGATE.match(t):
        dest = match["dest"]
        if dest and (re.fullmatch(r"(?:there|somewhere)", dest)
                     or re.search(r"\b(?:track|song|music|album)\b|\b(?:radio|next|previous|last) station\b", dest)):
            return None
        return Call("navigate_to", _args(destination=destination_of(dest) if dest else None))
    if (match := FIND.match(t)) and destination_of(match["dest"]).startswith("poi:"):
        return Call("navigate_to", {"destination": destination_of(match["dest"])})
    for pattern, category in ((r"i (?:am|feel) hungry|i need to eat|where can i eat", "restaurant"),
                              (r"where can i park|i need to park", "parking"),
                              (r"(?:i am|we are|car is|battery is) (?:running )?(?:low on|out of) (?:gas|fuel|petrol)"
                               r"|(?:need|running low on) (?:gas|fuel|petrol)|tank is (?:almost )?empty", "fuel"),
                              (r"battery is (?:low|almost empty|running low)|need to charge|low battery", "charging")):
        if re.search(pattern, t):
            return Call("navigate_to", {"destination": f"poi:{category}"})
    return None


# -- questions and dialogue -------------------------------------------------------------------------
QUESTIONS = (
    (r"\b(?:how long|how much longer|how far|when (?:will|do|are) we|eta|arrival time|time to (?:the )?destination|"
     r"are we there yet|distance to|time left|minutes left|when do we arrive|what time (?:will|do|are|should) we|"
     r"(?:kilomet\w*|km|miles) (?:are )?left)\b", "ask_eta"),
    (r"\b(?:what is|what song|which song|who is|who sings|what am i listening|name of this|what track|"
     r"which track|what album|who is this)\b.*\b(?:playing|song|track|listening|singing|this|album|artist|on)\b|"
     r"^what is on$|^who is this$|^what am i listening to$|\b(?:which|what) (?:artist|band|singer)\b", "ask_now_playing"),
    (r"\b(?:temperature|how (?:cold|warm|hot)|degrees|is it (?:cold|warm|hot|freezing))\b.*\b(?:outside|out there|"
     r"exterior)\b", "ask_outside_temperature"),
    (r"\b(?:what is|what|how (?:cold|warm|hot)|tell me)\b.*\b(?:temperature|in here|inside|cabin|degrees)\b", "ask_cabin_temperature"),
)


def question(c: Clause) -> Call | None:
    for pattern, name in QUESTIONS:
        if re.search(pattern, c.words) and not re.search(r"\b(?:set|make|change|turn)\b", c.words):
            return Call(name)
    return None


PLACES = ("driver", "passenger", "rear", "front", "all", "rear_left", "rear_right")


def follow_up(c: Clause) -> Call | None:
    """Sentences that only make sense after another request: "same for the passenger", "undo that"."""
    t = c.words
    if re.fullmatch(r"(?:cancel|undo|revert|never ?mind|forget)(?: (?:that|it|this|the last one))?|change it back|"
                    r"put it back|go back|scratch that|i changed my mind", t):
        return Call("undo")
    if c.previous is None:
        return None
    same = re.fullmatch(r"(?:(?:do )?(?:the )?same (?:for|with|on)|and|also|now|what about|how about|and for|"
                        r"(?:do )?that for|for)? ?(?:the )?(?P<place>.+?)(?: side| seat| too| as well| also)*", t)
    if same and re.search(r"\b(?:same|too|as well|also|what about|how about|and)\b", t):
        place = seat_place(same["place"])
        key = next((k for k in ("zone", "seat", "window") if k in _place_args(c.previous.name)), None)
        if place and key and place in PLACES:
            return Call(c.previous.name, {**c.previous.args, key: place})
    if re.fullmatch(r"(?:not this one|not that one|not this|another one|a different one|the next one|next one)", t):
        if c.previous.name == "navigate_to" and str(c.previous.args.get("destination", "")).startswith("poi:"):
            category, _, rank = c.previous.args["destination"].removeprefix("poi:").partition(":")
            return Call("navigate_to", {"destination": f"poi:{category}:{int(rank or 1) + 1}"})
        if c.previous.name in ("play_media", "next_track", "previous_track", "set_media_source"):
            return Call("next_track")
    if re.fullmatch(r"(?:a (?:bit|little) )?(?:more|less|higher|lower|up|down)(?: please)?|even more|a bit more", t):
        sign = -1 if re.search(r"\b(?:less|lower|down)\b", t) else 1
        relative = {"set_temperature": ("change_temperature", "delta", 1), "change_temperature": ("change_temperature", "delta", 1),
                    "set_fan_speed": ("change_fan_speed", "delta", 20), "change_fan_speed": ("change_fan_speed", "delta", 20),
                    "set_volume": ("change_volume", "delta", 10), "change_volume": ("change_volume", "delta", 10)}
        if c.previous.name in relative:
            name, key, step = relative[c.previous.name]
            zone = {"zone": c.previous.args["zone"]} if "zone" in c.previous.args else {}
            return Call(name, {key: sign * step, **zone})
    return None


def _place_args(action_name: str) -> tuple[str, ...]:
    return tuple(a.name for a in CATALOGUE[action_name].args) if action_name in CATALOGUE else ()


RULES: tuple[Rule, ...] = (follow_up, question, navigate, media_source, pause, mute, volume, skip, resume,
                           defroster, seat, window, air_conditioning, recirculation, air_distribution, fan,
                           change_temperature, set_temperature, play)


class FastPath:
    """Matches sentences to catalogue calls; ``None`` means "not sure: ask the LLM"."""

    def __init__(self, rules: tuple[Rule, ...] = RULES):
        self.rules = rules

    @staticmethod
    def is_unsafe(text: str) -> bool:
        """Requests that touch driving or safety systems: refused before any model sees them."""
        return bool(UNSAFE.search(normalize(text)))

    def parse(self, text: str, previous: Call | None = None) -> list[Call] | None:
        words = normalize(text)
        if not words:
            return None
        if CLAUSE_SPLIT.search(words):  # several requests, if every clause is one ("rock and roll" is not)
            calls: list[Call] = []
            for part in (p for p in CLAUSE_SPLIT.split(words) if p):
                call = self._match(part, calls[-1] if calls else previous)
                if call is None:
                    break
                calls += call
            else:
                return calls
        return self._match(words, previous)

    def _match(self, words: str, previous: Call | None) -> list[Call] | None:
        clause = Clause(words, with_digits(words), previous)
        for rule in self.rules:
            if (call := rule(clause)) is not None:
                return [call]
        return None
