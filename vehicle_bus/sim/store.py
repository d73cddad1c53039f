"""Persistence of a simulated vehicle's state across restarts (one JSON file per vehicle)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from vehicle_bus.signals import SIGNALS, SignalValueError, default_state

log = logging.getLogger(__name__)


class StateStore:
    """Reads and atomically, durably writes ``<vehicle id>.json``.

    A file that cannot be read is moved aside (``.corrupt``) and the car starts from defaults;
    single values that no longer fit the signal table fall back to their defaults, with a warning.
    """

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, Any]:
        state = default_state()
        if not self.path.exists():
            return state
        try:
            saved = json.loads(self.path.read_text())
            if not isinstance(saved, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            aside = self.path.with_suffix(".corrupt")
            log.warning("state file %s is unreadable (%s); moved it to %s and starting from defaults",
                        self.path, exc, aside)
            self.path.replace(aside)
            return state
        for path, value in saved.items():
            signal = SIGNALS.get(path)
            if signal is None:
                log.warning("state file %s: dropping unknown signal %s", self.path, path)
                continue
            try:
                state[path] = signal.coerce(value)
            except SignalValueError as exc:
                log.warning("state file %s: %s; using the default", self.path, exc)
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write a temporary file of its own in the same folder, flush it to disk, rename it over the file.

        Raises :class:`OSError` (the saved file unchanged, no temporary file left) when that fails.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.stem}-", suffix=".tmp", dir=self.path.parent)
        try:
            with open(fd, "w") as file:
                json.dump(state, file, indent=1, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise
