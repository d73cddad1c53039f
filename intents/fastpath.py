"""The fast path: sentence templates (``data/sentences.yaml``) matched exactly, in about a millisecond.

The sentence is normalised and split into clauses ("turn off the fan and the AC"). Every clause must be
matched *whole* by one template; a clause without a verb of its own borrows the verb of the clause
before it ("... and the AC" -> "turn off the AC"), and a negated clause ("don't open the windows") is
read as a request *not* to act. If any clause matches nothing the whole sentence is tried as one
clause, and if that fails too ``parse`` returns ``None``: the sentence goes to the LLM path. Nothing
is keyword-spotted, so a word no template accounts for ("sunroof", "unless", "maybe") never gets
ignored on the way to an action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from intents.catalogue import CATALOGUE
from intents.planners import POI_PHRASES, destination_of
from intents.templates import Grammar, Rule, SlotList, Template, TemplateError, rules_of
from intents.text import normalize, with_digits
from intents.phrasing import (AMOUNT_WORDS, BARE_NO, CLAUSE_SPLIT, CORRECTION, DENIED_STATE, EXCLUDED, KEPT, NEGATED, NUMBER_ONLY,
                              UNSAFE, contrasts, could_be_a_place, could_be_a_title)


@dataclass(frozen=True)
class Call:
    """One catalogue action with its (unvalidated) arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    declined: bool = False
    """The driver asked for this *not* to be done ("don't open the windows")."""

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{'not ' if self.declined else ''}{self.name}({args})"


DIALOGUE_ACTS = ("dismiss", "confirm", "deny")
"""Follow-ups that answer the assistant rather than ask for something: resolved by the dialogue."""
PLACE_ARGS = ("zone", "seat", "window")
RELATIVE = {"set_temperature": ("change_temperature", 1.0), "change_temperature": ("change_temperature", 1.0),
            "set_fan_speed": ("change_fan_speed", 20), "change_fan_speed": ("change_fan_speed", 20),
            "set_volume": ("change_volume", 10), "change_volume": ("change_volume", 10)}
"""Previous request -> (the relative action "more"/"less" means after it, its step)."""
SET_IT = {"set_temperature": ("set_temperature", "value"), "change_temperature": ("set_temperature", "value"),
          "set_air_conditioning": ("set_temperature", "value"), "set_fan_speed": ("set_fan_speed", "level"),
          "change_fan_speed": ("set_fan_speed", "level"), "set_volume": ("set_volume", "level"),
          "change_volume": ("set_volume", "level"), "set_window": ("set_window", "position"),
          "set_seat_heating": ("set_seat_heating", "level"), "mute_media": ("mute_media", "minutes")}
"""Previous request -> (what "set it to N" sets after it, the argument N fills)."""
AMOUNT_LISTS = {"set_fan_speed": "fan_amount", "set_seat_heating": "seat_level", "set_window": "window_amount",
                "set_volume": "volume_amount"}
"""Action -> the slot list of its named amounts ("high", "a crack", "half")."""
REPEATED = re.compile(r"\s*\b(?:again|back(?= (?:on|off|up|down)\b))\b")
"""Words that say a request restores or repeats something ("turn it back on", "close them again")."""
AMOUNT_FRAME = re.compile(r"^(?:(?:make|set|put|turn|switch|change|bring) (?:it|that)(?: (?:up|down|back))?"
                          r"(?: (?:to|at))?|rather|only|to|at)\s+")
"""The words around a named amount or place that changes the last request ("make it high", "turn it down to
low")."""
SLOT_LISTS = {"zone": "climate_zone", "seat": "seat_place", "window": "window_place", "source": "source",
              "direction": "air_target", "position": "window_amount"}
"""Argument -> the slot list its values are named with (in answers and in follow-ups)."""
FOR_ME = " for me"
"""A zone where a template takes it ("warmer for me"), else only politeness ("set the volume for me")."""
OTHER_SIDE = {("inside", "ask_outside_temperature"): "ask_cabin_temperature",
              ("outside", "ask_cabin_temperature"): "ask_outside_temperature"}
"""Follow-up -> the question "and in here?" asks after the one before."""
FOLLOW_UP_OPENER = re.compile(r"^(?:and|also|now|then)\s+")
CHANGED_SLOTS = ("direction", "source")
"""Arguments a follow-up of only their value changes ("actually my face" after "air to the feet")."""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    template: Template


