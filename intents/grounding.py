"""Grounding: a reading from the LLM path is applied only when the driver's words support all of it.

The grammar already keeps the model inside the catalogue; this check keeps it inside the sentence:

* a sentence with negation, a condition or a hedge ("don't", "if", "maybe") is never acted on from
  an LLM reading: the driver is asked to say it another way;
* every number must have been said (or be a named amount that was: "max", "half", "low"), else it is
  dropped, so the catalogue default applies or the driver is asked for it;
* directions must agree with the words: up/louder/warmer vs down/quieter/cooler, on vs off, mute vs
  unmute, open vs close, heat vs cool; a relative phrasing never becomes an absolute extreme;
* places (zones, seats, windows) and sources must have been named, else the default applies;
* names (what to play, where to go) must be words of the sentence.

A reading that contradicts the words returns ``None``: nothing is applied.
"""

from __future__ import annotations

import math
import re
from typing import Any

from intents.catalogue import CATALOGUE, POI_CATEGORIES, Arg
from intents.fastpath import RELATIVE, Call, FastPath
from intents.text import normalize, with_digits

HEDGES = re.compile(r"\b(?:not|no|never|nothing|nobody|without|if|unless|maybe|perhaps|might|whether|wonder|"
                    r"should i|should we|would it|could it|in case|later|tomorrow|tonight|once|when|until|after|"
                    r"before|in \w+ minutes?|except|instead|pretend|ignore|imagine|suppose|say|repeat|quote|spell)\b")
"""Negation, conditions, hedges, later and quotes: never acted on from a model's reading."""
NOT_A_COMMAND = re.compile(r"^(?:is|are|am|do|does|did|was|were|have|has|had|what|why|how|who|where|which|should|"
                           r"shall|will|honey|darling|mom|dad)\b")
"""Questions and talk to others: answered by questions of the catalogue, never turned into a command."""


class Contradiction(Exception):
    """The reading says the opposite of the words (up vs down, on vs off, heat vs cool)."""
UP = r"up|louder|raise|increase|more|higher|boost|pump|crank|stronger|faster|max\w*"
DOWN = r"down|quieter|lower|decrease|less|reduce|softer|quiet|weaker|slower|drop|min\w*|too loud|too strong"
DIRECTION_WORDS = {
    "temperature": (rf"{UP}|warmer|hotter|cold|chilly|freez\w*|warm (?:it )?up|heat (?:it )?up",
                    rf"{DOWN}|cooler|colder|hot|boiling|stuffy|sweat\w*|roasting|too warm|cool (?:it )?down"),
    "fan": (UP, DOWN),
    "volume": (rf"{UP}|too quiet", DOWN),
}
SWITCH_WORDS = (r"on|enable\w*|activate|start|use|want", r"off|disable\w*|deactivate|stop|kill|shut|anymore")
MUTE_WORDS = (r"mute|silence|quiet|shut up", r"unmute|sound (?:back )?on")
WINDOW_WORDS = (r"open\w*|down|lower|crack", r"close|shut|up|raise")
SEAT_WORDS = (r"heat\w*|warm\w*", r"cool\w*|ventilat\w*|chill\w*")
PLACE_LISTS = {"zone": "climate_zone", "seat": "seat_place", "window": "window_place", "source": "source",
               "direction": "air_target"}
