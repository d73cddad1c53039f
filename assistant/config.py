"""Every settings model of carvoice, and the one way the local config is loaded (``load_config``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from intents.actions import SAVED_NAME
from intents.llm import LlmSettings
from vehicle_bus.protocol import validation_problems
from vehicle_bus.settings import BusSettings

CONFIG_ENV = "CARVOICE_CONFIG"
SETTING_ENV_PREFIX = "CARVOICE_"  # CARVOICE_LLM__MODEL=... sets llm.model


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "carvoice" / "vehicles"


def default_model_store() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "carvoice" / "models"


class ConfigError(ValueError):
    """A configuration file that cannot be read or does not validate."""


class ListenMode(StrEnum):
    ALWAYS = "always"
    PUSH_TO_TALK = "push_to_talk"
    WAKE_PHRASE = "wake_phrase"


class LiveSettings(BaseModel):
    """How the assistant listens on live audio (``carvoice talk``)."""

    model_config = ConfigDict(extra="forbid")

    mode: ListenMode = Field(
        ListenMode.ALWAYS,
        description="always: every utterance; push_to_talk: only after a press (steering-wheel "
                    "button on the bus, or Enter in the terminal); wake_phrase: utterances that "
                    "start with the wake phrase")
    wake_phrase: str = Field("hey car", min_length=2, max_length=40, description="for mode wake_phrase")
    follow_up_s: float = Field(6.0, ge=0, le=60, description="after a reply, speech within this time needs "
                                                             "no press or wake phrase")
    press_window_s: float = Field(6.0, gt=0, le=60, description="after a push-to-talk press, speech must "
                                                                "start within this time")
    barge_in: bool = Field(True, description="speech during a reply stops it (needs echo cancellation on a "
                                             "head unit whose microphone hears its speakers)")
    vad_threshold: float = Field(0.5, gt=0.15, lt=1, description="Silero VAD speech probability")
    pause_ms: int = Field(128, ge=32, le=2000, description="silence after which recognition starts early")
    end_ms: int = Field(400, ge=96, le=5000, description="silence that ends an utterance")
    max_utterance_s: float = Field(15.0, ge=1, le=60, description="longer speech is cut off here")


class VehicleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field("car1", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="this vehicle's id on the bus")


class SimSettings(BaseModel):
    """The simulated vehicle."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path = Field(default_factory=default_state_dir,
                            description="where each vehicle's state is kept")
    time_scale: float = Field(1.0, ge=0, le=1000, description="simulated seconds per real second; 0 = frozen")
    tick_s: float = Field(1.0, gt=0, le=60, description="simulation step")


class ModelSettings(BaseModel):
    """Where models live and which ones run."""

    model_config = ConfigDict(extra="forbid")

    store_dir: Path = Field(default_factory=default_model_store, description="the local model store")


class DialogueSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idle_timeout_s: float = Field(60.0, gt=0, le=3600,
                                  description="forget follow-up context after this idle time")


class SpeechSettings(BaseModel):
    """Speech recognition and synthesis models (ids in the model registry)."""

    model_config = ConfigDict(extra="forbid")

    asr_model: str | None = Field(None, description="faster-whisper model (whisper-tiny.en, whisper-base); "
                                                    "default: the hardware profile's")
    voice: str | None = Field(None, description="Piper voice; default: the hardware profile's")


