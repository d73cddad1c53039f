"""Climate ECU: per-zone temperature and fan, AC, defrost, recirculation, seats and windows."""

from __future__ import annotations

from typing import Any

from vehicle_bus.signals import (AIR_CONDITIONING, CABIN_TEMPERATURE, DOOR, FRONT_DEFROSTER, HVAC,
                                  HVAC_STATIONS, OUTSIDE_TEMPERATURE, SEAT, SEAT_POSITIONS, air_distribution,
                                  fan_speed, station_temperature, window_is_open, window_position)
from vehicle_bus.sim.ecu import Changes, Ecu, State

FRONT_STATIONS = tuple(station for station in HVAC_STATIONS if station.startswith("Row1."))
WINDOW_IS_OPEN = {window_position(door): window_is_open(door) for door in SEAT_POSITIONS}
AC_FAN_DEFAULT = 30
"""Fan speed the front stations get when AC or the defroster is switched on with the fans off."""
HEATING_RATE_C_PER_S = 0.02
"""How fast the cabin approaches the set temperature at 100 % fan."""
LEAK_RATE_PER_S = 0.0005
"""How fast the cabin drifts toward the outside temperature with the fans off."""


class ClimateEcu(Ecu):
    prefixes = (f"{HVAC}.", f"{SEAT}.", f"{DOOR}.")

    def apply(self, path: str, value: Any, state: State) -> Changes:
        changes: Changes = {path: value}
        if path in WINDOW_IS_OPEN:
            changes[WINDOW_IS_OPEN[path]] = value > 0
        if value is True and path in (AIR_CONDITIONING, FRONT_DEFROSTER):
            changes |= {fan_speed(station): AC_FAN_DEFAULT
                        for station in FRONT_STATIONS if state[fan_speed(station)] == 0}
        if value is True and path == FRONT_DEFROSTER:
            changes |= {air_distribution(station): "UP" for station in FRONT_STATIONS}
        return changes

    def tick(self, seconds: float, state: State) -> Changes:
        cabin = state[CABIN_TEMPERATURE]
        fan = sum(state[fan_speed(s)] for s in FRONT_STATIONS) / len(FRONT_STATIONS)
        if fan > 0:
            target = sum(state[station_temperature(s)] for s in FRONT_STATIONS) / len(FRONT_STATIONS)
            step = HEATING_RATE_C_PER_S * fan / 100 * seconds
        else:
            target = state[OUTSIDE_TEMPERATURE]
            step = LEAK_RATE_PER_S * abs(target - cabin) * seconds
        moved = round(cabin + max(-step, min(step, target - cabin)), 2)
        return {CABIN_TEMPERATURE: moved} if moved != cabin else {}
