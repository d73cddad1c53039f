"""Navigation ECU: destinations by name, POI category or coordinates; distance, ETA, traffic; driving.

While a route is active the car drives toward the destination as simulated time advances: its
speed depends on the remaining distance (motorway, country road, town) and the traffic level,
which follows a fixed cycle so runs are repeatable.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from vehicle_bus.signals import (DESTINATION_LATITUDE, DESTINATION_LONGITUDE, DESTINATION_NAME,
                                  DISTANCE_TO_DESTINATION, LATITUDE, LONGITUDE, LOOKUP, LOOKUP_DISTANCE,
                                  LOOKUP_NAME, LOOKUP_TIME, NAVIGATION, NAVIGATION_EXTENSION, ROUTE_STATUS,
                                  SAVED_PLACES, SPEED, TIME_TO_DESTINATION, TRAFFIC_LEVEL)
from vehicle_bus.sim.ecu import Changes, Ecu, Rejected, State
from vehicle_bus.sim.gazetteer import POI_BRANDS, Gazetteer, Place, distance_km

ROAD_FACTOR = 1.25
"""Road distance per straight-line distance."""
MAX_ROUTE_KM = 5000.0
ARRIVAL_KM = 0.05
TRAFFIC_FACTORS = {"LIGHT": 1.0, "MODERATE": 0.7, "HEAVY": 0.4}
TRAFFIC_CYCLE = ("LIGHT", "LIGHT", "MODERATE", "HEAVY", "MODERATE")
TRAFFIC_PERIOD_S = 300.0
MAX_SAVED_PLACES = 50
SAVED_NAME = re.compile(r"[a-z][a-z0-9 ]{0,39}")
_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def cruise_speed_kmh(remaining_km: float) -> float:
    """Free-flow speed: motorway for long legs, country road, then town."""
    return 110.0 if remaining_km > 50 else 70.0 if remaining_km > 5 else 40.0


class NavigationEcu(Ecu):
    prefixes = (f"{NAVIGATION}.", f"{NAVIGATION_EXTENSION}.")

    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer
        self._clock_s = 0.0
        threading.Thread(target=gazetteer.warm_up, name="gazetteer", daemon=True).start()

    @property
    def traffic(self) -> str:
        return TRAFFIC_CYCLE[int(self._clock_s // TRAFFIC_PERIOD_S) % len(TRAFFIC_CYCLE)]

    def apply(self, path: str, value: Any, state: State) -> Changes:
        if path == DESTINATION_NAME:
            return self._cancel(state) if not value.strip() else self._route_to(self._find(value, state),
                                                                                state)
        if path == LOOKUP:
            return self._look_up(value, state)
        if path == SAVED_PLACES:
            return {SAVED_PLACES: json.dumps(saved_places(value), sort_keys=True)}
        if path in (DESTINATION_LATITUDE, DESTINATION_LONGITUDE):
            active = state[ROUTE_STATUS] == "ACTIVE"
            lat = value if path == DESTINATION_LATITUDE else \
                state[DESTINATION_LATITUDE if active else LATITUDE]
            lon = value if path == DESTINATION_LONGITUDE else \
                state[DESTINATION_LONGITUDE if active else LONGITUDE]
            return self._route_to(Place(f"{lat:.5f}, {lon:.5f}", lat, lon, "coordinates"), state)
        return {path: value}

    def _find(self, query: str, state: State) -> Place:
        name = query.strip().lower()
        saved = json.loads(state[SAVED_PLACES]).get(name)
        if saved is not None:  # "home", or "work (Augsburg, DE)" where the saved place is a town
            place = self._find(saved, {**state, SAVED_PLACES: "{}"})
            label = name if place.kind == "coordinates" else f"{name} ({place.name})"
            return Place(label, place.latitude, place.longitude, place.kind)
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
        remaining = self._road_km(place, state)
        if remaining < ARRIVAL_KM:
            raise Rejected(f"the car is already at {place.name}")
        return {DESTINATION_LATITUDE: place.latitude, DESTINATION_LONGITUDE: place.longitude,
                DESTINATION_NAME: place.name, ROUTE_STATUS: "ACTIVE"} | self._progress(remaining)

    def _look_up(self, query: str, state: State) -> Changes:
        """Distance and driving time to a place, without touching the route."""
        if not query.strip():
            return {LOOKUP: "", LOOKUP_NAME: "", LOOKUP_DISTANCE: 0.0, LOOKUP_TIME: 0}
        place = self._find(query, state)
        remaining = self._road_km(place, state)
        progress = self._progress(remaining)
        return {LOOKUP: query, LOOKUP_NAME: place.name, LOOKUP_DISTANCE: progress[DISTANCE_TO_DESTINATION],
                LOOKUP_TIME: progress[TIME_TO_DESTINATION]}

    @staticmethod
    def _road_km(place: Place, state: State) -> float:
        remaining = ROAD_FACTOR * distance_km(state[LATITUDE], state[LONGITUDE], place.latitude,
                                              place.longitude)
        if remaining > MAX_ROUTE_KM:
            raise Rejected(f"{place.name} is {remaining:,.0f} km away, too far for a road route")
        return remaining

    def _progress(self, remaining_km: float) -> Changes:
        speed = cruise_speed_kmh(remaining_km) * TRAFFIC_FACTORS[self.traffic]
        return {DISTANCE_TO_DESTINATION: round(remaining_km, 2),
                TIME_TO_DESTINATION: round(max(remaining_km, ARRIVAL_KM) / speed * 3600),
                SPEED: round(speed, 1), TRAFFIC_LEVEL: self.traffic}

    @staticmethod
    def _cancel(state: State) -> Changes:
        status = "IDLE" if state[ROUTE_STATUS] == "ACTIVE" else state[ROUTE_STATUS]
        return {DESTINATION_NAME: "", ROUTE_STATUS: status, DISTANCE_TO_DESTINATION: 0.0,
                TIME_TO_DESTINATION: 0, SPEED: 0.0}

    def tick(self, seconds: float, state: State) -> Changes:
        self._clock_s += seconds
        if state[ROUTE_STATUS] != "ACTIVE":
            return {TRAFFIC_LEVEL: self.traffic} if state[TRAFFIC_LEVEL] != self.traffic else {}
        lat, lon = state[LATITUDE], state[LONGITUDE]
        dest_lat, dest_lon = state[DESTINATION_LATITUDE], state[DESTINATION_LONGITUDE]
        remaining = ROAD_FACTOR * distance_km(lat, lon, dest_lat, dest_lon)
        step = state[SPEED] * seconds / 3600
        if step >= remaining - ARRIVAL_KM:
            return {LATITUDE: dest_lat, LONGITUDE: dest_lon, ROUTE_STATUS: "ARRIVED",
                    DISTANCE_TO_DESTINATION: 0.0, TIME_TO_DESTINATION: 0, SPEED: 0.0,
                    TRAFFIC_LEVEL: self.traffic}
        fraction = step / remaining
        return {LATITUDE: round(lat + (dest_lat - lat) * fraction, 6),
                LONGITUDE: round(lon + (dest_lon - lon) * fraction, 6)} | self._progress(remaining - step)


def saved_places(text: str) -> dict[str, str]:
    """Saved places from their JSON text, checked: names of lower-case words, places as non-empty text."""
    try:
        places = json.loads(text)
    except ValueError:
        raise Rejected("saved places must be a JSON object of name to place") from None
    if not isinstance(places, dict) or not all(isinstance(v, str) and v.strip() for v in places.values()):
        raise Rejected("saved places must be a JSON object of name to place")
    if len(places) > MAX_SAVED_PLACES:
        raise Rejected(f"at most {MAX_SAVED_PLACES} saved places")
    bad = [name for name in places if not SAVED_NAME.fullmatch(name)]
    if bad:
        raise Rejected(f"a saved place name is 1 to 40 lower-case letters, digits or spaces, not {bad[0]!r}")
    return places
