"""The fast path's templates: every catalogue example understood, every slot value valid, nothing keyword-spotted."""

from __future__ import annotations

import pytest

from intents.catalogue import CATALOGUE, MissingArgument
from intents.fastpath import Call, FastPath, compile_sentences, default_sentences
from intents.templates import TemplateError

EXAMPLES = [(name, said) for name, action in CATALOGUE.items() for said in action.examples]


@pytest.fixture(scope="module")
def fast_path() -> FastPath:
    return FastPath()


@pytest.mark.parametrize("name, said", EXAMPLES)
def test_every_catalogue_example_is_understood_as_its_action(name, said, fast_path):
    calls = fast_path.parse(said)
    assert calls and calls[0].name == name, calls


def test_every_slot_value_is_a_valid_argument_of_the_action_it_fills():
    sentences = default_sentences()
    for compiled in sentences.intents:
        action = CATALOGUE[compiled.rule.target]
        for arg_name, list_name in compiled.template.slots.values():
            if list_name in ("number", "text"):
                continue
            for value in sentences.grammar.lists[list_name].values.values():
                args = value if isinstance(value, dict) else {arg_name: value}
                try:  # a Refusal (unknown choice, out of range) fails the test
                    action.validate({**compiled.rule.args, **args})
                except MissingArgument:
                    pass


@pytest.mark.parametrize("said", [
    "close the sunroof and open the window a bit",   # an unknown part: nothing is guessed
    "open the window unless it rains",
    "maybe turn on the AC",
    "if it gets cold turn on the heat",
    "the fan and the volume",
    "what do you think about the AC",
])
def test_a_sentence_with_words_no_template_accounts_for_is_left_to_the_llm(said, fast_path):
    assert fast_path.parse(said) is None


def test_each_clause_keeps_its_own_verb_and_negation(fast_path):
    assert fast_path.parse("turn off the fan and the AC") == [Call("set_fan_speed", {"level": 0}),
                                                               Call("set_air_conditioning", {"on": False})]
    declined = fast_path.parse("I'm hot but don't turn on the AC")
    assert [c.name for c in declined] == ["change_temperature", "set_air_conditioning"]
    assert [c.declined for c in declined] == [False, True]


def test_to_is_absolute_and_by_is_relative(fast_path):
    assert fast_path.parse("raise the volume to 40") == [Call("set_volume", {"level": 40.0})]
    assert fast_path.parse("raise the volume by 40") == [Call("change_volume", {"delta": 40.0})]
    assert fast_path.parse("lower the temperature by two degrees") == [Call("change_temperature", {"delta": -2.0})]


@pytest.mark.parametrize("said, calls", [
    ("sound down three", [Call("change_volume", {"delta": -3.0})]),    # up/down without "to" is a step
    ("sound down to three", [Call("set_volume", {"level": 3.0})]),
    ("temperature up one", [Call("change_temperature", {"delta": 1.0})]),
    ("temperature down to nineteen", [Call("set_temperature", {"value": 19.0})]),
])
def test_up_or_down_with_a_bare_number_is_a_step_and_with_to_a_level(said, calls, fast_path):
    assert fast_path.parse(said) == calls


@pytest.mark.parametrize("said", [
    "play the previous track again",       # another media action, not a title
    "play it over bluetooth",              # a source
    "play the navigation voice louder",
    "how far is it from the sun to mars",  # a sentence, not a place
    "how long is that",                    # a pointer, not a place
])
def test_free_text_slots_hold_names_not_other_requests(said, fast_path):
    calls = fast_path.parse(said) or []
    assert not any(c.args.get("query") or c.args.get("destination") for c in calls), calls


def test_a_name_with_and_in_it_is_one_thing_to_play(fast_path):
    assert fast_path.parse("play simon and garfunkel") == [Call("play_media", {"query": "simon and garfunkel"})]
    assert fast_path.parse("turn off the fan and the ac") == [Call("set_fan_speed", {"level": 0}),
                                                              Call("set_air_conditioning", {"on": False})]


def test_more_after_a_change_continues_it_in_its_direction(fast_path):
    cooler = Call("change_temperature", {"delta": -1.0})
    assert fast_path.parse("a bit more", cooler) == [Call("change_temperature", {"delta": -1.0})]
    assert fast_path.parse("higher", cooler) == [Call("change_temperature", {"delta": 1.0})]
    assert fast_path.parse("more", Call("change_volume", {"delta": 10})) == [Call("change_volume", {"delta": 10})]


@pytest.mark.parametrize("said, previous, calls", [
    ("no make it 19", Call("set_temperature", {"value": 21.0, "zone": "front"}),
     [Call("set_temperature", {"zone": "front", "value": 19})]),
    ("actually my face", Call("set_air_distribution", {"direction": "DOWN", "zone": "driver"}),
     [Call("set_air_distribution", {"direction": "MIDDLE", "zone": "driver"})]),
    ("turn it down to low", Call("set_seat_heating", {"level": 66, "seat": "passenger"}),
     [Call("set_seat_heating", {"seat": "passenger", "level": 33})]),
    ("actually make it thirty", Call("mute_media", {"on": True, "minutes": 10}),
     [Call("mute_media", {"minutes": 30})]),
    ("make it thirty", Call("mute_media", {"on": True}), None),  # thirty of nothing said
    ("no more seat heating", Call("set_seat_heating", {"level": 66, "seat": "driver"}),
     [Call("set_seat_heating", {"level": 0})]),  # a sentence of its own, not a "no" before "more seat heating"
    # "it" and "them" name what the last request changed; "back" and "again" restore or repeat it
    ("close them", Call("set_window", {"position": 100, "window": "rear"}),
     [Call("set_window", {"position": 0, "window": "rear"})]),
    ("wait no, turn it back on", Call("set_air_conditioning", {"on": False}), [Call("set_air_conditioning")]),
    ("switch it off again", Call("set_seat_heating", {"level": 66, "seat": "passenger"}),
     [Call("set_seat_heating", {"level": 0, "seat": "passenger"})]),
    ("open it half way", Call("set_window", {"position": 20, "window": "passenger"}),
     [Call("set_window", {"position": 50, "window": "passenger"})]),
    ("turn it up", Call("set_window", {"position": 20, "window": "passenger"}), [Call("change_volume")]),
])
def test_a_follow_up_changes_what_it_names_of_the_last_request(said, previous, calls, fast_path):
    assert fast_path.parse(said, previous) == calls


def test_a_broken_template_is_refused_with_its_place():
    data = {"expansions": {}, "lists": {}, "intents": {"set_volume": ["volume {nowhere:level}"]}, "follow_ups": {}}
    with pytest.raises(TemplateError, match=r"intents.set_volume: unknown slot list 'nowhere'"):
        compile_sentences(data)
    data["intents"] = {"fly_away": ["fly"]}
    with pytest.raises(TemplateError, match="actions the catalogue does not have: fly_away"):
        compile_sentences(data)
