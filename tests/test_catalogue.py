"""The intent catalogue against the signal table: the signals its actions use, their arguments' ranges."""

from __future__ import annotations

import itertools

import pytest

from intents.actions import Action, Refusal
from intents.catalogue import CATALOGUE
from intents.planners import TEMPERATURE_RANGE
from vehicle_bus.signals import ROUTE_STATUS, SIGNALS, UNMUTE_IN, default_state

SAMPLE_ARGS = {"set_temperature": {"value": 21, "unit": "celsius"}, "set_fan_speed": {"level": 40},
               "set_window": {"position": 30}, "set_air_distribution": {"direction": "DOWN"},
               "set_volume": {"level": 20}, "set_media_source": {"source": "USB"},
               "play_media": {"query": "jazz"}, "save_place": {"name": "gym"},
               "navigate_to": {"destination": "Augsburg"}, "ask_travel_time": {"destination": "Augsburg"},
               "find_place": {"destination": "poi:fuel"}, "mute_media": {"minutes": 5}}
"""Arguments for the actions that need some, so that each can be planned."""
SETTINGS = {("set_fan_speed", "level"), ("set_seat_heating", "level"), ("set_window", "position"),
            ("set_volume", "level")}
"""Arguments whose value is written as it is: their range is the signal's."""
CHANGES = {("change_temperature", "delta"), ("change_fan_speed", "delta"), ("change_volume", "delta")}
"""Arguments that change a signal by an amount: at most the signal's span, either way."""
OWN_RANGES = {("set_temperature", "value"), ("mute_media", "minutes")}
"""Arguments in units of their own (°C or °F; minutes), checked against the signal below."""


class ReadState(dict):
    """A vehicle state that remembers which signals were read from it."""

    def __init__(self, values: dict):
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, path: str):
        self.read.add(path)
        return super().__getitem__(path)


def route_state() -> dict:
    return default_state() | {ROUTE_STATUS: "ACTIVE"}  # a route to cancel, and a destination to save


def calls(action: Action) -> list[dict]:
    """The action's sample arguments, once for every choice of its other enum arguments (zone, seat...)."""
    base = SAMPLE_ARGS.get(action.name, {})
    enums = [arg for arg in action.args if arg.type == "enum" and arg.name not in base]
    return [base | dict(zip((a.name for a in enums), choice))
            for choice in itertools.product(*(a.choices for a in enums))]


def planned(action: Action, args: dict, state: dict | None = None) -> list[tuple[str, object]]:
    return action.plan(action.validate(args), ReadState(state or route_state()))


@pytest.mark.parametrize("name", [n for n in CATALOGUE if n != "undo"])
def test_every_signal_an_action_writes_or_reads_is_in_the_table(name):
    action = CATALOGUE[name]
    assert set(action.signals) <= set(SIGNALS)
    for args in calls(action):
        checked = action.validate(args)
        before = ReadState(route_state())
        plan = action.plan(checked, before)
        assert {path for path, _ in plan} <= set(action.signals), args
        for path, value in plan:
            SIGNALS[path].coerce(value)  # the value fits the signal
        after = ReadState(route_state() | dict(plan))
        action.reply(checked, after)
        assert before.read | after.read <= set(SIGNALS), args


def test_every_numeric_argument_has_its_range_checked_here():
    numeric = {(action.name, arg.name) for action in CATALOGUE.values() for arg in action.args
               if arg.type in ("number", "integer")}
    assert numeric == SETTINGS | CHANGES | OWN_RANGES


@pytest.mark.parametrize("name, arg_name", sorted(SETTINGS))
def test_an_argument_that_sets_a_signal_has_the_signal_range(name, arg_name):
    action = CATALOGUE[name]
    arg = action.arg(arg_name)
    for value in (arg.minimum, arg.maximum):
        plan = planned(action, SAMPLE_ARGS.get(name, {}) | {arg_name: value})
        assert plan and all(written == value for _, written in plan)
        assert all(SIGNALS[path].bounds == (arg.minimum, arg.maximum) for path, _ in plan)


@pytest.mark.parametrize("name, arg_name", sorted(CHANGES))
def test_an_argument_that_changes_a_signal_spans_the_signal_range(name, arg_name):
    action = CATALOGUE[name]
    arg = action.arg(arg_name)
    paths = action.signals
    low, high = SIGNALS[paths[0]].bounds
    assert all(SIGNALS[path].bounds == (low, high) for path in paths)
    assert (arg.minimum, arg.maximum) == (low - high, high - low)
    from_low = planned(action, {arg_name: arg.maximum}, route_state() | dict.fromkeys(paths, low))
    from_high = planned(action, {arg_name: arg.minimum}, route_state() | dict.fromkeys(paths, high))
    assert {v for _, v in from_low} == {high} and {v for _, v in from_high} == {low}


def test_the_temperatures_the_catalogue_sets_are_the_signal_range():
    action, (low, high) = CATALOGUE["set_temperature"], TEMPERATURE_RANGE
    assert all(SIGNALS[path].bounds == (low, high) for path in action.signals)
    for value in (low, high):
        assert {v for _, v in planned(action, {"value": value, "unit": "celsius"})} == {value}
    for value in (low - 0.5, high + 0.5):
        with pytest.raises(Refusal):
            planned(action, {"value": value, "unit": "celsius"})
    said = action.arg("value")  # as said, in °C or °F: the planner refuses what the car cannot be set to
    assert said.minimum <= low and said.maximum >= high * 9 / 5 + 32


def test_the_longest_timed_mute_fits_the_unmute_timer():
    minutes = CATALOGUE["mute_media"].arg("minutes")
    low, high = SIGNALS[UNMUTE_IN].bounds
    assert low <= minutes.minimum * 60 and minutes.maximum * 60 <= high


@pytest.mark.parametrize("name, arg_name", [("set_air_distribution", "direction"),
                                            ("set_media_source", "source")])
def test_an_enum_argument_written_as_it_is_takes_only_values_the_signal_allows(name, arg_name):
    action = CATALOGUE[name]
    assert all(set(action.arg(arg_name).choices) <= set(SIGNALS[path].allowed) for path in action.signals)