@dataclass(frozen=True)
class Sentences:
    """The compiled templates: catalogue intents, then follow-ups."""

    grammar: Grammar
    intents: tuple[CompiledRule, ...]
    follow_ups: tuple[CompiledRule, ...]
    referents: dict[str, Any] = field(default_factory=dict)
    """Action -> what "it" names after it: a phrase, or {place argument: {value: phrase}}."""


def _slot_list(name: str, spec: dict | list) -> SlotList:
    """A slot list from data: {value: [phrases]} or [{value: ..., phrases: [...]}] for values that are mappings."""
    entries = spec.items() if isinstance(spec, dict) else ((item["value"], item["phrases"]) for item in spec)
    return SlotList(name, {str(phrase): value for value, phrases in entries for phrase in phrases})


def compile_sentences(data: dict) -> Sentences:
    """Templates and lists from the data file, plus the lists derived from the catalogue."""
    lists = {name: _slot_list(name, spec) for name, spec in data["lists"].items()}
    lists["poi"] = SlotList("poi", {p: f"poi:{category}" for category, phrases in POI_PHRASES.items() for p in phrases})
    grammar = Grammar(data["expansions"], lists)

    def compiled(section: str) -> tuple[CompiledRule, ...]:
        """Templates in file order, those with free text last: a name never wins over a fixed phrase."""
        rules = []
        for target, entries in data[section].items():
            for rule in rules_of(target, entries):
                for sentence in rule.sentences:
                    try:
                        rules.append(CompiledRule(rule, grammar.compile(sentence)))
                    except TemplateError as exc:
                        raise TemplateError(f"{section}.{target}: {exc}") from None
        return tuple(sorted(rules, key=lambda r: r.template.has_text))

    unknown = set(data["intents"]) - set(CATALOGUE)
    if unknown:
        raise TemplateError(f"templates for actions the catalogue does not have: {', '.join(sorted(unknown))}")
    return Sentences(grammar, compiled("intents"), compiled("follow_ups"), data.get("referents", {}))


@cache
def default_sentences() -> Sentences:
    return compile_sentences(yaml.safe_load(resources.files("intents").joinpath("data/sentences.yaml").read_text()))


