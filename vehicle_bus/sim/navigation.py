"""Navigation ECU: destinations by name, POI category or coordinates; distance, ETA, traffic; driving.

While a route is active the car drives toward the destination as simulated time advances: its
speed depends on the remaining distance (motorway, country road, town) and the traffic level,
which follows a fixed cycle so runs are repeatable.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from vehicle_bus.signals import EXTENSION_PREFIX
from vehicle_bus.sim.ecu import Changes, Ecu, Rejected, State
from vehicle_bus.sim.gazetteer import POI_BRANDS, Gazetteer, Place, distance_km

NAV = "Vehicle.Cabin.Infotainment.Navigation"
EXT_NAV = f"{EXTENSION_PREFIX}Navigation"
DEST_LAT, DEST_LON = f"{NAV}.DestinationSet.Latitude", f"{NAV}.DestinationSet.Longitude"
DEST_NAME, ROUTE_STATUS = f"{EXT_NAV}.DestinationName", f"{EXT_NAV}.RouteStatus"
DISTANCE, TIME_LEFT, TRAFFIC = f"{EXT_NAV}.DistanceToDestination", f"{EXT_NAV}.TimeToDestination", \
    f"{EXT_NAV}.TrafficLevel"
LATITUDE, LONGITUDE, SPEED = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude", "Vehicle.Speed"

ROAD_FACTOR = 1.25
"""Road distance per straight-line distance."""
MAX_ROUTE_KM = 5000.0
ARRIVAL_KM = 0.05
TRAFFIC_FACTORS = {"LIGHT": 1.0, "MODERATE": 0.7, "HEAVY": 0.4}
TRAFFIC_CYCLE = ("LIGHT", "LIGHT", "MODERATE", "HEAVY", "MODERATE")
TRAFFIC_PERIOD_S = 300.0
_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def cruise_speed_kmh(remaining_km: float) -> float:
    """Free-flow speed: motorway for long legs, country road, then town."""
    return 110.0 if remaining_km > 50 else 70.0 if remaining_km > 5 else 40.0


class NavigationEcu(Ecu):
    prefixes = (f"{NAV}.", f"{EXT_NAV}.")

    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer
        self._clock_s = 0.0
        threading.Thread(target=gazetteer.warm_up, name="gazetteer", daemon=True).start()

    @property
    def traffic(self) -> str:
        return TRAFFIC_CYCLE[int(self._clock_s // TRAFFIC_PERIOD_S) % len(TRAFFIC_CYCLE)]

    def apply(self, path: str, value: Any, state: State) -> Changes:
        if path == DEST_NAME:
            return self._cancel(state) if not value.strip() else self._route_to(self._find(value, state), state)
        if path in (DEST_LAT, DEST_LON):
            active = state[ROUTE_STATUS] == "ACTIVE"
            lat = value if path == DEST_LAT else (state[DEST_LAT] if active else state[LATITUDE])
            lon = value if path == DEST_LON else (state[DEST_LON] if active else state[LONGITUDE])
            return self._route_to(Place(f"{lat:.5f}, {lon:.5f}", lat, lon, "coordinates"), state)
        return {path: value}

    def _find(self, query: str, state: State) -> Place:
        if query.startswith("poi:"):  # poi:<category>[:<rank>], rank 1 = nearest
            category, _, rank = query.removeprefix("poi:").strip().lower().partition(":")
            if category not in POI_BRANDS:
                raise Rejected(f"unknown kind of place {category!r}; known kinds: {', '.join(POI_BRANDS)}")
            if not rank.isdigit() or not 1 <= int(rank) <= 5:
                rank = "1" if not rank else ""
            if not rank:
                raise Rejected("a point of interest rank must be 1 to 5")
            return self.gazetteer.nearby(category, state[LATITUDE], state[LONGITUDE], count=5)[int(rank) - 1]
        if match := _COORDINATES.match(query):
            lat, lon = float(match[1]), float(match[2])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise Rejected(f"{query!r} are not valid coordinates")
            return Place(f"{lat:.5f}, {lon:.5f}", lat, lon, "coordinates")
        place = self.gazetteer.find_city(query)
        if place is None:
            raise Rejected(f"there is no place called {query.strip()!r} in the offline map")
        return place

    def _route_to(self, place: Place, state: State) -> Changes:
        remaining = ROAD_FACTOR * distance_km(state[LATITUDE], state[LONGITUDE], place.latitude, place.longitude)
        if remaining < ARRIVAL_KM:
            raise Rejected(f"the car is already at {place.name}")
        if remaining > MAX_ROUTE_KM:
            raise Rejected(f"{place.name} is {remaining:,.0f} km away, too far for a road route")
        return {DEST_LAT: place.latitude, DEST_LON: place.longitude, DEST_NAME: place.name,
                ROUTE_STATUS: "ACTIVE"} | self._progress(remaining)

    def _progress(self, remaining_km: float) -> Changes:
        speed = cruise_speed_kmh(remaining_km) * TRAFFIC_FACTORS[self.traffic]
        return {DISTANCE: round(remaining_km, 2), TIME_LEFT: round(remaining_km / speed * 3600),
                SPEED: round(speed, 1), TRAFFIC: self.traffic}

    @staticmethod
    def _cancel(state: State) -> Changes:
        status = "IDLE" if state[ROUTE_STATUS] == "ACTIVE" else state[ROUTE_STATUS]
        return {DEST_NAME: "", ROUTE_STATUS: status, DISTANCE: 0.0, TIME_LEFT: 0, SPEED: 0.0}

    def tick(self, seconds: float, state: State) -> Changes:
        self._clock_s += seconds
        if state[ROUTE_STATUS] != "ACTIVE":
            return {TRAFFIC: self.traffic} if state[TRAFFIC] != self.traffic else {}
        lat, lon, dest_lat, dest_lon = state[LATITUDE], state[LONGITUDE], state[DEST_LAT], state[DEST_LON]
        remaining = ROAD_FACTOR * distance_km(lat, lon, dest_lat, dest_lon)
        step = state[SPEED] * seconds / 3600
        if step >= remaining - ARRIVAL_KM:
            return {LATITUDE: dest_lat, LONGITUDE: dest_lon, ROUTE_STATUS: "ARRIVED", DISTANCE: 0.0, TIME_LEFT: 0,
                    SPEED: 0.0, TRAFFIC: self.traffic}
        fraction = step / remaining
        return {LATITUDE: round(lat + (dest_lat - lat) * fraction, 6),
                LONGITUDE: round(lon + (dest_lon - lon) * fraction, 6)} | self._progress(remaining - step)
