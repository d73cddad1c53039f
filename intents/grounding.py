"""Grounding: a reading from the LLM path is applied only when the driver's words support all of it.

The grammar already keeps the model inside the catalogue; this check keeps it inside the sentence:

* a sentence with negation, a condition or a hedge ("don't", "if", "maybe"), or one that speaks to
  someone else ("Sophie, close your window"), is never turned into a command from an LLM reading
  (questions about the car are still answered): the driver is asked to say it another way;
* every number must have been said (or be a named amount that was: "max", "half", "low"; a named
  amount said wins over the model's number), else it is dropped, so the catalogue default applies or
  the driver is asked for it; a value the model gave for an argument with no default ("mute for half an
  hour") is never silently dropped; a fan level of 1-10 is tens of percent, as on the fast path;
* directions must agree with the words: up/louder/warmer vs down/quieter/cooler, on vs off, mute vs
  unmute, open vs close, heat vs cool; a relative phrasing never becomes an absolute extreme; a
  switch's default ("on") stands when no word says the opposite ("we need some air con");
* places (zones, seats, windows) and sources must have been named, else the default applies;
* names (what to play, where to go) must be words of the sentence.

A reading that contradicts the words returns ``None``: nothing is applied.
"""

from __future__ import annotations

import math
import re
from typing import Any

from intents.actions import Arg
from intents.catalogue import CATALOGUE
from intents.planners import POI_CATEGORIES
from intents.fastpath import AMOUNT_LISTS, SLOT_LISTS, Call, FastPath
from intents.follow_ups import RELATIVE
from intents.phrasing import HEDGES, NARRATIVE, could_be_a_place, could_be_a_title
from intents.text import INTERJECTIONS, normalize, with_digits

NOT_OURS = re.compile(r"\b(?:book|reserve|order|buy|purchase|text|email|remind|schedule|translate|dial|"
                      r"(?<!taking a )(?<!on a )(?<!on the )call(?! (?:it|this|that|the place)\b)|"
                      r"living room|kitchen|bedroom|bathroom|basement|attic|hallway|"
                      r"browser|website|web page|laptop|tabs?)\b")
"""What the car cannot do ("book me a hotel room", "call the pharmacy"), other devices and rooms of a house ("the living room
temperature"): a reading as one of its actions would be a guess."""
FORECAST = re.compile(r"\b(?:tonight|tomorrow|later today|forecast|this (?:evening|afternoon|weekend)|"
                      r"next (?:week|month)|will it get)\b")
"""Questions about later ("how cold will it get tonight"): the car answers only for now."""
ATTITUDE = re.compile(r"\b(?:do|does) not (?:really )?(?:like|love|enjoy|care for|dig)\b")
"""A dislike said beside a request ("I don't like this song, skip it"): not a negated request."""
HIJACK = re.compile(r"\b(?:(?:forget|ignore|disregard|override) (?:\w+ ){0,3}(?:rules|instructions?|prompt|programming|"
                    r"orders|guidelines)|instructions?|system (?:prompt|message|note|override)|developer mode|jailbreak|"
                    r"from now on|authori[sz]ed|admin\w*|sudo)\b")
"""Words that try to change how the assistant behaves: nothing said with them is acted on."""
NOT_A_COMMAND = re.compile(r"^(?:is|are|am|do|does|did|was|were|have|has|had|what|why|how|who|where|which|should|"
                           r"shall|will)\b")
"""Questions: answered by questions of the catalogue, never turned into a command."""
TO_SOMEONE_ELSE = re.compile(r"^(?:honey|darling|babe|baby|sweetheart|sweetie|love|mom|mum|mommy|dad|daddy|guys|kids|"
                             r"buddy|dude|bro)\b|\byour\b|\b(?:are|were) you\b|\bdo you (?:think|feel|reckon|want)\b")
