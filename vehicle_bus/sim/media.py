"""Media ECU: sources, play/pause/skip, volume and mute, and playing from the offline library.

VSS has no PAUSE action: pause is ``Action = STOP`` with the track kept in ``Played.*``, so a later
``PLAY`` resumes it. Skips move through the queue of what was selected and leave ``Action = PLAY``.
"""

from __future__ import annotations

from typing import Any

from vehicle_bus.signals import (MEDIA, MEDIA_ACTION, MEDIA_MUTED, MEDIA_SOURCE, MEDIA_VOLUME, PLAYED_ALBUM,
                                  PLAYED_ARTIST, PLAYED_GENRE, PLAYED_TRACK, PLAYED_URI, SELECTED_URI,
                                  UNMUTE_IN)
from vehicle_bus.sim.ecu import Changes, Ecu, Rejected, State
from vehicle_bus.sim.media_library import STATION_SOURCES, TRACK_SOURCES, MediaItem, MediaLibrary, Playable

SUPPORTED_SOURCES = tuple(dict.fromkeys(STATION_SOURCES + TRACK_SOURCES))


class MediaEcu(Ecu):
    prefixes = (f"{MEDIA}.", MEDIA_MUTED, UNMUTE_IN)

    def __init__(self, library: MediaLibrary):
        self.library = library
        self._part_second = 0.0

    def apply(self, path: str, value: Any, state: State) -> Changes:
        if path == SELECTED_URI:
            return self._select(value, state)
        if path == MEDIA_SOURCE:
            return self._switch_source(value, state)
        if path == MEDIA_ACTION:
            return self._act(value, state)
        if path == MEDIA_VOLUME and state[MEDIA_MUTED]:
            return {MEDIA_VOLUME: value, MEDIA_MUTED: False, UNMUTE_IN: 0}
        if path == MEDIA_MUTED:
            return {MEDIA_MUTED: value, UNMUTE_IN: 0}
        if path == UNMUTE_IN:  # a timed mute: muted now, sound back after ``value`` seconds
            return {UNMUTE_IN: value, MEDIA_MUTED: True} if value else {UNMUTE_IN: 0}
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
        return {UNMUTE_IN: left, MEDIA_MUTED: False} if left == 0 else {UNMUTE_IN: left}

    def _select(self, uri: str, state: State) -> Changes:
        item = self.library.resolve(uri)
        if item is None or not item.queue:
            what = uri.removeprefix("search:")
            raise Rejected(f"nothing in the media library matches {what!r}")
        first = item.queue[0]
        source = first.source or (state[MEDIA_SOURCE] if state[MEDIA_SOURCE] in TRACK_SOURCES else "USB")
        return {SELECTED_URI: item.uri, MEDIA_SOURCE: source} | self._play(first)

    def _switch_source(self, source: str, state: State) -> Changes:
        if source not in SUPPORTED_SOURCES:
            raise Rejected(f"this car has no {source.replace('_', ' ')} source; it has "
                           f"{', '.join(SUPPORTED_SOURCES)}")
        if source == state[MEDIA_SOURCE]:
            return {MEDIA_SOURCE: source}
        return self._start(source)

    def _start(self, source: str) -> Changes:
        item = self.library.first_on(source)
        return {MEDIA_SOURCE: source, SELECTED_URI: item.uri} | self._play(item.queue[0])

    def _act(self, action: str, state: State) -> Changes:
        if action == "UNKNOWN":
            raise Rejected("UNKNOWN is not a playback command")
        if action == "PLAY" and not state[PLAYED_URI]:
            return self._start(state[MEDIA_SOURCE])
        if action in ("SKIP_FORWARD", "SKIP_BACKWARD"):
            queue = self._queue(state)
            here = next((i for i, p in enumerate(queue) if p.uri == state[PLAYED_URI]), 0)
            step = 1 if action == "SKIP_FORWARD" else -1
            return self._play(queue[(here + step) % len(queue)])
        return {MEDIA_ACTION: action}

    def _queue(self, state: State) -> tuple[Playable, ...]:
        source = state[MEDIA_SOURCE]
        item: MediaItem | None = self.library.resolve(state[SELECTED_URI]) or self.library.first_on(source)
        if item is None:
            raise Rejected(f"there is nothing to skip to on {source}")
        return item.queue

    @staticmethod
    def _play(playable: Playable) -> Changes:
        """Changes that play ``playable``; a station also switches to the source it broadcasts on."""
        return ({MEDIA_SOURCE: playable.source} if playable.source else {}) | {
            PLAYED_TRACK: playable.title,
            PLAYED_ARTIST: playable.artist,
            PLAYED_ALBUM: playable.album,
            PLAYED_GENRE: playable.genre,
            PLAYED_URI: playable.uri,
            MEDIA_ACTION: "PLAY",
        }
