"""Media ECU: sources, play/pause/skip, volume and mute, and playing from the offline library.

VSS has no PAUSE action: pause is ``Action = STOP`` with the track kept in ``Played.*``, so a later
``PLAY`` resumes it. Skips move through the queue of what was selected and leave ``Action = PLAY``.
"""

from __future__ import annotations

from typing import Any

from vehicle_bus.signals import EXTENSION_PREFIX
from vehicle_bus.sim.ecu import Changes, Ecu, Rejected, State
from vehicle_bus.sim.media_library import STATION_SOURCES, TRACK_SOURCES, MediaItem, MediaLibrary, Playable

MEDIA = "Vehicle.Cabin.Infotainment.Media"
ACTION, SOURCE, SELECTED, PLAYED_URI = f"{MEDIA}.Action", f"{MEDIA}.Played.Source", f"{MEDIA}.SelectedURI", \
    f"{MEDIA}.Played.URI"
VOLUME, MUTED = f"{MEDIA}.Volume", f"{EXTENSION_PREFIX}Media.IsMuted"
UNMUTE_IN = f"{EXTENSION_PREFIX}Media.UnmuteIn"
SUPPORTED_SOURCES = tuple(dict.fromkeys(STATION_SOURCES + TRACK_SOURCES))


class MediaEcu(Ecu):
    prefixes = (f"{MEDIA}.", MUTED, UNMUTE_IN)

    def __init__(self, library: MediaLibrary):
        self.library = library
        self._part_second = 0.0

    def apply(self, path: str, value: Any, state: State) -> Changes:
        if path == SELECTED:
            return self._select(value, state)
        if path == SOURCE:
            return self._switch_source(value, state)
        if path == ACTION:
            return self._act(value, state)
        if path == VOLUME and state[MUTED]:
            return {VOLUME: value, MUTED: False, UNMUTE_IN: 0}
        if path == MUTED:
            return {MUTED: value, UNMUTE_IN: 0}
        if path == UNMUTE_IN:  # a timed mute: muted now, sound back after ``value`` seconds
            return {UNMUTE_IN: value, MUTED: True} if value else {UNMUTE_IN: 0}
        return {path: value}

    def tick(self, seconds: float, state: State) -> Changes:
        """A timed mute runs out: the sound comes back."""
        if not state[UNMUTE_IN]:
            self._part_second = 0.0
            return {}
        self._part_second += seconds
        whole = int(self._part_second)
        self._part_second -= whole
        if not whole:
            return {}
        left = max(0, state[UNMUTE_IN] - whole)
        return {UNMUTE_IN: left, MUTED: False} if left == 0 else {UNMUTE_IN: left}

    def _select(self, uri: str, state: State) -> Changes:
        item = self.library.resolve(uri)
        if item is None or not item.queue:
            what = uri.removeprefix("search:")
            raise Rejected(f"nothing in the media library matches {what!r}")
        first = item.queue[0]
        source = first.source or (state[SOURCE] if state[SOURCE] in TRACK_SOURCES else "USB")
        return {SELECTED: item.uri, SOURCE: source} | self._play(first)

    def _switch_source(self, source: str, state: State) -> Changes:
        if source not in SUPPORTED_SOURCES:
            raise Rejected(f"this car has no {source.replace('_', ' ')} source; it has {', '.join(SUPPORTED_SOURCES)}")
        if source == state[SOURCE]:
            return {SOURCE: source}
        return self._start(source)

    def _start(self, source: str) -> Changes:
        item = self.library.first_on(source)
        return {SOURCE: source, SELECTED: item.uri} | self._play(item.queue[0])

    def _act(self, action: str, state: State) -> Changes:
        if action == "UNKNOWN":
            raise Rejected("UNKNOWN is not a playback command")
        if action == "PLAY" and not state[PLAYED_URI]:
            return self._start(state[SOURCE])
        if action in ("SKIP_FORWARD", "SKIP_BACKWARD"):
            queue = self._queue(state)
            here = next((i for i, p in enumerate(queue) if p.uri == state[PLAYED_URI]), 0)
            step = 1 if action == "SKIP_FORWARD" else -1
            return self._play(queue[(here + step) % len(queue)])
        return {ACTION: action}

    def _queue(self, state: State) -> tuple[Playable, ...]:
        item: MediaItem | None = self.library.resolve(state[SELECTED]) or self.library.first_on(state[SOURCE])
        if item is None:
            raise Rejected(f"there is nothing to skip to on {state[SOURCE]}")
        return item.queue

    @staticmethod
    def _play(playable: Playable) -> Changes:
        """Changes that play ``playable``; a station also switches to the source it broadcasts on."""
        return ({SOURCE: playable.source} if playable.source else {}) | {
            f"{MEDIA}.Played.Track": playable.title,
            f"{MEDIA}.Played.Artist": playable.artist,
            f"{MEDIA}.Played.Album": playable.album,
            f"{MEDIA}.Played.Genre": playable.genre,
            PLAYED_URI: playable.uri,
            ACTION: "PLAY",
        }
