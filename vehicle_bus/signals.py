"""The vehicle signal catalogue: every signal the simulated car exposes, by COVESA VSS path.

This table is the single source of truth for signal names, datatypes, units and ranges.
Validation (:meth:`Signal.coerce`), the simulator's default state, ``carvoice sim signals``
and the README's signal table are all derived from it.

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
            raise SignalValueError(f"{self.path} must be between {_num(low)} and {_num(high)}{unit}, got {_num(value)}")
        return int(value) if self.datatype in _INTEGER_BOUNDS else float(value)

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted numeric range: the signal's own limits, else its datatype's."""
        type_low, type_high = _INTEGER_BOUNDS.get(self.datatype, (-sys.float_info.max, sys.float_info.max))
        return (self.min if self.min is not None else type_low, self.max if self.max is not None else type_high)

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


def _rows() -> list[Signal]:
    A, S = Kind.ACTUATOR, Kind.SENSOR
    hvac = "Vehicle.Cabin.HVAC"
    media = "Vehicle.Cabin.Infotainment.Media"
    nav = "Vehicle.Cabin.Infotainment.Navigation"
    ext = EXTENSION_PREFIX
    rows = [
        Signal(f"{hvac}.IsAirConditioningActive", "boolean", A, False, "Air conditioning on"),
        Signal(f"{hvac}.IsRecirculationActive", "boolean", A, False, "Cabin air recirculation on"),
        Signal(f"{hvac}.IsFrontDefrosterActive", "boolean", A, False, "Front windscreen defroster on"),
        Signal(f"{hvac}.IsRearDefrosterActive", "boolean", A, False, "Rear window defroster on"),
        Signal(f"{hvac}.AmbientAirTemperature", "float", S, 22.0, "Air temperature inside the cabin", "celsius"),
        Signal("Vehicle.Exterior.AirTemperature", "float", S, 12.0, "Air temperature outside the car", "celsius"),
    ]
    for row in (1, 2):
        for side in ("Driver", "Passenger"):
            station = f"{hvac}.Station.Row{row}.{side}"
            where = f"row {row} {side.lower()}"
            rows += [
                Signal(f"{station}.Temperature", "float", A, 21.0, f"Set temperature, {where}", "celsius",
                       16.0, 28.0, limit_source="car"),
                Signal(f"{station}.FanSpeed", "uint8", A, 30, f"Fan speed, {where}; 0 = off", "percent", 0, 100),
                Signal(f"{station}.AirDistribution", "string", A, "MIDDLE", f"Air direction, {where}",
                       allowed=("UP", "MIDDLE", "DOWN")),
            ]
    for row in (1, 2):
        for side in ("DriverSide", "PassengerSide"):
            where = f"row {row} {side.removesuffix('Side').lower()} side"
            seat = f"Vehicle.Cabin.Seat.Row{row}.{side}"
            window = f"Vehicle.Cabin.Door.Row{row}.{side}.Window"
            rows += [
                Signal(f"{seat}.HeatingCooling", "int8", A, 0,
                       f"Seat heating (+) or cooling (-), {where}; 0 = off", "percent", -100, 100),
                Signal(f"{window}.Position", "uint8", A, 0, f"Window opening, {where}; 0 = closed", "percent", 0, 100),
                Signal(f"{window}.IsOpen", "boolean", S, False, f"Window not fully closed, {where}"),
            ]
    rows += [
        Signal(f"{media}.Action", "string", A, "STOP",
               "Playback command and state (pause maps to STOP, keeping the track)",
               allowed=("UNKNOWN", "STOP", "PLAY", "FAST_FORWARD", "FAST_BACKWARD", "SKIP_FORWARD", "SKIP_BACKWARD")),
        Signal(f"{media}.Volume", "uint8", A, 30, "Media volume", "percent", 0, 100),
        Signal(f"{media}.Played.Source", "string", A, "FM", "Media source",
               allowed=("UNKNOWN", "SIRIUS_XM", "AM", "FM", "DAB", "TV", "CD", "DVD", "AUX", "USB", "DISK",
                        "BLUETOOTH", "INTERNET", "VOICE", "BEEP")),
        Signal(f"{media}.Played.Track", "string", S, "", "Track (or station) being played"),
        Signal(f"{media}.Played.Artist", "string", S, "", "Artist being played"),
        Signal(f"{media}.Played.Album", "string", S, "", "Album being played"),
        Signal(f"{media}.Played.Genre", "string", S, "", "Genre being played (VSS 5.1)"),
        Signal(f"{media}.Played.URI", "string", S, "", "URI of what is being played"),
        Signal(f"{media}.SelectedURI", "string", A, "",
               "What to play: a media: URI from the library, or search:<words>"),
        Signal(f"{ext}Media.IsMuted", "boolean", A, False, "Media muted (extension: VSS has no media mute)"),
        Signal(f"{ext}Media.UnmuteIn", "uint32", A, 0, "Mute for this long, then unmute by itself; 0 = no "
               "timer (extension)", "s", 0, 86_400),
        Signal(f"{nav}.DestinationSet.Latitude", "double", A, 0.0, "Destination latitude, WGS 84", "degrees",
               -90.0, 90.0),
        Signal(f"{nav}.DestinationSet.Longitude", "double", A, 0.0, "Destination longitude, WGS 84", "degrees",
               -180.0, 180.0),
        Signal(f"{nav}.Mute", "string", A, "UNMUTED", "Navigation voice guidance",
               allowed=("MUTED", "ALERT_ONLY", "UNMUTED")),
        Signal(f"{nav}.Volume", "uint8", A, 50, "Navigation voice volume", "percent", 0, 100),
        Signal(f"{ext}Navigation.DestinationName", "string", A, "",
               "Destination by name: a place, poi:<category>, or empty to cancel (extension)"),
        Signal(f"{ext}Navigation.RouteStatus", "string", S, "IDLE", "Route guidance state (extension)",
               allowed=("IDLE", "ACTIVE", "ARRIVED")),
        Signal(f"{ext}Navigation.DistanceToDestination", "float", S, 0.0, "Remaining route distance (extension)",
               "km", 0.0, None),
        Signal(f"{ext}Navigation.TimeToDestination", "uint32", S, 0, "Estimated time to arrival (extension)", "s"),
        Signal(f"{ext}Navigation.TrafficLevel", "string", S, "LIGHT", "Traffic on the route (extension)",
               allowed=("LIGHT", "MODERATE", "HEAVY")),
        Signal(f"{ext}Navigation.SavedPlaces", "string", A, "{}",
               'Saved places as a JSON object {"home": "<place or lat, lon>"}; usable as destinations (extension)'),
        Signal(f"{ext}Navigation.Lookup", "string", A, "",
               "Place to look up without starting guidance: a place, poi:<category> or a saved place (extension)"),
        Signal(f"{ext}Navigation.LookupName", "string", S, "", "The place last looked up (extension)"),
        Signal(f"{ext}Navigation.LookupDistance", "float", S, 0.0, "Road distance to the place looked up (extension)",
               "km", 0.0, None),
        Signal(f"{ext}Navigation.LookupTime", "uint32", S, 0, "Driving time to the place looked up, in today's "
               "traffic (extension)", "s"),
        Signal("Vehicle.CurrentLocation.Latitude", "double", S, 48.137154, "Current latitude, WGS 84", "degrees",
               -90.0, 90.0),
        Signal("Vehicle.CurrentLocation.Longitude", "double", S, 11.576124, "Current longitude, WGS 84", "degrees",
               -180.0, 180.0),
        Signal("Vehicle.Speed", "float", S, 0.0, "Vehicle speed", "km/h", 0.0, 250.0),
        Signal(f"{ext}PushToTalk.IsPressed", "boolean", S, False,
               "Steering-wheel push-to-talk button held (extension)"),
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
        lines.append(f"| {name} | {signal.kind} | {signal.datatype} | {signal.unit or ''} | {signal.range_text()} |")
    return "\n".join(lines)
