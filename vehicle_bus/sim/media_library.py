"""The car's offline media library: radio stations and albums, addressable by ``media:`` URIs and searchable.

URIs: ``media:station/<id>``, ``media:album/<id>``, ``media:artist/<slug>``, ``media:genre/<slug>``,
``media:track/<album id>/<number>``. Albums are available on every track source (USB, Bluetooth,
streaming); stations on the source they broadcast on (FM, DAB, INTERNET).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

TRACK_SOURCES = ("USB", "BLUETOOTH", "INTERNET")
STATION_SOURCES = ("FM", "DAB", "INTERNET")
FILLER_WORDS = {"some", "music", "songs", "song", "by", "the", "a", "an", "radio", "station", "album",
                "track", "please", "play", "me", "from", "of", "channel", "something", "anything", "stuff"}


def normalize(text: str) -> str:
    """Lower case, apostrophes dropped, other punctuation as spaces, single spaces."""
    text = re.sub(r"[’']", "", text.lower())
    return " ".join(re.sub(r"[^\w.]+", " ", text).split())


def slug(text: str) -> str:
    return normalize(text).replace(" ", "-").replace(".", "")


@dataclass(frozen=True)
class Playable:
    """One thing the car can play: a track or a station."""

    uri: str
    title: str
    artist: str
    album: str
    genre: str
    source: str | None = None
    """The source a station broadcasts on; ``None`` for tracks (any track source)."""


@dataclass(frozen=True)
class MediaItem:
    """A searchable entry (station, album, artist, genre or track) and what it plays, in order."""

    uri: str
    kind: str
    name: str
    queue: tuple[Playable, ...]


class MediaLibrary:
    def __init__(self, items: list[MediaItem]):
        self._items = {item.uri: item for item in items}
        for item in items:  # a track URI resolves to its album, starting at that track
            for number, playable in enumerate(item.queue if item.kind == "album" else ()):
                self._items[playable.uri] = MediaItem(playable.uri, "track", playable.title,
                                                      item.queue[number:] + item.queue[:number])

    @classmethod
    def load(cls) -> MediaLibrary:
        """The library shipped with the simulator (``data/media_library.json``)."""
        text = resources.files("vehicle_bus.sim").joinpath("data/media_library.json").read_text()
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict) -> MediaLibrary:
        items: list[MediaItem] = []
        stations = [Playable(f"media:station/{s['id']}", s["name"], "", "", s["genre"], s["source"])
                    for s in data["stations"]]
        for station in stations:  # a station's queue is the dial of its source, starting there
            dial = [s for s in stations if s.source == station.source]
            here = dial.index(station)
            items.append(MediaItem(station.uri, "station", station.title, tuple(dial[here:] + dial[:here])))
        tracks: list[Playable] = []
        for album in data["albums"]:
            album_tracks = tuple(Playable(f"media:track/{album['id']}/{n}", title, album["artist"],
                                          album["title"],
                                          album["genre"]) for n, title in enumerate(album["tracks"], start=1))
            items.append(MediaItem(f"media:album/{album['id']}", "album", album["title"], album_tracks))
            tracks += album_tracks
        for kind, key in (("artist", "artist"), ("genre", "genre")):
            names = dict.fromkeys(getattr(t, key) for t in tracks)
            for name in names:
                queue = tuple(t for t in tracks if getattr(t, key) == name)
                if kind == "genre":
                    queue = queue or tuple(s for s in stations if s.genre == name)
                items.append(MediaItem(f"media:{kind}/{slug(name)}", kind, name, queue))
        return cls(items)

    def resolve(self, uri: str) -> MediaItem | None:
        """The item a ``media:`` URI names, or ``search:<words>`` matches; None if there is none."""
        if uri.startswith("search:"):
            return self.search(uri.removeprefix("search:"))
        return self._items.get(uri)

    def search(self, query: str) -> MediaItem | None:
        """Best match for free words: exact name first, then names within the query, then word overlap."""
        words = [w for w in normalize(query).split() if w not in FILLER_WORDS]
        wanted = " ".join(words)
        if not wanted:
            return None
        best, best_score = None, 0.0
        for item in self._items.values():
            name = normalize(item.name)
            name_words = [w for w in name.split() if w not in FILLER_WORDS]
            core = " ".join(name_words)
            by = normalize(item.queue[0].artist) if item.kind in ("track", "album") and item.queue else ""
            if wanted in (name, core):
                score = 3.0
            elif core and by and re.search(rf"\b{re.escape(core)}\b", wanted) and by in wanted:
                score = 2.9  # "one love by bob marley": the song, not the artist
            elif core and re.search(rf"\b{re.escape(core)}\b", wanted):
                score = 2.0 + len(core) / 100
            else:
                overlap = len(set(words) & set(name_words))
                score = overlap / max(len(words), len(name_words)) if name_words else 0
                score = score if score >= 0.5 else 0
            if score > best_score:
                best, best_score = item, score
        return best

    def first_on(self, source: str) -> MediaItem | None:
        """What to play when switching to ``source``: its first station, or the first album."""
        kinds = ("station",) if source in ("FM", "DAB") else ("album", "station")
        for kind in kinds:
            for item in self._items.values():
                if item.kind == kind and (kind == "album" or item.queue[0].source == source):
                    return item
        return None
