"""Climate ECU: per-zone temperature and fan, AC, defrost, recirculation, seats and windows."""

from __future__ import annotations

from typing import Any

from vehicle_bus.sim.ecu import Changes, Ecu, State

HVAC = "Vehicle.Cabin.HVAC"
FRONT_STATIONS = (f"{HVAC}.Station.Row1.Driver", f"{HVAC}.Station.Row1.Passenger")
CABIN_TEMPERATURE = f"{HVAC}.AmbientAirTemperature"
EXTERIOR_TEMPERATURE = "Vehicle.Exterior.AirTemperature"
AC_FAN_DEFAULT = 30
"""Fan speed the front stations get when AC or the defroster is switched on with the fans off."""
HEATING_RATE_C_PER_S = 0.02
"""How fast the cabin approaches the set temperature at 100 % fan."""
LEAK_RATE_PER_S = 0.0005
"""How fast the cabin drifts toward the outside temperature with the fans off."""


class ClimateEcu(Ecu):
    prefixes = (f"{HVAC}.", "Vehicle.Cabin.Seat.", "Vehicle.Cabin.Door.")

    def apply(self, path: str, value: Any, state: State) -> Changes:
        changes: Changes = {path: value}
        if path.endswith(".Window.Position"):
            changes[path.removesuffix("Position") + "IsOpen"] = value > 0
        if value is True and path in (f"{HVAC}.IsAirConditioningActive", f"{HVAC}.IsFrontDefrosterActive"):
            changes |= {f"{station}.FanSpeed": AC_FAN_DEFAULT
                        for station in FRONT_STATIONS if state[f"{station}.FanSpeed"] == 0}
        if value is True and path == f"{HVAC}.IsFrontDefrosterActive":
            changes |= {f"{station}.AirDistribution": "UP" for station in FRONT_STATIONS}
        return changes

    def tick(self, seconds: float, state: State) -> Changes:
        cabin = state[CABIN_TEMPERATURE]
        fan = sum(state[f"{s}.FanSpeed"] for s in FRONT_STATIONS) / len(FRONT_STATIONS)
        if fan > 0:
            target = sum(state[f"{s}.Temperature"] for s in FRONT_STATIONS) / len(FRONT_STATIONS)
            step = HEATING_RATE_C_PER_S * fan / 100 * seconds
        else:
            target = state[EXTERIOR_TEMPERATURE]
            step = LEAK_RATE_PER_S * abs(target - cabin) * seconds
        moved = round(cabin + max(-step, min(step, target - cabin)), 2)
        return {CABIN_TEMPERATURE: moved} if moved != cabin else {}