AMOUNT_LISTS = {"set_fan_speed": "fan_amount", "set_seat_heating": "seat_level", "set_window": "window_amount",
                "set_volume": "volume_amount"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def said(pattern: str, words: str) -> bool:
    return re.search(rf"\b(?:{pattern})\b", words) is not None


def polarity(pair: tuple[str, str], words: str) -> int:
    """+1 or -1 when only one side of ``pair`` is said, 0 when neither or both."""
    up, down = said(pair[0], words), said(pair[1], words)
    return 0 if up == down else 1 if up else -1


def ground(calls: list[Call], text: str, fast_path: FastPath) -> list[Call] | None:
    """The calls with ungrounded arguments dropped (defaults apply, or the driver is asked), or ``None`` when the
    sentence is hedged or the words contradict any of them."""
    words = normalize(text)
    if HEDGES.search(words):
        return None
    if NOT_A_COMMAND.search(words) and any(CATALOGUE[c.name].kind == "command" for c in calls):
        return None
    try:
        return [_ground_call(call, words, with_digits(words), fast_path) for call in calls]
    except Contradiction:
        return None


def _ground_call(call: Call, words: str, digits: str, fast_path: FastPath) -> Call:
    action = CATALOGUE[call.name]
    numbers = {float(n) for n in NUMBER.findall(digits)}
    args: dict[str, Any] = {}
    for name, value in call.args.items():
        arg = action.arg(name)
        if arg.type == "text":
            value = _place_not_category(value)
            if not _names_said(value, words, fast_path):
                raise Contradiction(f"{value!r} was not said")
            args[name] = value
        elif name == "delta":
            sign = polarity(_direction_words(call.name), words)
            if sign == 0:
                raise Contradiction("no single direction said")
            if abs(value) not in numbers and numbers:
                raise Contradiction(f"{name}={value} is not the number said")
            magnitude = abs(value) if numbers else abs(arg.default)
            args[name] = sign * magnitude
        elif arg.type in ("number", "integer"):
            if (checked := _grounded_amount(call.name, arg, value, words, numbers, fast_path)) is not None:
                args[name] = checked
        elif arg.type == "boolean":
            pair = MUTE_WORDS if call.name == "mute_media" else SWITCH_WORDS
            if polarity(pair, words) != (1 if value else -1):
                raise Contradiction(f"{name}={value} against the words")
            args[name] = value
        elif arg.name in PLACE_LISTS:
            named = fast_path.sentences.grammar.lists[PLACE_LISTS[arg.name]].find(words)
            if value == arg.default or named == value or (isinstance(named, dict) and named.get(name) == value):
                args[name] = value
        elif arg.name == "unit":
            if said(str(value), words):
                args[name] = value
        else:
            args[name] = value
    return _relative_if_said(Call(call.name, args), call, words)


def _grounded_amount(action: str, arg: Arg, value: float, words: str, numbers: set[float],
                     fast_path: FastPath) -> float | None:
    """The value if it was said (as a number or a named amount), else ``None``; :class:`Contradiction` when its
    direction goes against the words."""
    if action == "set_window" and polarity(WINDOW_WORDS, words) != (1 if value > 0 else -1):
        raise Contradiction("open or close against the words")
    if action == "set_seat_heating" and value != 0 and polarity(SEAT_WORDS, words) != (1 if value > 0 else -1):
        raise Contradiction("heat or cool against the words")
    if value == 0 and not said(SWITCH_WORDS[1] + "|" + WINDOW_WORDS[1] + r"|zero|0", words):
        raise Contradiction("off, but no word says so")
    named = fast_path.sentences.grammar.lists.get(AMOUNT_LISTS.get(action, ""))
    if abs(value) not in numbers and value != 0 and not (named and named.find(words) == abs(value)):
        return math.copysign(arg.default, value) if arg.default else None  # the default, in the direction said
    return value


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


def _place_not_category(value: str) -> str:
    """ "poi:stuttgart": small models mark towns as points of interest; a town is what was meant."""
    if value.startswith("poi:") and value.removeprefix("poi:").split(":")[0].strip().lower() not in POI_CATEGORIES:
        return value.removeprefix("poi:").strip()
    return value


def _names_said(value: str, words: str, fast_path: FastPath) -> bool:
    """Every word of a name or destination was said, or it is a point-of-interest category that was."""
    if value.startswith("poi:"):
        category = value.removeprefix("poi:").split(":")[0]
        return any(v == f"poi:{category}" for p, v in fast_path.sentences.grammar.lists["poi"].values.items()
                   if said(re.escape(p), words))
    return all(said(re.escape(word), words) for word in normalize(value).split())
