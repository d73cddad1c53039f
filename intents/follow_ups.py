"""Follow-ups: what "a bit more", "same for the passenger", "the other side" or "take me there" mean after the
request (or the question) before them."""

from __future__ import annotations

from typing import Any

from intents.catalogue import CATALOGUE
from intents.planners import destination_of
from intents.sentences import Call

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
OTHER_SIDE = {("inside", "ask_outside_temperature"): "ask_cabin_temperature",
              ("outside", "ask_cabin_temperature"): "ask_outside_temperature"}
"""Follow-up -> the question "and in here?" asks after the one before."""
MIRRORED = {"driver": "passenger", "passenger": "driver", "rear_left": "rear_right", "rear_right": "rear_left",
            "front": "rear", "rear": "front"}
"""A place -> "the other side" of it."""


def completed(call: Call, previous: Call | None) -> Call:
    """Arguments a template leaves to the context: destinations as the ECU takes them, the zone of a change."""
    args = dict(call.args)
    if isinstance(args.get("destination"), str) and not args["destination"].startswith("poi:"):
        args["destination"] = destination_of(args["destination"])
    if call.name == "change_temperature" and "zone" not in args and previous and "temperature" in previous.name:
        if "zone" in previous.args:
            args["zone"] = previous.args["zone"]
    return Call(call.name, args)


def resolved(kind: str, args: dict[str, Any], previous: Call, answering: bool) -> Call | None:
    """A follow-up made concrete by the request before it (or by the question it answers)."""
    if kind == "same_for":
        key = place_arg(previous.name)
        if key and answering:  # "on the passenger side" to "What temperature would you like?"
            return Call(previous.name, {**previous.args, key: args["place"]})
        return Call("same_for", {"place": args["place"]}) if key else None
    if kind == "set_it" and previous.name in SET_IT:
        name, key = SET_IT[previous.name]
        if key not in previous.args and not CATALOGUE[name].arg(key).required:
            return None  # "make it thirty" after a plain "mute": thirty of nothing said
        places = {k: v for k, v in previous.args.items() if k in PLACE_ARGS and k in arg_names(name)}
        return Call(name, {**places, key: args["value"]})
    if kind in ("more", "less", "again") and previous.name in RELATIVE:
        name, step = RELATIVE[previous.name]
        zone = {"zone": previous.args["zone"]} if "zone" in previous.args else {}
        if kind == "again" and previous.args.get("delta", 0) < 0:
            kind = "less"  # "a bit cooler" ... "a little more": cooler again
        return Call(name, {"delta": -step if kind == "less" else step, **zone})
    if kind == "instead" and previous.name in ("navigate_to", "find_place", "ask_travel_time"):
        return completed(Call(previous.name, args), previous)
    if kind == "other_place" and (key := place_arg(previous.name)):
        place = previous.args.get(key, CATALOGUE[previous.name].arg(key).default)
        return Call(previous.name, {**previous.args, key: MIRRORED[place]}) if place in MIRRORED else None
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


def arg_names(action_name: str) -> tuple[str, ...]:
    return tuple(a.name for a in CATALOGUE[action_name].args) if action_name in CATALOGUE else ()


def place_arg(action_name: str) -> str | None:
    """The argument that names a place of the car for this action ("zone", "seat", "window"), if it has one."""
    return next((k for k in PLACE_ARGS if k in arg_names(action_name)), None)
