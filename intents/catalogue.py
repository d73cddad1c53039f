"""The intent catalogue: every function of the car as a typed action.

One table (:data:`CATALOGUE`) says, per action, its arguments (types, ranges, enums, defaults and
the question to ask when one is missing), the VSS signals it sets, and its reply. The fast path,
the LLM grammar and prompt, validation, ``carvoice intents list`` and the docs are derived from it.

Actions only *plan* vehicle writes (:meth:`Action.plan`); the dialogue layer sends them and builds
the reply from what the vehicle acknowledged (:meth:`Action.reply`). What an action is lives in
:mod:`intents.actions`, how each is planned and answered in :mod:`intents.planners`; this module is the table.
"""

from __future__ import annotations

from vehicle_bus.signals import (AIR_CONDITIONING, CABIN_TEMPERATURE, DESTINATION_NAME,
                                 DISTANCE_TO_DESTINATION, FRONT_DEFROSTER, LOOKUP, MEDIA_ACTION, MEDIA_MUTED,
                                 MEDIA_SOURCE, MEDIA_VOLUME, OUTSIDE_TEMPERATURE, PLAYED_TRACK,
                                 REAR_DEFROSTER, RECIRCULATION, SAVED_PLACES, SELECTED_URI,
                                 TIME_TO_DESTINATION, TRAFFIC_LEVEL, UNMUTE_IN, air_distribution, fan_speed,
                                 seat_heating, station_temperature, window_position)

from intents.actions import Action, Arg, Refusal, change_of, setting
from intents.planners import (AIR_DIRECTIONS, CLIMATE_ZONES, DRIVER_SEAT, DRIVER_STATION, POI_CATEGORIES,
                              SEATS, SOURCES, infer_unit, no_plan, plan_air_distribution,
                              plan_cancel_navigation, plan_change_fan, plan_change_temperature,
                              plan_change_volume, plan_defroster, plan_look_up, plan_mute, plan_navigate,
                              plan_play, plan_save_place, plan_seat, plan_set_fan, plan_set_temperature,
                              plan_volume, plan_window, reply_air_distribution, reply_cabin_temperature,
                              reply_defroster, reply_eta, reply_fan, reply_find_place, reply_mute,
                              reply_navigate, reply_now_playing, reply_outside_temperature, reply_pause,
                              reply_play, reply_save_place, reply_seat, reply_source, reply_temperature,
                              reply_traffic, reply_travel_time, reply_undone, reply_volume, reply_window,
                              said_switch, seat_paths, stations, switch, window_paths)


# -- argument kinds shared by several actions -------------------------------------------------------
def zone_arg(default: str = "front") -> Arg:
    return Arg("zone", "enum", "climate zone", tuple(CLIMATE_ZONES), default=default)


def seat_arg(name: str, default: str) -> Arg:
    return Arg(name, "enum", name, tuple(SEATS), default=default)


def on_arg(what: str) -> Arg:
    return Arg("on", "boolean", f"whether {what} is on", default=True)


