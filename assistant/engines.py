"""The engines a config names, built once and injected: the hardware profile, the LLM, the recogniser, the
voice and the VAD. Each is made on first use (a text command never loads speech models) and then shared."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from assistant.config import CarvoiceConfig
from assistant.voice.speech import Recognizer, Synthesizer
from assistant.voice.vad import SileroVad
from hardware.probe import pick, probe
from hardware.profile import HardwareProfile, load_profile
from intents.fastpath import Call
from intents.llm import LlmIntentModel, LlmSettings
from models.registry import Registry

log = logging.getLogger(__name__)
T = TypeVar("T")


@functools.cache
def hardware_profile(choice: str = "auto") -> HardwareProfile:
    """The profile for this machine ("auto": probed once per process), or the one named or given as a file,
    with the LLM this machine's memory allows."""
    machine = probe()
    profile = load_profile(choice) if choice != "auto" else pick(machine)[0]
    log.debug("hardware profile %s", profile.name)
    return profile.for_memory(machine.memory_gb)


class LazyLlm:
    """Loads the LLM on the first sentence the fast path leaves to it: fast-path turns never wait for it."""

    def __init__(self, registry: Registry, settings: LlmSettings, profile: HardwareProfile):
        self.registry, self.settings, self.profile = registry, settings, profile
        self._model: LlmIntentModel | None = None
        self._lock = threading.Lock()  # one llama.cpp context: one sentence at a time

    @property
    def model(self) -> LlmIntentModel:
        with self._lock:
            if self._model is None:
                self._model = load_llm(self.registry, self.settings, self.profile)
            return self._model

    def load(self) -> None:
        """Load now rather than on the first sentence that needs it (benchmarks: loading is not a turn)."""
        _ = self.model

    def spec(self) -> None:
        """Check the model is known and installed (sha256 verified), without loading it."""
        spec = self.registry.spec(self.settings.model or self.profile.models.llm)
        if not self.settings.path:
            self.registry.verify(spec.id)

    def parse(self, text: str, previous: Call | None) -> list[Call]:
        model = self.model
        with self._lock:
            return model.parse(text, previous)


def load_llm(registry: Registry, settings: LlmSettings, profile: HardwareProfile) -> LlmIntentModel:
    """The configured GGUF (else the profile's), verified by sha256, with the chat format its manifest entry
    names, run with the profile's llama.cpp options."""
    spec = registry.spec(settings.model or profile.models.llm)
    path: Path = settings.path or registry.verify(spec.id) / spec.files[0].name
    log.info("loading %s from %s", spec.id, path)
    return LlmIntentModel(path, settings.chat_format or spec.chat_format or "auto", settings, profile.llm)


class Engines:
    """The engines of one config, each built on first use and then shared (thread-safe): a command, the
    scenario runner or a benchmark makes one and hands it to what needs an engine."""

    def __init__(self, config: CarvoiceConfig):
        self.config = config
        self._built: dict[str, object] = {}
        self._lock = threading.RLock()  # an engine's build may ask for the registry

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]  # type: ignore[return-value]

    @property
    def profile(self) -> HardwareProfile:
        return hardware_profile(self.config.hardware.profile)

    @property
    def registry(self) -> Registry:
        return self._once("registry", lambda: Registry(self.config.models.store_dir))

    @property
    def llm(self) -> LazyLlm | None:
        """The configured LLM (loaded on the first sentence that needs it), or None when it is off."""
        if not self.config.llm.enabled:
            return None
        return self._once("llm", lambda: self.llm_for(self.config.llm))

    def llm_for(self, settings: LlmSettings) -> LazyLlm:
        """A new LLM engine for other settings (a hot reload, a benchmark of each installed model)."""
        return LazyLlm(self.registry, settings, self.profile)

    @property
    def recognizer(self) -> Recognizer:
        """faster-whisper from the registry (verified by sha256), run as the hardware profile says."""
        model = self.config.speech.asr_model or self.profile.models.asr
        return self._once("recognizer", lambda: Recognizer(self.registry.verify(model), self.profile.asr))

    @property
    def synthesizer(self) -> Synthesizer:
        """The Piper voice from the registry (verified by sha256), run as the hardware profile says."""
        def build() -> Synthesizer:
            voice = self.registry.spec(self.config.speech.voice or self.profile.models.voice)
            return Synthesizer(self.registry.verify(voice.id) / voice.files[0].name, self.profile.onnx)
        return self._once("synthesizer", build)

    def vad(self) -> SileroVad:
        """A new VAD (it keeps the state of one audio stream), on the profile's onnxruntime options."""
        return SileroVad(self.profile.onnx)