class FleetSettings(BaseModel):
    """Fleet management: which fleet and group this vehicle belongs to, and whose signatures it trusts."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="fleet id; none: not managed")
    group: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                              description="vehicle group in the fleet")
    trusted_keys: dict[str, str] = Field(default_factory=dict,
                                         description="key id -> base64 ed25519 public key; documents must be "
                                                     "signed by one")


class NavigationSettings(BaseModel):
    """Navigation: places the driver can name as destinations ("take me home")."""

    model_config = ConfigDict(extra="forbid")

    places: dict[str, str] = Field(
        default_factory=dict,
        description="saved places, name -> town or 'lat, lon' (home: Augsburg); written to "
                    "the car's saved places at start and on each fleet update")

    @field_validator("places")
    @classmethod
    def _names_the_car_accepts(cls, places: dict[str, str]) -> dict[str, str]:
        for name, place in places.items():
            if not SAVED_NAME.fullmatch(name):
                raise ValueError("a place name is 1 to 40 lower-case letters, "
                                 f"digits or spaces, not {name!r}")
            if not place.strip():
                raise ValueError(f"place {name!r} needs a town or 'lat, lon'")
        return places


class HardwareSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str = Field("auto",
                         description="auto (probe this machine), a built-in profile name, or a .toml file")


class CarvoiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bus: BusSettings = Field(default_factory=BusSettings)
    vehicle: VehicleSettings = Field(default_factory=VehicleSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    dialogue: DialogueSettings = Field(default_factory=DialogueSettings)
    navigation: NavigationSettings = Field(default_factory=NavigationSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    hardware: HardwareSettings = Field(default_factory=HardwareSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None,
                environ: Mapping[str, str] = os.environ) -> CarvoiceConfig:
    """The vehicle's local config, each layer over the one before: the defaults; the YAML file ``path`` (else
    the one $CARVOICE_CONFIG names); ``CARVOICE_<SECTION>__<NAME>`` environment settings (values read as
    YAML); ``overrides``, dotted settings from the command line (``{"bus.url": ...}``; None: not given). A
    managed vehicle's fleet, group and vehicle documents go over it at run time
    (``assistant.fleet.layers``)."""
    path = path or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    environment = environment_settings(environ)
    given = nested({name: value for name, value in (overrides or {}).items() if value is not None})
    data: dict = {}
    for layer in (_read_config_file(path) if path else {}, environment, given):
        data = merge(data, layer)
    try:
        return CarvoiceConfig.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  {problem}" for problem in validation_problems(exc))
        sources = ", ".join(filter(None, (f"config file {path}" if path else "",
                                          "the CARVOICE_* environment settings" if environment else "",
                                          "the command line" if given else "")))
        raise ConfigError(f"invalid settings in {sources or 'the defaults'}:\n{problems}") from None


def _read_config_file(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, not {type(data).__name__}")
    return data


def environment_settings(environ: Mapping[str, str]) -> dict:
    """Nested settings from ``CARVOICE_<SECTION>__<NAME>[__<NAME>]`` variables (e.g. CARVOICE_LLM__MODEL)."""
    settings: dict = {}
    for name, text in sorted(environ.items()):
        if not name.startswith(SETTING_ENV_PREFIX) or "__" not in name:
            continue
        *sections, key = name.removeprefix(SETTING_ENV_PREFIX).lower().split("__")
        node = settings
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name} sets inside a value that is not a section")
        try:
            node[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"environment variable {name} is not a readable value: {exc}") from None
    return settings


def nested(dotted: Mapping[str, Any]) -> dict:
    """``{"bus.url": u}`` as ``{"bus": {"url": u}}``."""
    settings: dict = {}
    for name, value in dotted.items():
        *sections, key = name.split(".")
        node = settings
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = value
    return settings


def merge(base: dict[str, Any], overlay: dict[str, Any], layer: str = "",
          sources: dict[str, str] | None = None, prefix: str = "") -> dict[str, Any]:
    """``overlay`` on ``base``: mappings merge key by key, anything else replaces; ``sources``, when given,
    records which ``layer`` set each leaf (dotted path)."""
    merged = dict(base)
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value, layer, sources, f"{path}.")
            continue
        merged[key] = value
        if sources is not None:
            for stale in [p for p in sources if p == path or p.startswith(f"{path}.")]:
                del sources[stale]
            for leaf in leaves(value, path) if isinstance(value, dict) and value else [path]:
                sources[leaf] = layer
    return merged


def leaves(data: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted path of every value in nested settings."""
    found = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        found += leaves(value, path) if isinstance(value, dict) and value else [path]
    return found