# -- the catalogue ----------------------------------------------------------------------------------
def _actions() -> list[Action]:
    return [
        Action("set_temperature", "climate", "set the cabin temperature",
               (Arg("value", "number", "the temperature", minimum=-50, maximum=100, ask="What temperature would you like?"),
                Arg("unit", "enum", "temperature unit", ("celsius", "fahrenheit"), default="celsius"), zone_arg()),
               tuple(stations("all", station_temperature)), plan_set_temperature, reply_temperature,
               ("set the temperature to 21", "make it 70 degrees fahrenheit", "driver side 22 degrees"),
               infer=infer_unit),
        Action("change_temperature", "climate", "make it warmer (delta > 0) or cooler (delta < 0), in degrees",
               (Arg("delta", "number", "the temperature change",
                    **change_of(station_temperature(DRIVER_STATION)), default=1.0), zone_arg()),
               tuple(stations("all", station_temperature)), plan_change_temperature, reply_temperature,
               ("warmer", "two degrees cooler", "I'm cold")),
        Action("set_fan_speed", "climate", "set the fan speed in percent; 0 turns the fan off",
               (Arg("level", "integer", "the fan speed", **setting(fan_speed(DRIVER_STATION)),
                    ask="How strong should the fan be?"), zone_arg()),
               tuple(stations("all", fan_speed)), plan_set_fan, reply_fan,
               ("fan to half", "fan off", "max fan")),
        Action("change_fan_speed", "climate", "more (delta > 0) or less (delta < 0) fan, in percent",
               (Arg("delta", "integer", "the fan change", **change_of(fan_speed(DRIVER_STATION)), default=20),
                zone_arg()),
               tuple(stations("all", fan_speed)), plan_change_fan, reply_fan, ("more air", "less fan")),
        Action("set_air_conditioning", "climate", "switch the air conditioning on or off", (on_arg("AC"),),
               (AIR_CONDITIONING,), switch(AIR_CONDITIONING),
               said_switch("Air conditioning", AIR_CONDITIONING), ("turn on the AC", "AC off")),
        Action("set_recirculation", "climate", "switch air recirculation on or off", (on_arg("recirculation"),),
               (RECIRCULATION,), switch(RECIRCULATION),
               said_switch("Recirculation", RECIRCULATION), ("recirculate the air",)),
        Action("set_defroster", "climate", "switch the front (windscreen) or rear window defroster",
               (Arg("window", "enum", "which defroster", ("front", "rear"), default="front"), on_arg("the defroster")),
               (FRONT_DEFROSTER, REAR_DEFROSTER), plan_defroster,
               reply_defroster, ("defrost the windscreen", "rear defroster off")),
        Action("set_air_distribution", "climate", "direct the air: UP windscreen, MIDDLE face, DOWN feet",
               (Arg("direction", "enum", "air direction", AIR_DIRECTIONS, ask="Feet, face or windscreen?"),
                zone_arg()),
               tuple(stations("all", air_distribution)), plan_air_distribution, reply_air_distribution,
               ("air to my feet",)),
        Action("set_seat_heating", "climate", "seat heating (level > 0) or cooling (level < 0) in percent; 0 = off",
               (Arg("level", "integer", "the seat level", **setting(seat_heating(DRIVER_SEAT)), default=66),
                seat_arg("seat", "driver")),
               tuple(seat_paths("all")), plan_seat, reply_seat, ("heat my seat", "passenger seat heating off")),
        Action("set_window", "climate", "open (position 100) or close (0) windows, in percent",
               (Arg("position", "integer", "the window opening", **setting(window_position(DRIVER_SEAT)),
                    ask="Open or close it?"),
                seat_arg("window", "driver")),
               tuple(window_paths("all")), plan_window, reply_window, ("open my window", "close all windows")),
        Action("play_media", "media", "play music: an artist, album, song, station or genre; empty resumes",
               (Arg("query", "text", "what to play"),), (SELECTED_URI, MEDIA_ACTION),
               plan_play, reply_play, ("play some jazz", "play Bohemian Rhapsody", "resume the music")),
        Action("pause_media", "media", "pause playback", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "STOP")], reply_pause, ("pause the music",)),
        Action("next_track", "media", "skip to the next track or station", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "SKIP_FORWARD")], reply_play, ("next song",)),
        Action("previous_track", "media", "go back to the previous track or station", (), (MEDIA_ACTION,),
               lambda args, state: [(MEDIA_ACTION, "SKIP_BACKWARD")], reply_play, ("previous track",)),
        Action("set_volume", "media", "set the media volume in percent",
               (Arg("level", "integer", "the volume", **setting(MEDIA_VOLUME), ask="What volume?"),),
               (MEDIA_VOLUME,), plan_volume, reply_volume, ("volume to 30",)),
        Action("change_volume", "media", "louder (delta > 0) or quieter (delta < 0), in percent",
               (Arg("delta", "integer", "the volume change", **change_of(MEDIA_VOLUME), default=10),),
               (MEDIA_VOLUME,), plan_change_volume, reply_volume, ("louder", "turn it down")),
        Action("mute_media", "media", "mute (on) or unmute (off) the media, optionally for some minutes",
               (on_arg("mute"), Arg("minutes", "number", "how long to stay muted", minimum=1, maximum=720)),
               (MEDIA_MUTED, UNMUTE_IN), plan_mute, reply_mute, ("mute", "mute for ten minutes", "unmute")),
        Action("set_media_source", "media", "switch the audio source",
               (Arg("source", "enum", "the audio source", tuple(SOURCES), ask="Which source?"),),
               (MEDIA_SOURCE,), switch(MEDIA_SOURCE, "source"), reply_source,
               ("switch to bluetooth", "play the radio")),
        Action("navigate_to", "navigation",
               "start route guidance to a city, or to poi:<category> for the nearest " + "/".join(POI_CATEGORIES),
               (Arg("destination", "text", "the destination", ask="Where would you like to go?"),),
               (DESTINATION_NAME,), plan_navigate, reply_navigate,
               ("navigate to Munich", "take me to the nearest charging station")),
        Action("cancel_navigation", "navigation", "stop route guidance", (), (DESTINATION_NAME,),
               plan_cancel_navigation, lambda args, state: "Route guidance stopped.", ("cancel the route",)),
        Action("save_place", "navigation", "save the destination (or, without a route, where the car is) by name",
               (Arg("name", "text", "the name to save it as", ask="What should I call it?"),), (SAVED_PLACES,),
               plan_save_place, reply_save_place, ("save this as work", "remember this place as home")),
        Action("ask_travel_time", "navigation", "tell how long and how far it is to a place, without starting a route",
               (Arg("destination", "text", "the place", ask="To where?"),), (LOOKUP,), plan_look_up,
               reply_travel_time, ("how long to drive to Munich", "how far is it to Hamburg"), kind="question"),
        Action("find_place", "navigation", "find the nearest poi:<category> without starting a route",
               (Arg("destination", "text", "what to find", ask="What are you looking for?"),), (LOOKUP,),
               plan_look_up, reply_find_place, ("where is the nearest pharmacy", "is there a charger nearby"),
               kind="question"),
        Action("ask_traffic", "info", "tell how the traffic is on the route or around here", (),
               (TRAFFIC_LEVEL,), no_plan, reply_traffic, ("how's the traffic", "is there a jam on my route"),
               kind="question"),
        Action("ask_cabin_temperature", "info", "tell the temperature inside the car", (),
               (CABIN_TEMPERATURE,), no_plan, reply_cabin_temperature,
               ("what's the temperature inside",), kind="question"),
        Action("ask_outside_temperature", "info", "tell the temperature outside", (),
               (OUTSIDE_TEMPERATURE,), no_plan, reply_outside_temperature,
               ("how cold is it outside",), kind="question"),
        Action("ask_now_playing", "info", "tell what is playing", (), (PLAYED_TRACK,), no_plan,
               reply_now_playing, ("what's playing",), kind="question"),
        Action("ask_eta", "info", "tell the time and distance to the destination", (),
               (TIME_TO_DESTINATION, DISTANCE_TO_DESTINATION), no_plan, reply_eta,
               ("how long until we arrive",), kind="question"),
        Action("undo", "dialogue", "undo the last action", (), (), no_plan, reply_undone, ("cancel that",),
               kind="dialogue"),
    ]


CATALOGUE: dict[str, Action] = {action.name: action for action in _actions()}


def get_action(name: str) -> Action:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise Refusal("Sorry, I can't do that in this car.") from None