class FastPath:
    """Matches sentences to catalogue calls; ``None`` means "not sure: ask the LLM"."""

    def __init__(self, sentences: Sentences | None = None, enabled: bool = True):
        self.sentences = sentences or default_sentences()
        self.enabled = enabled

    @staticmethod
    def is_unsafe(text: str) -> bool:
        """Requests that touch driving or safety systems: refused before any model sees them."""
        return bool(UNSAFE.search(normalize(text)))

    def parse(self, text: str, previous: Call | None = None, answering: bool = False) -> list[Call] | None:
        """The calls the sentence asks for, every word accounted for; ``None`` when any part is not understood.

        ``answering``: the sentence answers a question about ``previous``, so a bare value ("23") fills it.
        """
        words = normalize(text)
        if not words or not self.enabled:
            return None
        found = self._understood(words, previous, answering)
        if found is None and words.endswith(FOR_ME):  # not a place any template takes: politeness
            found = self._understood(words.removesuffix(FOR_ME), previous, answering)
        return found

    def _understood(self, words: str, previous: Call | None, answering: bool) -> list[Call] | None:
        found = self._corrected(words, previous, answering)
        if found is None and (restated := self._restated(words, previous)) != words:
            found = self._corrected(restated, previous, answering)
        return found

    def _restated(self, words: str, previous: Call | None) -> str:
        """ "Close them" after opening the rear windows, "turn it back on" after the AC went off: the sentence with
        the pronoun named ("close the rear windows") and "back"/"again" left out ("turn the ac on"). Not for
        "turn it up/down", which as often means the volume."""
        words = REPEATED.sub("", words)
        referent = self._referent(previous)
        if referent and not re.search(r"\b(?:up|down)\b", words):
            words = re.sub(r"\b(?:it|them)\b", referent, words, count=1)
        return " ".join(words.split())

    def _referent(self, previous: Call | None) -> str | None:
        spec = self.sentences.referents.get(previous.name) if previous else None
        if isinstance(spec, dict):
            (place, phrases), = spec.items()
            return phrases.get(previous.args.get(place, CATALOGUE[previous.name].arg(place).default))
        return spec

    def _corrected(self, words: str, previous: Call | None, answering: bool) -> list[Call] | None:
        """The sentence, or what follows the driver's last correction of it ("22, no wait, 23"; "twenty no twenty
        two" when the whole sentence means nothing)."""
        corrections = list(CORRECTION.finditer(words))
        if not corrections or corrections[-1].start() == 0:  # "no more seat heating": a sentence of its own
            if (whole := self._parse(words, previous, answering)) is not None:
                return whole
            corrections = corrections or list(BARE_NO.finditer(words))
        if not corrections or not (after := words[corrections[-1].end():].strip()):
            return self._parse(words, previous, answering) if corrections else None
        before = words[:corrections[-1].start()].strip()  # "22, no wait, 23": 23 is "it", and "it" is the 22
        said_before = self._parse(before, previous) if before else None
        return self._parse(normalize(after), said_before[-1] if said_before else previous, True)

    def _parse(self, words: str, previous: Call | None, answering: bool = False) -> list[Call] | None:
        clauses = [normalize(c) for part in CLAUSE_SPLIT.split(words) for c in contrasts(part) if c]
        if len(clauses) == 1:  # "and set it to 19"
            words = clauses[0]
        elif len(clauses) > 1:
            calls: list[Call] = []
            for number, clause in enumerate(clauses):
                last = next((c for c in reversed(calls) if not c.declined), previous)
                if KEPT.match(clause) or (calls and self._narrows(clause, calls[-1])):
                    continue
                found = self._clause(clause, last) or (number and self._with_borrowed_verb(clause, clauses[number - 1], last))
                if not found:
                    break
                calls += found
            else:
                if calls and not _repeats_a_placeless_action(calls):
                    return calls
        return self._clause(words, previous, answering) or self._refused_then_asked(words, previous)

    def _refused_then_asked(self, words: str, previous: Call | None) -> list[Call] | None:
        """ "don't open the window close it", "not louder quieter", "not twenty twenty three": what the driver
        does not want, then what they want instead, without a "but" between them (as recognisers write it).
        Both parts must be understood whole; what follows is read against what was refused."""
        if not (NEGATED.match(words) or EXCLUDED.match(words) or DENIED_STATE.match(words)):
            return None
        parts = words.split()
        for cut in range(2, len(parts)):
            refused = self._refused(" ".join(parts[:cut]), previous)
            if refused is None:
                continue
            context = Call(refused.name, refused.args) if refused.name else previous
            if wanted := self._understood(normalize(" ".join(parts[cut:])), context, answering=True):
                return ([refused] if refused.name else []) + wanted
        return None

    def _refused(self, words: str, previous: Call | None) -> Call | None:
        """A request said not to be done ("do not open the window", "not louder") as a declined call; a value
        refused ("not twenty", "not the radio") as a declined call without a name."""
        negated, excluded, denied = NEGATED.match(words), EXCLUDED.match(words), DENIED_STATE.match(words)
        rest = (negated or excluded)["rest"] if negated or excluded else ""
        if denied:  # "i am not hot": what "i am hot" would ask for, not wanted
            rest = denied["said"] + " " + denied["rest"]
        found = self._intent(rest, previous) if rest else None
        if found is None and excluded:
            found = next(iter(self._clause(rest, previous) or []), None)
        if found is not None:
            return Call(found.name, found.args, declined=True)
        lists = self.sentences.grammar.lists.values()
        if excluded and (NUMBER_ONLY.fullmatch(with_digits(rest)) or any(rest in slots.values for slots in lists)):
            return Call("", {}, declined=True)
        return None

    def _narrows(self, clause: str, call: Call) -> bool:
        """ "not the passenger's" after "heat my seat": an exclusion that leaves the call as it is. One that names
        the call's own place or qualifies its amount ("not all the way") does not narrow: the clause is not
        understood, and the sentence goes to the LLM path."""
        excluded = EXCLUDED.match(clause)
        if not excluded or call.declined or AMOUNT_WORDS.search(excluded["rest"]):
            return False
        lists = self.sentences.grammar.lists
        named = {lists[name].find(excluded["rest"]) for name in ("place", "seat_place", "window_place", "climate_zone")}
        return not named & {v for k, v in call.args.items() if k in PLACE_ARGS}

    def dialogue_act(self, text: str) -> str | None:
        """``dismiss`` ("never mind"), ``confirm`` ("yes") or ``deny`` ("no"), else ``None``."""
        words = normalize(text)
        return next((r.rule.target for r in self.sentences.follow_ups
                     if r.rule.target in DIALOGUE_ACTS and self._match(r, words) is not None), None)

    def slot_value(self, list_name: str, text: str) -> Any | None:
        """The value of the phrase of a slot list the whole answer is ("the passenger side" -> passenger)."""
        slots = self.sentences.grammar.lists[list_name]
        words = normalize(text)
        bare = re.sub(r"^(?:to|at|on|for|in|towards)\s+", "", words)  # "to the feet"
        return next((slots.value(phrase) for phrase in (words, bare, re.sub(r"^(?:the|my) ", "", bare))
                     if phrase in slots.values), None)

    # -- matching --------------------------------------------------------------------------------
    def _with_borrowed_verb(self, clause: str, before: str, previous: Call | None) -> list[Call] | None:
        """ "... and the AC" after "turn off the fan": the clause again with the first words of the one before."""
        verb = before.split()
        for count in range(1, min(3, len(verb) - 1) + 1):
            if found := self._clause(" ".join(verb[:count] + [clause]), previous):
                return found
        return None

    def _clause(self, words: str, previous: Call | None, answering: bool = False) -> list[Call] | None:
        """One clause: a template of its own ("I don't need the AC anymore"), a negated request, or a follow-up."""
        if found := self._intent(words, previous):
            return [found]
        if (negated := NEGATED.match(words)) and (found := self._intent(negated["rest"], previous)):
            return [Call(found.name, found.args, declined=True)]
        found = self._follow_up(words, previous, answering) or self._amount_follow_up(words, previous)
        return [found] if found else None

    def _amount_follow_up(self, words: str, previous: Call | None) -> Call | None:
        """ "Make it high" after "heat my seat", "just a crack" after "open the passenger window": the last request
        again with the named amount of its own kind; "actually my face" after "air to the feet": again with
        the named direction (or source); "and mine on low", "and the feet for the back": again for the place
        named, with the amount or direction named."""
        if previous is None:
            return None
        phrase = AMOUNT_FRAME.sub("", FOLLOW_UP_OPENER.sub("", words))
        return self._changed(phrase, previous) or self._changed_for_a_place(phrase, previous)

    def _changed(self, phrase: str, previous: Call) -> Call | None:
        """The last request with what ``phrase``, a named amount or slot value and nothing else, changes."""
        phrase = AMOUNT_FRAME.sub("", phrase)
        for key in CHANGED_SLOTS:
            if key in _arg_names(previous.name) and (value := self.slot_value(SLOT_LISTS[key], phrase)) is not None:
                return Call(previous.name, {**previous.args, **(value if isinstance(value, dict) else {key: value})})
        if previous.name not in SET_IT:
            return None
        name, key = SET_IT[previous.name]
        if name not in AMOUNT_LISTS:
            return None
        value = self.slot_value(AMOUNT_LISTS[name], phrase)
        if value is None:
            return None
        places = {k: v for k, v in previous.args.items() if k in PLACE_ARGS and k in _arg_names(name)}
        return Call(name, {**places, **(value if isinstance(value, dict) else {key: value})})

    def _changed_for_a_place(self, phrase: str, previous: Call) -> Call | None:
        """``phrase`` as a place and a change, in either order, every word one of the two."""
        key = next((k for k in PLACE_ARGS if k in _arg_names(previous.name)), None)
        words = phrase.split()
        for cut in range(1, len(words) if key else 0):
            for place_words, change_words in ((words[:cut], words[cut:]), (words[cut:], words[:cut])):
                place = next((found for list_name in (SLOT_LISTS[key], "place")
                              if (found := self.slot_value(list_name, " ".join(place_words))) is not None), None)
                if place is not None and (changed := self._changed(" ".join(change_words), previous)):
                    return Call(changed.name, {**changed.args, key: place})
        return None

    def _intent(self, words: str, previous: Call | None) -> Call | None:
        for compiled in self.sentences.intents:
            if (args := self._match(compiled, words)) is not None:
                return _completed(Call(compiled.rule.target, args), previous)
        return None

    def _match(self, compiled: CompiledRule, words: str) -> dict[str, Any] | None:
        """Slot values with the rule's fixed arguments; names keep their words ("One Love"), values use digits."""
        grammar = self.sentences.grammar
        found = grammar.match(compiled.template, words)
        if found is None:
            found = grammar.match(compiled.template, with_digits(words))
        if found is None:
            return None
        args = compiled.rule.args | found
        if not (could_be_a_place(args.get("destination")) and could_be_a_title(args.get("query"))):
            return None
        for name in compiled.rule.negate:
            args[name] = -args[name]
        return args

    def _follow_up(self, words: str, previous: Call | None, answering: bool = False) -> Call | None:
        for compiled in self.sentences.follow_ups:
            if (args := self._match(compiled, words)) is None:
                continue
            kind = "set_it" if compiled.rule.target == "answer" and answering else compiled.rule.target
            if kind == "undo":
                return Call("undo")
            if previous is None or kind in (*DIALOGUE_ACTS, "answer"):
                return None
            return _resolved(kind, args, previous, answering)
        return None






