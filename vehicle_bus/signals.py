"""The vehicle signal catalogue: every signal the simulated car exposes, by COVESA VSS path.

This table is the single source of truth for signal names, datatypes, units and ranges.
Validation (:meth:`Signal.coerce`), the simulator's default state, ``carvoice sim signals``
and the README's signal table are all derived from it. Code names a signal by the constants and
lookups below (``SPEED``, ``seat_heating("Row1.DriverSide")``), never by retyping its path.

Names follow VSS v5.x. VSS sets no limits for some actuators (cabin temperature); there
the car's own limits apply and the row says so (``limit_source="car"``). Signals under
``Vehicle.Private.Carvoice.`` are project extensions for what VSS has no signal for
(destination name, route status, distance and time to destination, traffic, media mute,
the steering-wheel push-to-talk button).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

EXTENSION_PREFIX = "Vehicle.Private.Carvoice."
# Branches: the prefixes of whole groups of signals (an ECU owns the signals under its branches).
HVAC = "Vehicle.Cabin.HVAC"
SEAT = "Vehicle.Cabin.Seat"
DOOR = "Vehicle.Cabin.Door"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
NAVIGATION = "Vehicle.Cabin.Infotainment.Navigation"
MEDIA_EXTENSION, NAVIGATION_EXTENSION = f"{EXTENSION_PREFIX}Media", f"{EXTENSION_PREFIX}Navigation"

HVAC_STATIONS = tuple(f"Row{row}.{side}" for row in (1, 2) for side in ("Driver", "Passenger"))
"""The climate zones, as VSS names the HVAC stations: ``Row1.Driver`` ... ``Row2.Passenger``."""
SEAT_POSITIONS = tuple(f"Row{row}.{side}Side" for row in (1, 2) for side in ("Driver", "Passenger"))
"""Seats and their doors, as VSS names them: ``Row1.DriverSide`` ... ``Row2.PassengerSide``."""

AIR_CONDITIONING = f"{HVAC}.IsAirConditioningActive"
RECIRCULATION = f"{HVAC}.IsRecirculationActive"
FRONT_DEFROSTER, REAR_DEFROSTER = f"{HVAC}.IsFrontDefrosterActive", f"{HVAC}.IsRearDefrosterActive"
CABIN_TEMPERATURE = f"{HVAC}.AmbientAirTemperature"
OUTSIDE_TEMPERATURE = "Vehicle.Exterior.AirTemperature"

MEDIA_ACTION, MEDIA_VOLUME, MEDIA_SOURCE = f"{MEDIA}.Action", f"{MEDIA}.Volume", f"{MEDIA}.Played.Source"
PLAYED_TRACK, PLAYED_ARTIST = f"{MEDIA}.Played.Track", f"{MEDIA}.Played.Artist"
PLAYED_ALBUM, PLAYED_GENRE = f"{MEDIA}.Played.Album", f"{MEDIA}.Played.Genre"
PLAYED_URI, SELECTED_URI = f"{MEDIA}.Played.URI", f"{MEDIA}.SelectedURI"
MEDIA_MUTED, UNMUTE_IN = f"{MEDIA_EXTENSION}.IsMuted", f"{MEDIA_EXTENSION}.UnmuteIn"

DESTINATION_LATITUDE = f"{NAVIGATION}.DestinationSet.Latitude"
DESTINATION_LONGITUDE = f"{NAVIGATION}.DestinationSet.Longitude"
NAVIGATION_MUTE, NAVIGATION_VOLUME = f"{NAVIGATION}.Mute", f"{NAVIGATION}.Volume"
DESTINATION_NAME = f"{NAVIGATION_EXTENSION}.DestinationName"
ROUTE_STATUS = f"{NAVIGATION_EXTENSION}.RouteStatus"
DISTANCE_TO_DESTINATION = f"{NAVIGATION_EXTENSION}.DistanceToDestination"
TIME_TO_DESTINATION = f"{NAVIGATION_EXTENSION}.TimeToDestination"
TRAFFIC_LEVEL = f"{NAVIGATION_EXTENSION}.TrafficLevel"
SAVED_PLACES = f"{NAVIGATION_EXTENSION}.SavedPlaces"
LOOKUP, LOOKUP_NAME = f"{NAVIGATION_EXTENSION}.Lookup", f"{NAVIGATION_EXTENSION}.LookupName"
LOOKUP_DISTANCE, LOOKUP_TIME = f"{NAVIGATION_EXTENSION}.LookupDistance", f"{NAVIGATION_EXTENSION}.LookupTime"

LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
SPEED = "Vehicle.Speed"
PUSH_TO_TALK = f"{EXTENSION_PREFIX}PushToTalk.IsPressed"


def station_temperature(station: str) -> str:
    """The set temperature of an HVAC station (``Row1.Driver``)."""
    return f"{HVAC}.Station.{station}.Temperature"


def fan_speed(station: str) -> str:
    return f"{HVAC}.Station.{station}.FanSpeed"


def air_distribution(station: str) -> str:
    return f"{HVAC}.Station.{station}.AirDistribution"


def seat_heating(seat: str) -> str:
    """Heating (+) or cooling (-) of a seat (``Row1.DriverSide``)."""
    return f"{SEAT}.{seat}.HeatingCooling"


def window_position(door: str) -> str:
    """How far the window of a door (``Row1.DriverSide``) is open."""
    return f"{DOOR}.{door}.Window.Position"


def window_is_open(door: str) -> str:
    return f"{DOOR}.{door}.Window.IsOpen"


_INTEGER_BOUNDS = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "uint16": (0, 65535),
    "int16": (-32768, 32767),
    "uint32": (0, 2**32 - 1),
}
_FLOAT_TYPES = {"float", "double"}


class Kind(StrEnum):
    """VSS signal kind: actuators accept set requests, sensors are read-only."""

    ACTUATOR = "actuator"
    SENSOR = "sensor"


class SignalValueError(ValueError):
    """A value does not fit a signal (wrong type, out of range, not an allowed value)."""


class UnknownSignalError(KeyError):
    """A VSS path that the car does not have."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path

    def __str__(self) -> str:
        return f"unknown signal {self.path!r}"