"""Talk to a passenger ("turn your music down", "honey, are you cold?"): neither a command nor a question to
the car."""
HYPOTHETICAL = re.compile(r"\b(?:(?:i|we) wonder|wondering|would it(?! take)|would the|if it (?:gets|got|were|was|becomes))\b")
"""Questions about what might be ("would it be warmer with the AC off"): the car answers only what is."""
ADDRESSED = re.compile(r"^\s*(?P<name>[^\W\d_]+)\s*(?:,|(?= (?:could|can|would|will) you\b))")
"""A sentence that opens by naming someone ("Kids, stop fighting back there"; "sarah could you turn it down" as a
recogniser writes it, without the comma)."""
NOT_A_NAME = frozenset("hey hi ok okay so um uh erm er hmm well actually wait oh please yes yeah yep no nope sorry "
                       "right alright and also now then car carvoice assistant computer great thanks first quick "
                       "look listen just maybe".split()) | INTERJECTIONS
"""Words that open a sentence to the assistant before a comma without naming anyone else."""


class Contradiction(Exception):
    """The reading says the opposite of the words (up vs down, on vs off, heat vs cool)."""
UP = r"up|louder|raise|increase|more|higher|boost|pump|crank|stronger|harder|faster|max\w*"
DOWN = (r"down|quieter|lower|decrease|less|reduce|softer|gentler|quiet|weaker|slower|drop|min\w*|"
        r"too (?:loud|strong|hard|fast|much|high|noisy|windy|breezy)")
DIRECTION_WORDS = {
    "temperature": (rf"{UP}|warmer|hotter|cold|chilly|freez\w*|warm (?:it )?up|heat (?:it )?up",
                    rf"{DOWN}|cooler|colder|hot|boiling|stuffy|sweat\w*|roasting|too warm|cool (?:it )?down"),
    "fan": (UP, DOWN),
    "volume": (rf"{UP}|too quiet|too soft|(?:barely|hardly|cannot|can not|not) hear|hard to hear", DOWN),
}
SWITCH_WORDS = (r"on|enable\w*|activate|start", r"off|disable\w*|deactivate|stop|kill|shut|anymore")
WANTED = r"use|want|need"
"""Words that ask for a thing without saying on or off ("we need some air con"): on, unless a word says off."""
MUTE_WORDS = (r"mute|silence|quiet|shut up", r"unmute|sound (?:back )?on")
WINDOW_WORDS = (r"open\w*|down|lower|crack", r"close|shut|up|raise")
SEAT_WORDS = (r"heat\w*|warm\w*", r"cool\w*|ventilat\w*|chill\w*")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
STRONG_WORDS = r"freez\w*|frozen|ice cold|boiling|roasting|sweat\w*|melting|baking|like an oven|sweltering"
"""How drivers say it is far too cold or hot: a step of two degrees, as the fast path's templates read them."""
TRACK_WORDS = (r"next|skip\w*|another|different|else|forward|change|switch", r"previous|last|back|again|before|earlier|replay")
TRACK_SIDE = {"next_track": 1, "previous_track": -1}
"""A skip stands only when the words say its way (forward or back) and not the other."""
LOOK_UP_WORDS = r"where\w*|find|is there|are there|any|look(?:ing)? for|search\w*|locate"
GO_WORDS = r"take|navigat\w*|drive|go|head\w*|bring|get (?:me|us)|route|directions|guide|let us|lead"
"""A look-up said without a word of going: where to find a place, not a route there."""
EXTREMES = r"all the way|max\w*|min\w*|full\w*|completely|highest|lowest|top"
"""Words that name the end of a range: never a relative step."""


def said(pattern: str, words: str) -> bool:
    return re.search(rf"\b(?:{pattern})\b", words) is not None


def polarity(pair: tuple[str, str], words: str) -> int:
    """+1 or -1 when only one side of ``pair`` is said, 0 when neither or both. A word inside a longer phrase of the
    other side is that phrase's ("too quiet" is up, though "quiet" is down)."""
    up, down = (_spans(side, words) for side in pair)
    up, down = _outside(up, down), _outside(down, up)
    return 0 if bool(up) == bool(down) else 1 if up else -1