def _repeats_a_placeless_action(calls: list[Call]) -> bool:
    """ "Play Simon and Garfunkel" read as two things to play: an action with no place to tell its calls apart
    said twice in one sentence is one name with "and" in it, not two requests."""
    names = [c.name for c in calls if not set(PLACE_ARGS) & set(_arg_names(c.name))]
    return len(names) != len(set(names))




def _completed(call: Call, previous: Call | None) -> Call:
    """Arguments a template leaves to the context: destinations as the ECU takes them, the zone of a change."""
    args = dict(call.args)
    if isinstance(args.get("destination"), str) and not args["destination"].startswith("poi:"):
        args["destination"] = destination_of(args["destination"])
    if call.name == "change_temperature" and "zone" not in args and previous and "temperature" in previous.name:
        if "zone" in previous.args:
            args["zone"] = previous.args["zone"]
    return Call(call.name, args)


def _resolved(kind: str, args: dict[str, Any], previous: Call, answering: bool) -> Call | None:
    """A follow-up made concrete by the request before it (or by the question it answers)."""
    if kind == "same_for":
        key = next((k for k in PLACE_ARGS if k in _arg_names(previous.name)), None)
        if key and answering:  # "on the passenger side" to "What temperature would you like?"
            return Call(previous.name, {**previous.args, key: args["place"]})
        return Call("same_for", {"place": args["place"]}) if key else None
    if kind == "set_it" and previous.name in SET_IT:
        name, key = SET_IT[previous.name]
        if key not in previous.args and not CATALOGUE[name].arg(key).required:
            return None  # "make it thirty" after a plain "mute": thirty of nothing said
        places = {k: v for k, v in previous.args.items() if k in PLACE_ARGS and k in _arg_names(name)}
        return Call(name, {**places, key: args["value"]})
    if kind in ("more", "less", "again") and previous.name in RELATIVE:
        name, step = RELATIVE[previous.name]
        zone = {"zone": previous.args["zone"]} if "zone" in previous.args else {}
        if kind == "again" and previous.args.get("delta", 0) < 0:
            kind = "less"  # "a bit cooler" ... "a little more": cooler again
        return Call(name, {"delta": -step if kind == "less" else step, **zone})
    if kind == "instead" and previous.name in ("navigate_to", "find_place", "ask_travel_time"):
        return _completed(Call(previous.name, args), previous)
    if (kind, previous.name) in OTHER_SIDE:
        return Call(OTHER_SIDE[kind, previous.name])
    if kind == "there" and previous.name in ("find_place", "ask_travel_time"):
        return Call("navigate_to", {"destination": previous.args["destination"]})
    if kind == "another":
        destination = str(previous.args.get("destination", ""))
        if previous.name in ("navigate_to", "find_place") and destination.startswith("poi:"):
            category, _, rank = destination.removeprefix("poi:").partition(":")
            return Call(previous.name, {"destination": f"poi:{category}:{int(rank or 1) + 1}"})
        if previous.name in ("play_media", "next_track", "previous_track", "set_media_source"):
            return Call("next_track")
    return None


def _arg_names(action_name: str) -> tuple[str, ...]:
    return tuple(a.name for a in CATALOGUE[action_name].args) if action_name in CATALOGUE else ()
