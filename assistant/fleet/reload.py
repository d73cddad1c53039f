"""Hot reload: what a newly applied config changes in a running assistant.

Dialogue, listening and saved-place settings switch at once; a change to the LLM loads the new engine in the
background and switches to it when it is ready (the old one answers meanwhile). Each LLM change is a new
generation: a load that finishes after a later change (another model, or the LLM turned off) is discarded,
so only the latest change takes effect. A config naming an unknown or missing model is refused before
anything switches. Settings that need the process restarted (bus, speech models, hardware profile, model
store) are applied at the next start and logged as such.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from assistant.config import CarvoiceConfig, default_state_dir
from assistant.engines import Engines
from assistant.fleet.agent import ConfigAgent
from assistant.voice.live import LiveAssistant
from assistant.voice.pipeline import VoicePipeline
from assistant.runtime import save_places
from intents.dialogue import Dialogue
from intents.vehicle import BusVehicle
from intents.llm import LlmSettings

log = logging.getLogger(__name__)
AT_NEXT_START = ("bus.", "speech.", "hardware.", "models.", "sim.", "vehicle.")


class LlmEngine(Protocol):
    """What the dialogue's LLM is, to hot reload: checked at once, loaded in the background."""

    def spec(self) -> None:
        """Raise if the model is unknown or not installed."""

    def load(self) -> None:
        """Load the model (slow)."""


class HotReload:
    """``make_llm`` builds the engine for new LLM settings (``Engines.llm_for`` in the running assistant)."""

    def __init__(self, dialogue: Dialogue, make_llm: Callable[[LlmSettings], LlmEngine],
                 live: LiveAssistant | None = None):
        self.dialogue, self.make_llm, self.live = dialogue, make_llm, live
        self.loading: threading.Thread | None = None
        self.generation = 0
        """Bumped by every LLM change that is applied; a load applies only if its generation is still the
        latest."""
        self._switching = threading.Lock()

    def __call__(self, config: CarvoiceConfig, changed: list[str]) -> None:
        llm_changed = any(path.startswith("llm.") for path in changed)
        llm = self._checked_llm(config) if llm_changed else None  # raises before anything switches
        if any(path.startswith("dialogue.") for path in changed):
            self.dialogue.idle_timeout_s = config.dialogue.idle_timeout_s
        if self.live and any(path.startswith("live.") for path in changed):
            self.live.reconfigure(config.live)
        if llm_changed:
            self._switch_llm(llm)
        if any(path.startswith("navigation.") for path in changed):
            save_places(self.dialogue.vehicle, config.navigation.places)
        if later := [path for path in changed if path.startswith(AT_NEXT_START)]:
            log.warning("applied at the next start: %s", ", ".join(later))

    def _checked_llm(self, config: CarvoiceConfig) -> LlmEngine | None:
        """The engine ``config`` names, not loaded yet (None: the LLM is off); raises if its model is unknown
        or not installed."""
        if not config.llm.enabled:
            return None
        llm = self.make_llm(config.llm)
        llm.spec()
        return llm

    def _switch_llm(self, llm: LlmEngine | None) -> None:
        """Turn the LLM off at once, or load ``llm`` in the background and switch to it unless a later change
        came meanwhile."""
        with self._switching:
            self.generation += 1
            generation = self.generation
            if llm is None:
                self.dialogue.llm = None
                return

        def load() -> None:
            try:
                llm.load()
            except Exception as exc:  # the old engine keeps answering
                log.error("the new LLM could not be loaded, keeping the old one: %s", exc)
                return
            with self._switching:
                if generation != self.generation:
                    log.info("discarded a loaded LLM: a later config change replaced it while it loaded")
                    return
                self.dialogue.llm = llm
            log.info("switched to the new LLM")

        self.loading = threading.Thread(target=load, name=f"llm-reload-{generation}", daemon=True)
        self.loading.start()


def fleet_agent(engines: Engines, vehicle: BusVehicle, voice: VoicePipeline,
                live: LiveAssistant | None = None) -> ConfigAgent | None:
    """When the vehicle belongs to a fleet: its config agent, hot-reloading the running assistant."""
    config = engines.config
    if not config.fleet.id:
        return None
    state_file = default_state_dir().parent / "fleet" / f"{vehicle.vehicle_id}.json"
    return ConfigAgent(vehicle.client, vehicle.vehicle_id, config,
                       HotReload(voice.dialogue, engines.llm_for, live), state_file).start()
