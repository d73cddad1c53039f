"""The signal table: VSS names, validation, and the docs derived from it."""

import re
from pathlib import Path

import pytest

from vehicle_bus import signals
from vehicle_bus.signals import SIGNALS, Kind, SignalValueError, get_signal, markdown_table

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"

# Names checked against COVESA VSS v5 (../shared/VSS.md): these must exist exactly as written.
VSS_NAMES = {
    "Vehicle.Cabin.HVAC.Station.Row1.Passenger.Temperature": ("float", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.Station.Row2.Driver.FanSpeed": ("uint8", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.Station.Row1.Driver.AirDistribution": ("string", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.IsAirConditioningActive": ("boolean", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.IsRecirculationActive": ("boolean", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.IsFrontDefrosterActive": ("boolean", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.IsRearDefrosterActive": ("boolean", Kind.ACTUATOR),
    "Vehicle.Cabin.HVAC.AmbientAirTemperature": ("float", Kind.SENSOR),
    "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling": ("int8", Kind.ACTUATOR),
    "Vehicle.Cabin.Door.Row1.PassengerSide.Window.Position": ("uint8", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Media.Action": ("string", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Media.Volume": ("uint8", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Media.Played.Source": ("string", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Media.Played.Artist": ("string", Kind.SENSOR),
    "Vehicle.Cabin.Infotainment.Media.Played.Album": ("string", Kind.SENSOR),
    "Vehicle.Cabin.Infotainment.Media.Played.Track": ("string", Kind.SENSOR),
    "Vehicle.Cabin.Infotainment.Media.SelectedURI": ("string", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude": ("double", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude": ("double", Kind.ACTUATOR),
    "Vehicle.Cabin.Infotainment.Navigation.Mute": ("string", Kind.ACTUATOR),
    "Vehicle.CurrentLocation.Latitude": ("double", Kind.SENSOR),
    "Vehicle.CurrentLocation.Longitude": ("double", Kind.SENSOR),
    "Vehicle.Speed": ("float", Kind.SENSOR),
}


@pytest.mark.parametrize("path, expected", VSS_NAMES.items())
def test_vss_names_types_and_kinds(path, expected):
    signal = get_signal(path)
    assert (signal.datatype, signal.kind) == expected


def test_removed_v4_names_are_not_used():
    assert not any(path.endswith(".Heating") for path in SIGNALS)
    assert not any(".Station.Row1.DriverSide" in path for path in SIGNALS)


def test_extensions_live_in_the_private_branch():
    extensions = [s.path for s in SIGNALS.values() if s.is_extension]
    assert "Vehicle.Private.Carvoice.Navigation.DestinationName" in extensions
    assert "Vehicle.Private.Carvoice.Navigation.TimeToDestination" in extensions
    assert all(path.startswith("Vehicle.Private.Carvoice.") for path in extensions)


def test_every_default_fits_its_own_signal():
    for signal in SIGNALS.values():
        assert signal.coerce(signal.default) == signal.default, signal.path


@pytest.mark.parametrize("path, value, expected", [
    (TEMPERATURE, 21, 21.0),
    (TEMPERATURE, 16, 16.0),
    (TEMPERATURE, 28.0, 28.0),
    ("Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", 40.0, 40),
    ("Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", -100, -100),
    ("Vehicle.Cabin.Infotainment.Media.Action", "PLAY", "PLAY"),
    ("Vehicle.Cabin.HVAC.IsAirConditioningActive", False, False),
])
def test_valid_values_are_coerced(path, value, expected):
    coerced = get_signal(path).coerce(value)
    assert coerced == expected and type(coerced) is type(expected)


@pytest.mark.parametrize("path, value, reason", [
    (TEMPERATURE, 15.9, "between 16 and 28 celsius"),
    (TEMPERATURE, 40, "between 16 and 28 celsius"),
    (TEMPERATURE, "21", "expects a number"),
    (TEMPERATURE, True, "expects a number"),
    (TEMPERATURE, None, "expects a number"),
    (TEMPERATURE, float("inf"), "finite"),
    ("Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", 101, "between 0 and 100"),
    ("Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", 50.5, "whole number"),
    ("Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", -101, "between -100 and 100"),
    ("Vehicle.Cabin.Infotainment.Media.Action", "PAUSE", "must be one of"),
    ("Vehicle.Cabin.Infotainment.Media.Action", 1, "expects a string"),
    ("Vehicle.Cabin.HVAC.IsAirConditioningActive", 1, "true or false"),
    ("Vehicle.Cabin.HVAC.IsAirConditioningActive", "true", "true or false"),
])
def test_invalid_values_are_refused_with_a_reason(path, value, reason):
    with pytest.raises(SignalValueError, match=reason):
        get_signal(path).coerce(value)


def test_readme_signal_table_is_the_generated_one():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert markdown_table() in readme, "README's signal table is stale: paste `carvoice sim signals --markdown`"


BRANCHES = (signals.HVAC, signals.SEAT, signals.DOOR, signals.MEDIA, signals.NAVIGATION,
            signals.EXTENSION_PREFIX, signals.MEDIA_EXTENSION, signals.NAVIGATION_EXTENSION)


def test_every_named_signal_and_lookup_is_in_the_table():
    named = [value for name, value in vars(signals).items() if name.isupper() and isinstance(value, str)
             and value.startswith("Vehicle.") and value not in BRANCHES]
    stations = [lookup(station) for station in signals.HVAC_STATIONS
                for lookup in (signals.station_temperature, signals.fan_speed, signals.air_distribution)]
    seats = [lookup(seat) for seat in signals.SEAT_POSITIONS
             for lookup in (signals.seat_heating, signals.window_position, signals.window_is_open)]
    assert len(named) > 30 and [path for path in named + stations + seats if path not in SIGNALS] == []
    assert all(any(path.startswith(branch.rstrip(".") + ".") for path in SIGNALS) for branch in BRANCHES)


def test_the_dash_page_names_only_signals_of_the_table():
    """The page's JavaScript and HTML spell paths out (they cannot import the table): each must be in it."""
    static = Path(__file__).parents[1] / "assistant" / "dash" / "static"
    page = (static / "index.html").read_text() + (static / "dash.js").read_text()
    branches = dict(re.findall(r'(\w+) = "(Vehicle\.[\w.]*\.)"', page))  # NAV = "Vehicle.(...).Navigation."
    joined = [branches[name] + rest for name, rest in re.findall(r'\b(\w+) \+ "([\w.]+)"', page)
              if name in branches]
    spelled = re.findall(r"Vehicle\.[\w.]*", page)
    unknown = [path for path in joined + spelled if path not in SIGNALS
               and not (path.endswith(".") and any(known.startswith(path) for known in SIGNALS))]
    assert len(joined) > 5 and len(spelled) > 20
    assert not unknown, f"the dash names signals the car lacks: {unknown}"