@dataclass(frozen=True)
class Signal:
    """One VSS signal with its datatype, unit, range and default value in the simulated car."""

    path: str
    datatype: str
    kind: Kind
    default: Any
    description: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    limit_source: str = "vss"

    @property
    def is_extension(self) -> bool:
        return self.path.startswith(EXTENSION_PREFIX)

    @property
    def is_actuator(self) -> bool:
        return self.kind is Kind.ACTUATOR

    def coerce(self, value: Any) -> Any:
        """Return ``value`` in this signal's Python type, or raise :class:`SignalValueError`."""
        if self.datatype == "boolean":
            if not isinstance(value, bool):
                raise SignalValueError(f"{self.path} expects true or false, got {_show(value)}")
            return value
        if self.datatype == "string":
            if not isinstance(value, str):
                raise SignalValueError(f"{self.path} expects a string, got {_show(value)}")
            if self.allowed is not None and value not in self.allowed:
                raise SignalValueError(f"{self.path} must be one of {', '.join(self.allowed)}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SignalValueError(f"{self.path} expects a number, got {_show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise SignalValueError(f"{self.path} expects a finite number, got {value!r}")
        if self.datatype in _INTEGER_BOUNDS and value != int(value):
            raise SignalValueError(f"{self.path} expects a whole number ({self.datatype}), got {value!r}")
        low, high = self.bounds
        if not low <= value <= high:  # exact for integers of any size, before converting them
            unit = f" {self.unit}" if self.unit else ""
            raise SignalValueError(f"{self.path} must be between {_num(low)} and "
                                   f"{_num(high)}{unit}, got {_num(value)}")
        return int(value) if self.datatype in _INTEGER_BOUNDS else float(value)

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted numeric range: the signal's own limits, else its datatype's."""
        type_low, type_high = _INTEGER_BOUNDS.get(self.datatype, (-sys.float_info.max, sys.float_info.max))
        return (self.min if self.min is not None else type_low,
                self.max if self.max is not None else type_high)

    def range_text(self) -> str:
        if self.allowed:
            return " / ".join(self.allowed)
        if self.min is None and self.max is None:
            return ""
        note = " (car limit)" if self.limit_source == "car" else ""
        return f"{_num(self.min)}..{_num(self.max)}{note}"


def _too_big_for_float(value: Any) -> bool:
    return isinstance(value, int) and abs(value) > sys.float_info.max


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if _too_big_for_float(value):  # no float format, and too long to print
        return f"a number of about {round(abs(value).bit_length() * math.log10(2))} digits"
    return f"{value:g}"


def _show(value: Any) -> str:
    text = _num(value) if _too_big_for_float(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(position: str) -> str:
    """``Row1.DriverSide`` -> "row 1 driver side"."""
    row, side = position.split(".")
    return f"row {row.removeprefix('Row')} {side.replace('Side', ' side').lower()}"


def _rows() -> list[Signal]:
    A, S = Kind.ACTUATOR, Kind.SENSOR
    rows = [
        Signal(AIR_CONDITIONING, "boolean", A, False, "Air conditioning on"),
        Signal(RECIRCULATION, "boolean", A, False, "Cabin air recirculation on"),
        Signal(FRONT_DEFROSTER, "boolean", A, False, "Front windscreen defroster on"),
        Signal(REAR_DEFROSTER, "boolean", A, False, "Rear window defroster on"),
        Signal(CABIN_TEMPERATURE, "float", S, 22.0, "Air temperature inside the cabin", "celsius"),
        Signal(OUTSIDE_TEMPERATURE, "float", S, 12.0, "Air temperature outside the car", "celsius"),
    ]
    for station in HVAC_STATIONS:
        where = _where(station)
        rows += [
            Signal(station_temperature(station), "float", A, 21.0, f"Set temperature, {where}", "celsius",
                   16.0, 28.0, limit_source="car"),
            Signal(fan_speed(station), "uint8", A, 30, f"Fan speed, {where}; 0 = off", "percent", 0, 100),
            Signal(air_distribution(station), "string", A, "MIDDLE", f"Air direction, {where}",
                   allowed=("UP", "MIDDLE", "DOWN")),
        ]
    for seat in SEAT_POSITIONS:
        where = _where(seat)
        rows += [
            Signal(seat_heating(seat), "int8", A, 0,
                   f"Seat heating (+) or cooling (-), {where}; 0 = off", "percent", -100, 100),
            Signal(window_position(seat), "uint8", A, 0, f"Window opening, {where}; 0 = closed", "percent",
                   0, 100),
            Signal(window_is_open(seat), "boolean", S, False, f"Window not fully closed, {where}"),
        ]
    rows += [
        Signal(MEDIA_ACTION, "string", A, "STOP",
               "Playback command and state (pause maps to STOP, keeping the track)",
               allowed=("UNKNOWN", "STOP", "PLAY", "FAST_FORWARD", "FAST_BACKWARD", "SKIP_FORWARD",
                        "SKIP_BACKWARD")),
        Signal(MEDIA_VOLUME, "uint8", A, 30, "Media volume", "percent", 0, 100),
        Signal(MEDIA_SOURCE, "string", A, "FM", "Media source",
               allowed=("UNKNOWN", "SIRIUS_XM", "AM", "FM", "DAB", "TV", "CD", "DVD", "AUX", "USB", "DISK",
                        "BLUETOOTH", "INTERNET", "VOICE", "BEEP")),
        Signal(PLAYED_TRACK, "string", S, "", "Track (or station) being played"),
        Signal(PLAYED_ARTIST, "string", S, "", "Artist being played"),
        Signal(PLAYED_ALBUM, "string", S, "", "Album being played"),
        Signal(PLAYED_GENRE, "string", S, "", "Genre being played (VSS 5.1)"),
        Signal(PLAYED_URI, "string", S, "", "URI of what is being played"),
        Signal(SELECTED_URI, "string", A, "",
               "What to play: a media: URI from the library, or search:<words>"),
        Signal(MEDIA_MUTED, "boolean", A, False, "Media muted (extension: VSS has no media mute)"),
        Signal(UNMUTE_IN, "uint32", A, 0, "Mute for this long, then unmute by "
                                          "itself; 0 = no timer (extension)", "s", 0, 86_400),
        Signal(DESTINATION_LATITUDE, "double", A, 0.0, "Destination latitude, WGS 84", "degrees",
               -90.0, 90.0),
        Signal(DESTINATION_LONGITUDE, "double", A, 0.0, "Destination longitude, WGS 84", "degrees",
               -180.0, 180.0),
        Signal(NAVIGATION_MUTE, "string", A, "UNMUTED", "Navigation voice guidance",
               allowed=("MUTED", "ALERT_ONLY", "UNMUTED")),
        Signal(NAVIGATION_VOLUME, "uint8", A, 50, "Navigation voice volume", "percent", 0, 100),
        Signal(DESTINATION_NAME, "string", A, "",
               "Destination by name: a place, poi:<category>, or empty to cancel (extension)"),
        Signal(ROUTE_STATUS, "string", S, "IDLE", "Route guidance state (extension)",
               allowed=("IDLE", "ACTIVE", "ARRIVED")),
        Signal(DISTANCE_TO_DESTINATION, "float", S, 0.0, "Remaining route distance (extension)", "km",
               0.0, None),
        Signal(TIME_TO_DESTINATION, "uint32", S, 0, "Estimated time to arrival (extension)", "s"),
        Signal(TRAFFIC_LEVEL, "string", S, "LIGHT", "Traffic on the route (extension)",
               allowed=("LIGHT", "MODERATE", "HEAVY")),
        Signal(SAVED_PLACES, "string", A, "{}",
               'Saved places as a JSON object {"home": "<place or lat, lon>"}; usable '
               'as destinations (extension)'),
        Signal(LOOKUP, "string", A, "",
               "Place to look up without starting guidance: a place, poi:<category> or "
               "a saved place (extension)"),
        Signal(LOOKUP_NAME, "string", S, "", "The place last looked up (extension)"),
        Signal(LOOKUP_DISTANCE, "float", S, 0.0, "Road distance to the place looked up (extension)", "km",
               0.0, None),
        Signal(LOOKUP_TIME, "uint32", S, 0, "Driving time to the place looked up, in "
                                            "today's traffic (extension)", "s"),
        Signal(LATITUDE, "double", S, 48.137154, "Current latitude, WGS 84", "degrees", -90.0, 90.0),
        Signal(LONGITUDE, "double", S, 11.576124, "Current longitude, WGS 84", "degrees", -180.0, 180.0),
        Signal(SPEED, "float", S, 0.0, "Vehicle speed", "km/h", 0.0, 250.0),
        Signal(PUSH_TO_TALK, "boolean", S, False, "Steering-wheel push-to-talk button held (extension)"),
    ]
    return rows


SIGNALS: dict[str, Signal] = {signal.path: signal for signal in _rows()}


def get_signal(path: str) -> Signal:
    """Look a signal up by VSS path, raising :class:`UnknownSignalError` for paths the car lacks."""
    try:
        return SIGNALS[path]
    except KeyError:
        raise UnknownSignalError(path) from None


def default_state() -> dict[str, Any]:
    """Every signal at its default value: the state of a new simulated car."""
    return {path: signal.default for path, signal in SIGNALS.items()}


def markdown_table() -> str:
    """The signal catalogue as a Markdown table (used by the README and ``carvoice sim signals``)."""
    lines = ["| VSS path | kind | type | unit | range / values |", "| --- | --- | --- | --- | --- |"]
    for signal in SIGNALS.values():
        name = f"`{signal.path}`" + (" (ext)" if signal.is_extension else "")
        lines.append(f"| {name} | {signal.kind} | {signal.datatype} | {signal.unit or ''} | "
                     f"{signal.range_text()} |")
    return "\n".join(lines)
