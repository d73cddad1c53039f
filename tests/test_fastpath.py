"""The fast path's templates: every catalogue example understood, every slot value valid, nothing keyword-spotted."""

from __future__ import annotations

import pytest

from intents.actions import MissingArgument
from intents.catalogue import CATALOGUE
from intents.fastpath import Call, FastPath
from intents.sentences import compile_sentences, default_sentences
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
    # another place, with or without a new amount or direction, in the words a driver uses
    ("same for me", Call("change_temperature", {"delta": -2, "zone": "passenger"}),
     [Call("same_for", {"place": "driver"})]),
    ("for the passenger too", Call("set_seat_heating", {"level": -66, "seat": "driver"}),
     [Call("same_for", {"place": "passenger"})]),
    ("and the same up front", Call("set_fan_speed", {"level": 60, "zone": "rear"}),
     [Call("same_for", {"place": "front"})]),
    ("and mine on low", Call("set_seat_heating", {"level": 66, "seat": "passenger"}),
     [Call("set_seat_heating", {"seat": "driver", "level": 33})]),
    ("and the feet for the back", Call("set_air_distribution", {"direction": "UP", "zone": "front"}),
     [Call("set_air_distribution", {"direction": "DOWN", "zone": "rear"})]),
    ("still cold", Call("change_temperature", {"delta": 1, "zone": "passenger"}),
     [Call("change_temperature", {"delta": 1, "zone": "passenger"})]),
    ("bit more", Call("change_fan_speed", {"delta": 20}), [Call("change_fan_speed", {"delta": 20})]),
    # a self-correction inside the sentence: only what follows counts, read against what it corrects
    ("no not twenty twenty three", Call("set_temperature", {"value": 20}), [Call("set_temperature", {"value": 23})]),
    ("and in here?", Call("ask_outside_temperature"), [Call("ask_cabin_temperature")]),
    ("actually make that York", Call("navigate_to", {"destination": "Sheffield"}),
     [Call("navigate_to", {"destination": "york"})]),
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


@pytest.mark.parametrize("said, calls", [
    ("set the temperature to twenty no twenty two", [Call("set_temperature", {"value": 22})]),
    ("turn the fan down um no actually up", [Call("change_fan_speed", {"delta": 20})]),
    ("take me to no name street", [Call("navigate_to", {"destination": "no name street"})]),  # a name, whole
    # what is refused, then what is wanted, with no "but" between them
    ("don't open the window close it", [Call("set_window", {"position": 100}, declined=True),
                                        Call("set_window", {"position": 0, "window": "driver"})]),
    ("not louder quieter", [Call("change_volume", declined=True), Call("change_volume", {"delta": -10})]),
    ("don't stop the music just turn it down", [Call("pause_media", declined=True),
                                                Call("change_volume", {"delta": -10})]),
])
def test_a_driver_correcting_themselves_gets_what_they_corrected_it_to(said, calls, fast_path):
    assert fast_path.parse(said) == calls


@pytest.mark.parametrize("said, calls", [
    ("I'd love to hear some fleetwood mac", [Call("play_media", {"query": "fleetwood mac"})]),
    ("play some classical music if that's possible", [Call("play_media", {"query": "classical music"})]),
    ("man, it's boiling in this car", [Call("change_temperature", {"delta": -2, "zone": "front"})]),
    ("my son in the back is freezing", [Call("change_temperature", {"delta": 2, "zone": "rear"})]),
    ("put the rear windows halfway down", [Call("set_window", {"position": 50, "window": "rear"})]),
    ("hold the music a sec", [Call("pause_media")]),
    ("I'm not hot, I'm cold", [Call("change_temperature", {"delta": -1, "zone": "front"}, declined=True),
                               Call("change_temperature", {"delta": 1, "zone": "front"})]),
    ("make the driver's side 20 and the passenger's side 23",
     [Call("set_temperature", {"zone": "driver", "value": 20}), Call("set_temperature", {"zone": "passenger", "value": 23})]),
    ("pause the music and tell me how long until we arrive", [Call("pause_media"), Call("ask_eta")]),
    ("would it be possible to open the passenger window halfway",
     [Call("set_window", {"position": 50, "window": "passenger"})]),
    ("warmer for me", [Call("change_temperature", {"zone": "driver"})]),  # a zone where a template takes it
    ("can you set the volume for me", [Call("set_volume")]),  # else politeness
])
def test_exclamations_asides_and_word_order_do_not_hide_the_request(said, calls, fast_path):
    assert fast_path.parse(said) == calls