def _spans(pattern: str, words: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rf"\b(?:{pattern})\b", words)]


def _outside(spans: list[tuple[int, int]], others: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans not inside a longer span of ``others``."""
    return [(a, b) for a, b in spans if not any(c <= a and b <= d and d - c > b - a for c, d in others)]


def ground(calls: list[Call], text: str, fast_path: FastPath) -> list[Call] | None:
    """The calls with ungrounded arguments dropped (defaults apply, or the driver is asked), or ``None`` when the
    sentence is hedged or the words contradict any of them."""
    words = normalize(text)
    try:
        calls = [_look_up_if_asked(call, words) for call in calls]
    except Contradiction:
        return None
    if HIJACK.search(words) or NARRATIVE.search(words) or NOT_OURS.search(words):
        return None  # questions too: "last week we drove to Leeds" asks nothing
    if to_someone_else(text, words):
        return None  # questions too: "honey, are you cold?" asks the passenger
    if any(CATALOGUE[c.name].kind == "command" for c in calls) and not is_a_command(words):
        return None
    if any(CATALOGUE[c.name].kind == "question" for c in calls) and (FORECAST.search(words) or HYPOTHETICAL.search(words)):
        return None
    try:
        return [_ground_call(call, words, with_digits(words), fast_path, alone=len(calls) == 1) for call in calls]
    except Contradiction:
        return None


def _look_up_if_asked(call: Call, words: str) -> Call:
    """ "Where's the nearest gas station" read as a route: a look-up, as the words ask (a route starts only when
    they say go)."""
    if call.name == "navigate_to" and said(LOOK_UP_WORDS, words) and not said(GO_WORDS, words):
        if not str(call.args.get("destination", "")).startswith("poi:"):
            raise Contradiction("a question where a place is, not a request to go there")
        return Call("find_place", call.args)
    return call


def _ground_call(call: Call, words: str, digits: str, fast_path: FastPath, alone: bool = True) -> Call:
    action = CATALOGUE[call.name]
    if call.name.startswith("change_") and said(EXTREMES, words):
        raise Contradiction("the words name the end of the range, not a step")
    if call.name == "set_media_source" and polarity(DIRECTION_WORDS["volume"], words) != 0:
        raise Contradiction("the words turn the sound up or down, not to another source")
    if call.name in TRACK_SIDE and polarity(TRACK_WORDS, words) != TRACK_SIDE[call.name]:
        raise Contradiction("the words do not say which way to skip")
    numbers = {float(n) for n in NUMBER.findall(digits)}
    args: dict[str, Any] = {}
    for name, value in call.args.items():
        arg = action.arg(name)
        if arg.type == "text":
            value = _place_not_category(value, words, fast_path)
            names = could_be_a_title if name == "query" else could_be_a_place
            named = _names_said(value, words, fast_path) and names(normalize(value))
            if named and name == "destination" and _a_thing_not_a_place(value, words):
                raise Contradiction(f"{value!r} is a thing, not a place")
            if named:
                args[name] = value
            elif not arg.required:  # leaving it out would change the request ("play" resumes)
                raise Contradiction(f"{value!r} was not said")
            # a required name that was not said is left out: the driver is asked for it
        elif name == "delta":
            sign = polarity(_direction_words(call.name), words)
            if sign == 0:
                raise Contradiction("no single direction said")
            if abs(value) not in numbers and numbers:
                raise Contradiction(f"{name}={value} is not the number said")
            magnitude = abs(value) if numbers else _unsaid_step(call.name, arg, words)
            args[name] = sign * magnitude
        elif arg.type in ("number", "integer"):
            if (checked := _grounded_amount(call.name, arg, value, words, numbers, fast_path)) is not None:
                args[name] = checked
            elif arg.default is None and not arg.required:
                raise Contradiction(f"{name}={value} was not said, and leaving it out changes the request")
        elif arg.type == "boolean":
            pair = MUTE_WORDS if call.name == "mute_media" else SWITCH_WORDS
            said_polarity = polarity(pair, words) or int(pair is SWITCH_WORDS and said(WANTED, words))
            if said_polarity != (1 if value else -1) and not (value == arg.default and said_polarity == 0):
                raise Contradiction(f"{name}={value} against the words")
            args[name] = value
        elif arg.name in SLOT_LISTS:
            if (place := _grounded_place(arg, value, words, fast_path, alone)) is not None:
                args[name] = place
        elif arg.name == "unit":
            if said(str(value), words):
                args[name] = value
        else:
            args[name] = value
    return _relative_if_said(Call(call.name, args), call, words)


def _unsaid_step(action: str, arg: Arg, words: str) -> float:
    """The step of a relative change said without a number: the catalogue's, two degrees for strong words."""
    return 2.0 if action == "change_temperature" and said(STRONG_WORDS, words) else abs(arg.default)


def _grounded_place(arg: Arg, value: Any, words: str, fast_path: FastPath, alone: bool) -> Any | None:
    """The place the words support: the model's if they name it (or it is the default and they name none), the
    one they name instead (for a sentence of one call), ``None`` when they name none (the default applies).
    :class:`Contradiction` when the words speak of a place that is neither: never replaced by the default."""
    words = re.sub(rf"\b(?:{EXTREMES})\b|\ball (?=\w+(?:ed|y)\b|over\b|up\b)", " ", words)
    # "all the way" names an amount, "all fogged up" says how much: neither is every window
    named = fast_path.sentences.grammar.lists[SLOT_LISTS[arg.name]].find(words)
    if isinstance(named, dict):
        named = named.get(arg.name)
    if named is None and arg.name == "window" and said("windows", words):
        named = "all"  # "shut the windows": a plural with no place named is every one
    if named == value or (named is None and value == arg.default):
        return value
    if named is not None and alone:
        return named
    if named is not None or said(PLACE_CUES, words):
        raise Contradiction(f"{arg.name}={value}, but the words speak of another place")
    return None


def _grounded_amount(action: str, arg: Arg, value: float, words: str, numbers: set[float],
                     fast_path: FastPath) -> float | None:
    """The value if it was said (as a number or a named amount), else ``None``; :class:`Contradiction` when its
    direction goes against the words. A level switched off is 0; a seat cooled is negative."""
    if action in ("set_seat_heating", "set_fan_speed") and not numbers and polarity(SWITCH_WORDS, words) == -1:
        return 0.0  # "turn off the heated seat"
    if action == "set_seat_heating" and value != 0 and (sign := polarity(SEAT_WORDS, words)) != 0:
        value = math.copysign(value, sign)  # "seat cooling on high": the words say which way
    if action == "set_window" and (sign := polarity(WINDOW_WORDS, words)) != (1 if value > 0 else -1):
        if sign == 0 and abs(value) not in numbers and arg.default is None:
            return None  # "adjust the rear window": how far is asked
        raise Contradiction("open or close against the words")
    if action == "set_seat_heating" and value != 0 and polarity(SEAT_WORDS, words) != (1 if value > 0 else -1):
        raise Contradiction("heat or cool against the words")
    if value == 0 and not said(SWITCH_WORDS[1] + "|" + WINDOW_WORDS[1] + r"|zero|0", words):
        raise Contradiction("off, but no word says so")
    if said(EXTREMES, words) and value in (arg.minimum, arg.maximum) and value != 0:
        return value  # "fan all the way up": the end of the range the words name
    named = fast_path.sentences.grammar.lists.get(AMOUNT_LISTS.get(action, ""))
    if (amount := named.find(with_digits(words)) if named else None) is not None and value != 0:
        return math.copysign(amount, value)  # "crack open": the amount the words name
    if action == "set_fan_speed" and value in numbers and 0 < value <= 10 and not said("percent", words):
        return value * 10  # "fan to two": a level of ten, as the fast path reads it
    if action == "set_window" and value > 0 and abs(value) not in numbers:
        return 100.0  # a plain "open" is all the way
    if abs(value) not in numbers and value != 0:
        return math.copysign(arg.default, value) if arg.default else None  # the default, in the direction said
    return value


def is_a_command(words: str) -> bool:
    """Whether a sentence said to the assistant could be a command: not negated, conditional or hedged, not a
    question, not a narrative."""
    return not (HEDGES.search(ATTITUDE.sub(" ", words)) or NOT_A_COMMAND.search(words) or NARRATIVE.search(words))


def to_someone_else(text: str, words: str) -> bool:
    """Whether the sentence speaks to someone in the car rather than to the assistant."""
    addressed = ADDRESSED.match(text)
    return bool(TO_SOMEONE_ELSE.search(words) or (addressed and addressed["name"].lower() not in NOT_A_NAME))


def _relative_if_said(grounded: Call, original: Call, words: str) -> Call:
    """ "Turn the sound up" read as volume 100: with the number not said, the relative step the words mean."""
    if original.name not in RELATIVE or original.name.startswith("change_"):
        return grounded
    amount = next(a.name for a in CATALOGUE[original.name].args if a.type in ("number", "integer"))
    if amount in grounded.args or amount not in original.args:
        return grounded
    name, step = RELATIVE[original.name]
    sign = polarity(_direction_words(name), words)
    if sign == 0:
        return grounded
    zone = {"zone": grounded.args["zone"]} if "zone" in grounded.args else {}
    return Call(name, {"delta": sign * step, **zone})


def _direction_words(action: str) -> tuple[str, str]:
    return DIRECTION_WORDS["temperature" if "temperature" in action else "fan" if "fan" in action else "volume"]


def _place_not_category(value: str, words: str, fast_path: FastPath) -> str:
    """The point of interest the words name where the model wrote one ("poi:gas" for "the closest gas station" is
    poi:fuel); else "poi:stuttgart" is the town: small models mark towns as points of interest."""
    if not value.startswith("poi:"):
        return value
    named = _pois_said(words, fast_path)
    if len(named) == 1:
        return named.pop()
    if value.removeprefix("poi:").split(":")[0].strip().lower() not in POI_CATEGORIES:
        return value.removeprefix("poi:").strip()
    return value


def _pois_said(words: str, fast_path: FastPath) -> set[str]:
    """The ``poi:<category>`` values whose phrases the words say, in the singular or the plural ("coffee shops")."""
    return {value for phrase, value in fast_path.sentences.grammar.lists["poi"].values.items()
            if said(re.escape(phrase) + "(?:s|es)?", words)}


PLACE_CUES = (r"back|rear|behind|left|right|front|passenger|driver|everyone|everybody|all|both|kids?|children|"
              r"wife|husband|partner|son|daughter|her|his|their|side|windows|seats")
"""Words that speak of a place: where they are said, a place the model gave and the words do not name is
never replaced by the default."""


def _names_said(value: str, words: str, fast_path: FastPath) -> bool:
    """Every word of a name or destination was said, or it is a point-of-interest category that was."""
    if value.startswith("poi:"):
        category = value.removeprefix("poi:").split(":")[0]
        return f"poi:{category}" in _pois_said(words, fast_path)
    return all(said(re.escape(word), words) for word in normalize(value).split())


def _a_thing_not_a_place(value: str, words: str) -> bool:
    """ "How far is the moon", "how many miles is a marathon": a thing named with an article, not a place to
    drive to (places are named after "to", or without an article: "how far is Munich")."""
    name = normalize(value)
    return not value.startswith("poi:") and said(rf"(?<!\bto )(?:the|a|an) {re.escape(name)}", words)
