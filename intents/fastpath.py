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
from typing import Any

from intents.catalogue import CATALOGUE
from intents.follow_ups import DIALOGUE_ACTS, PLACE_ARGS, SET_IT, arg_names, completed, place_arg, resolved
from intents.sentences import Call, CompiledRule, Sentences, default_sentences
from intents.text import normalize, with_digits
from intents.phrasing import (AMOUNT_WORDS, BARE_NO, CLAUSE_SPLIT, CORRECTION, DENIED_STATE, EXCLUDED, HEDGES, KEPT, NARRATIVE,
                              NEGATED, NUMBER_ONLY, PLEA, REASON, STATE, UNSAFE, contrasts, could_be_a_place, could_be_a_title)


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
FOLLOW_UP_OPENER = re.compile(r"^(?:and|also|now|then)\s+")
OPENS_A_PHRASE = frozenset("over to at for from with by the a an my our your of some into onto via through about than as".split())
"""Words a request does not end with: what follows them belongs to them."""
POINTS_AT = frozenset("this that these those the a an my our some it".split())
"""Words a request after a reason does not start with: "i love | this one" is one statement."""
ENDS_A_PHRASE = frozenset("back up down on off in out over again too please now instead then".split())
"""Words a request does not start with: they end the one before."""
POINTER = re.compile(r"\b(?:it|them|that)\b")
"""Words that point at what was said before."""
CHANGED_SLOTS = ("direction", "source")
"""Arguments a follow-up of only their value changes ("actually my face" after "air to the feet")."""


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
        if mine := self._referent(previous, "driver"):  # "turn mine off" after heating the passenger's seat
            words = re.sub(r"\bmine\b", mine, words, count=1)
        return " ".join(words.split())

    def _referent(self, previous: Call | None, place: str | None = None) -> str | None:
        """What "it" names after ``previous``; with ``place``, what that place's one is called (only for actions
        with a place)."""
        spec = self.sentences.referents.get(previous.name) if previous else None
        if isinstance(spec, dict):
            (key, phrases), = spec.items()
            return phrases.get(place or previous.args.get(key, CATALOGUE[previous.name].arg(key).default))
        return None if place else spec

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
                if KEPT.match(clause) or PLEA.match(clause) or (calls and self._narrows(clause, calls[-1])):
                    continue
                found = self._clause(clause, last) or (number and self._with_borrowed_verb(clause, clauses[number - 1], last))
                if not found:
                    break
                calls += found
            else:
                calls = _said_once(calls)
                if calls and not _repeats_a_placeless_action(calls):
                    return calls
        return (self._clause(words, previous, answering) or self._refused_then_asked(words, previous)
                or self._run_on(words, previous))

    def _run_on(self, words: str, previous: Call | None) -> list[Call] | None:
        """ "ac on fan to three", "i hate this song next": two requests without a word between them, as recognisers
        write them; or a request with a reason beside it ("that truck stinks stop letting the outside air in").
        Each request must be understood whole by a template of its own; "it" in the second is the first's thing
        ("turn it up" after a climate request is not the volume); a reason is a statement that neither hedges nor
        tells a story nor speaks of another domain; a plea ("can you do something") asks for nothing more."""
        parts = words.split()
        for cut in range(2, len(parts) - 1):  # a request of one word takes the words after it ("start | the music")
            if parts[cut - 1] in OPENS_A_PHRASE or parts[cut] in ENDS_A_PHRASE:
                continue  # "play it over | bluetooth", "start the music | back up": a phrase cut, not two requests
            first, second = " ".join(parts[:cut]), " ".join(parts[cut:])
            second = normalize(second)  # "... can you warm it up"
            said = self._request(first, previous)
            if said is None:
                if self._is_a_reason(first) and parts[cut] not in POINTS_AT and (then := self._request(second, previous)) \
                        and not self._speaks_of_another_domain(first, then):
                    return [then]
                continue
            if PLEA.match(second) or (CATALOGUE[said.name].kind == "command" and self._is_a_reason(second, after=True)
                                      and not self._speaks_of_another_domain(second, said)):
                return [said]  # "open my window it is stuffy in here"
            if (then := self._then(second, said)) is None:
                continue
            if STATE.match(first) != STATE.match(second):  # "i am hot open the window": the state is the reason
                return [then if STATE.match(first) else said]
            if {said.name, then.name} == {"navigate_to", "find_place"} and said.args == then.args:
                return [said if said.name == "find_place" else then]  # "i need cash is there an atm around here"
            calls = _said_once([said, then])
            if "undo" not in {c.name for c in calls} and not _repeats_a_placeless_action(calls):
                return calls
        return None

    def _then(self, words: str, said: Call) -> Call | None:
        """The request after ``said`` in a run-on sentence; "it" is what ``said`` changed, else the same domain's."""
        if (restated := self._restated(words, said)) != words and (then := self._request(restated, said)):
            return then
        then = self._request(words, said)
        if then and POINTER.search(words) and then.name != said.name:
            return None  # "my seat is freezing warm it up": "it" is the seat, not the cabin's temperature
        return then

    @staticmethod
    def _is_a_reason(words: str, after: bool = False) -> bool:
        """A statement that can be the reason for a request: before it, one opening as reasons do ("that truck
        stinks"); after it, a state or a "because" ("... it is stuffy in here")."""
        opens = (STATE.match(words) or words.startswith("because ")) if after else REASON.match(words)
        return len(words.split()) > 1 and bool(opens) and not (
            HEDGES.search(words) or NARRATIVE.search(words) or re.search(r"\byou\b", words))

    def _speaks_of_another_domain(self, reason: str, call: Call) -> bool:
        """ "the fan is too loud open the window": the reason asks for something else, not understood; "the rear
        window open it halfway": it names what the request is about, so it is part of the request."""
        domain, key = CATALOGUE[call.name].domain, place_arg(call.name)
        if key and self.sentences.grammar.lists[SLOT_LISTS[key]].find(reason) is not None:
            return True
        return any((a.domain != domain or a.name == call.name) and a.kind == "command" and a.is_plausible_for(reason)
                   for a in CATALOGUE.values() if a.domain != "dialogue")

    def _request(self, words: str, previous: Call | None) -> Call | None:
        """A request of a template of its own, or a negated one, for ``words`` whole."""
        negated = NEGATED.match(words)
        if not any(self.sentences.any_request.fullmatch(w + " ") for w in (words, with_digits(words), negated and negated["rest"])
                   if w):
            return None
        if found := self._intent(words, previous):
            return found
        if negated and (found := self._intent(negated["rest"], previous)):
            return Call(found.name, found.args, declined=True)
        return None

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
        found = (self._request(words, previous) or self._follow_up(words, previous, answering)
                 or self._amount_follow_up(words, previous))
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
            if key in arg_names(previous.name) and (value := self.slot_value(SLOT_LISTS[key], phrase)) is not None:
                return Call(previous.name, {**previous.args, **(value if isinstance(value, dict) else {key: value})})
        if previous.name not in SET_IT:
            return None
        name, key = SET_IT[previous.name]
        if name not in AMOUNT_LISTS:
            return None
        value = self.slot_value(AMOUNT_LISTS[name], phrase)
        if value is None:
            return None
        if isinstance(value, float | int) and previous.args.get(key, 0) < 0:
            value = -value  # "max" after "seat cooling on": cooling at the most
        places = {k: v for k, v in previous.args.items() if k in PLACE_ARGS and k in arg_names(name)}
        return Call(name, {**places, **(value if isinstance(value, dict) else {key: value})})

    def _changed_for_a_place(self, phrase: str, previous: Call) -> Call | None:
        """``phrase`` as a place and a change, in either order, every word one of the two."""
        key = place_arg(previous.name)
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
                return completed(Call(compiled.rule.target, args), previous)
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
        if compiled.template.has_text and any(self._ends_in_a_request(v) for v in found.values() if isinstance(v, str)):
            return None
        for name in compiled.rule.negate:
            args[name] = -args[name]
        return args

    def _ends_in_a_request(self, name: str) -> bool:
        """ "paris open the window": a name that ends in a request of a fixed template is two requests."""
        words = name.split()
        return any(self.sentences.fixed_request.fullmatch(" ".join(words[start:]) + " ") is not None
                   for start in range(1, len(words) - 1))

    def _follow_up(self, words: str, previous: Call | None, answering: bool = False) -> Call | None:
        for compiled in self.sentences.follow_ups:
            if (args := self._match(compiled, words)) is None:
                continue
            kind = "set_it" if compiled.rule.target == "answer" and answering else compiled.rule.target
            if kind == "undo":
                return Call("undo")
            if previous is None or kind in (*DIALOGUE_ACTS, "answer"):
                return None
            return resolved(kind, args, previous, answering)
        return None


def _said_once(calls: list[Call]) -> list[Call]:
    """ "There's a smell outside, stop bringing in outside air": a reason and a request asking for the same thing
    are one request."""
    meant = [_with_defaults(call) for call in calls]
    return [call for number, call in enumerate(calls) if meant[number] not in meant[:number]]


def _with_defaults(call: Call) -> Call:
    """The call with the arguments it leaves out at the catalogue's defaults."""
    defaults = {a.name: a.default for a in CATALOGUE[call.name].args if a.default is not None} if call.name in CATALOGUE else {}
    return Call(call.name, defaults | call.args, call.declined)


def _repeats_a_placeless_action(calls: list[Call]) -> bool:
    """ "Play Simon and Garfunkel" read as two things to play: an action with no place to tell its calls apart
    said twice in one sentence is one name with "and" in it, not two requests."""
    names = [c.name for c in calls if not set(PLACE_ARGS) & set(arg_names(c.name))]
    return len(names) != len(set(names))