@pytest.mark.parametrize("said, calls", [
    # two requests without a word between them, as recognisers write them
    ("ac on fan to four", [Call("set_air_conditioning"), Call("set_fan_speed", {"level": 40})]),
    ("drive to leeds open my window", [Call("navigate_to", {"destination": "leeds"}),
                                       Call("set_window", {"position": 100, "window": "driver"})]),
    ("put on some jazz volume down", [Call("play_media", {"query": "jazz"}), Call("change_volume", {"delta": -10})]),
    ("start the music back up", [Call("play_media")]),  # one phrase, not "start the music" and "back up"
    ("listen to jazz fm", [Call("play_media", {"query": "jazz fm"})]),  # a station, not jazz from the radio
    ("i need cash is there an atm around here", [Call("find_place", {"destination": "poi:atm"})]),
    # a reason beside the request: only the request is done
    ("the bus in front reeks stop letting the outside air in", [Call("set_recirculation")]),
    ("i am so hot open my window", [Call("set_window", {"position": 100, "window": "driver"})]),
    ("open my window it is stuffy in here", [Call("set_window", {"position": 100, "window": "driver"})]),
    ("i am really tired find a motel", [Call("find_place", {"destination": "poi:hotel"})]),
    ("i am freezing can you do something", [Call("change_temperature", {"delta": 2, "zone": "front"})]),
    # the same request said twice is done once
    ("no need for the seat heating any more turn it off", [Call("set_seat_heating", {"level": 0})]),
    ("actually we changed our mind cancel the route", [Call("cancel_navigation")]),
    ("could we have some nineties hip hop", [Call("play_media", {"query": "nineties hip hop"})]),
])
def test_run_on_requests_and_reasons_are_read_as_the_driver_means_them(said, calls, fast_path):
    assert fast_path.parse(said) == calls


@pytest.mark.parametrize("said", [
    "my brother just texted me open all the windows",  # a story, not a request
    "if it gets colder turn on the heat",  # a condition
    "my wife is cold turn it up",  # "it" is the volume by its template, not what the reason speaks of
    "play it over bluetooth",  # one phrase, not "play it over" and "bluetooth"
    "hmm too loud now undo that",  # undo beside another request: which one?
    "oh i really love this one",  # one statement, not a reason and "this one"
    "don't skip, i like this song",
])
def test_run_on_sentences_that_are_not_two_requests_are_not_split(said, fast_path):
    calls = fast_path.parse(said) or []
    assert not any(c.args.get("query") == "it over" for c in calls)
    assert said.startswith("play") or calls == [], calls


@pytest.mark.parametrize("said, previous, calls", [
    ("max", Call("set_seat_heating", {"level": -66, "seat": "passenger"}),
     [Call("set_seat_heating", {"seat": "passenger", "level": -100})]),  # cooling stays cooling
    ("no the other side", Call("set_window", {"position": 100}),
     [Call("set_window", {"position": 100, "window": "passenger"})]),
    ("turn mine off again", Call("set_seat_heating", {"seat": "passenger"}),
     [Call("set_seat_heating", {"level": 0, "seat": "driver"})]),
])
def test_follow_ups_keep_the_direction_and_mirror_the_place(said, previous, calls, fast_path):
    assert fast_path.parse(said, previous) == calls
