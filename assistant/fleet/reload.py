"""Hot reload: what a newly applied config changes in a running assistant.

Dialogue, listening and saved-place settings switch at once; a change to the LLM loads the new engine in the
background and switches to it when it is ready (the old one answers meanwhile). Settings that need
the process restarted (bus, speech models, hardware profile, model store) are applied at the next start
and logged as such.
"""

from __future__ import annotations

import logging
import threading

from assistant.config import CarvoiceConfig
from assistant.live import LiveAssistant
from assistant.runtime import LazyLlm, hardware_profile, save_places
from intents.dialogue import Dialogue
from models.registry import Registry

log = logging.getLogger(__name__)
AT_NEXT_START = ("bus.", "speech.", "hardware.", "models.", "sim.", "vehicle.")


class HotReload:
    def __init__(self, dialogue: Dialogue, live: LiveAssistant | None = None):
        self.dialogue, self.live = dialogue, live
        self.loading: threading.Thread | None = None

    def __call__(self, config: CarvoiceConfig, changed: list[str]) -> None:
        if any(path.startswith("dialogue.") for path in changed):
            self.dialogue.idle_timeout_s = config.dialogue.idle_timeout_s
        if self.live and any(path.startswith("live.") for path in changed):
            self.live.reconfigure(config.live)
        if any(path.startswith("llm.") for path in changed):
            self._switch_llm(config)
        if any(path.startswith("navigation.") for path in changed):
            save_places(self.dialogue.vehicle, config.navigation.places)
        if later := [path for path in changed if path.startswith(AT_NEXT_START)]:
            log.warning("applied at the next start: %s", ", ".join(later))

    def _switch_llm(self, config: CarvoiceConfig) -> None:
        if not config.llm.enabled:
            self.dialogue.llm = None
            return
        llm = LazyLlm(Registry(config.models.store_dir), config.llm, hardware_profile(config.hardware.profile))
        llm.spec()  # an unknown or missing model is refused now, before anything switches

        def load() -> None:
            try:
                llm.load()
            except Exception as exc:  # the old engine keeps answering
                log.error("the new LLM could not be loaded, keeping the old one: %s", exc)
                return
            self.dialogue.llm = llm
            log.info("switched to the new LLM")

        self.loading = threading.Thread(target=load, name="llm-reload", daemon=True)
        self.loading.start()
