"""What every simulated ECU offers: apply a request to the car's state, and advance time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

State = dict[str, Any]
"""The car's state: VSS path -> current value."""

Changes = dict[str, Any]
"""Signals an operation changed: VSS path -> new value."""


class Rejected(Exception):
    """An ECU refused a request; ``reason`` is a sentence fit to show or speak."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Ecu(ABC):
    """One control unit, owning the signals under its path prefixes."""

    prefixes: tuple[str, ...] = ()

    def owns(self, path: str) -> bool:
        return path.startswith(self.prefixes)

    @abstractmethod
    def apply(self, path: str, value: Any, state: State) -> Changes:
        """Apply an already type- and range-checked actuator value.

        Returns every signal that changed (including ``path`` itself); raises :class:`Rejected`
        without touching ``state`` when the request cannot be carried out.
        """

    def tick(self, seconds: float, state: State) -> Changes:
        """Advance simulated time; returns the signals that changed."""
        return {}
