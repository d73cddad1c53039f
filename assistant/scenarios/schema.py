"""Scenario files: spoken or typed drives against a simulated car, with expectations after each step.

A file holds one scenario, or several as YAML documents separated by ``---``. The schema is the
pydantic models below (unknown keys are errors); the README documents it with an example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.config import LiveSettings
from vehicle_bus.protocol import validation_problems
from vehicle_bus.signals import SignalValueError, UnknownSignalError, get_signal


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not follow the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Approx(_Strict):
    approx: float
    tolerance: float = Field(0.01, ge=0)


class ExpectedAction(_Strict):
    name: str
    status: Literal["applied", "rejected", "asked", "answered"] | None = None
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="these arguments at least, with these values")


class Expect(_Strict):
    """What must hold after a step. Stage timings are recorded, never asserted."""

    state: dict[str, Annotated[Approx | Any, Field(union_mode="left_to_right")]] = Field(
        default_factory=dict, description="VSS values, exact or {approx: x, tolerance: t}")
    actions: list[ExpectedAction] | None = Field(None,
                                                 description="the step's actions, in order (exactly these)")
    reply_contains: list[str] = Field(default_factory=list, description="each of these, case-insensitive")
    reply_matches: str | None = Field(None, description="a regular expression the reply must match")
    heard_contains: str | None = Field(None,
                                       description="for voice steps: in the transcript, case-insensitive")
    path: Literal["fast", "llm", "none"] | None = None
    nothing_applied: bool = Field(False, description="no signal changed during the step")
    ignored: bool = Field(False, description="for voice steps: the assistant did not respond at all")
    bus_error_contains: str | None = Field(None,
                                           description="for a malformed message: the vehicle's rejection")

    @model_validator(mode="after")
    def _known_signals(self) -> Expect:
        for path, value in self.state.items():
            try:
                signal = get_signal(path)
                if not isinstance(value, Approx):
                    signal.coerce(value)
            except (UnknownSignalError, SignalValueError) as exc:
                raise ValueError(str(exc)) from None
        if self.reply_matches:
            re.compile(self.reply_matches)
        return self


class AudioEffects(_Strict):
    noise_snr_db: float | None = Field(None, ge=-10, le=60, description="add white noise at this SNR")
    clip_gain: float | None = Field(None, ge=1, le=100, description="amplify by this and clip at full scale")


class Malformed(_Strict):
    path: str = Field(description="the set topic of this VSS path gets the payload")
    payload: str


class Fault(_Strict):
    """Exactly one fault per step."""

    broker_restart: bool = False
    silent: bool | None = Field(None, description="the car stops (true) or resumes (false) answering")
    reject: dict[str, str] | None = Field(None, description="VSS path -> reason the car gives; {} clears")
    malformed: Malformed | None = None

    @model_validator(mode="after")
    def _one(self) -> Fault:
        chosen = [k for k in ("silent", "reject", "malformed") if getattr(self, k) is not None] + \
            (["broker_restart"] if self.broker_restart else [])
        if len(chosen) != 1:
            raise ValueError(f"a fault step injects exactly one fault, got {chosen or 'none'}")
        return self


StepKind = Literal["say", "speak", "play", "press", "wait", "fault"]


class Step(_Strict):
    say: str | None = Field(None, description="text through the dialogue only")
    speak: str | None = Field(None,
                              description="text synthesised in `voice`, through the whole voice pipeline")
    play: Path | None = Field(None, description="an audio file (relative to the scenario file)")
    press: Literal["push_to_talk"] | None = Field(None, description="the steering-wheel button, over the bus")
    wait: float | None = Field(None, ge=0, le=86400,
                               description="advance simulated time by this many seconds")
    fault: Fault | None = None
    voice: Literal["espeak", "piper"] = "espeak"
    audio: AudioEffects | None = None
    expect: Expect | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in ("say", "speak", "play", "press", "wait", "fault") if getattr(self,
                                                                                          k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a step does exactly one of say, speak, play, press, wait, fault; got "
                             f"{', '.join(kinds) or 'none'}")
        if self.audio and self.kind not in ("speak", "play"):
            raise ValueError("audio effects apply to speak and play steps only")
        return self

    @property
    def kind(self) -> StepKind:
        return next(k for k in ("say", "speak", "play", "press", "wait", "fault") if getattr(self,
                                                                                             k) is not None)

    def describe(self) -> str:
        value = getattr(self, self.kind)
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_defaults=True, exclude_none=True)
        return f"{self.kind} {value!r}" if self.kind != "wait" else f"wait {value:g} s"


class VehicleSetup(_Strict):
    state: dict[str, Any] = Field(default_factory=dict, description="initial VSS values (sensors too)")


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    vehicle: VehicleSetup = Field(default_factory=VehicleSetup)
    listen: LiveSettings = Field(default_factory=LiveSettings, description="for voice steps")
    steps: list[Step] = Field(min_length=1)
    source: Path | None = Field(None, exclude=True)

    @property
    def restarts_broker(self) -> bool:
        return any(step.fault and step.fault.broker_restart for step in self.steps)


def load_scenarios(path: Path) -> list[Scenario]:
    """Every scenario in a file (one per YAML document), validated; errors name the file and document."""
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc}") from None
    scenarios = []
    for number, document in enumerate(documents, start=1):
        where = f"{path}" + (f" (document {number})" if len(documents) > 1 else "")
        if not isinstance(document, dict):
            raise ScenarioError(f"{where}: a scenario is a mapping, not {type(document).__name__}")
        try:
            scenarios.append(Scenario.model_validate(document | {"source": path}))
        except ValidationError as exc:
            problems = "\n".join(f"  {problem}" for problem in validation_problems(exc))
            raise ScenarioError(f"{where} is not a valid scenario:\n{problems}") from None
    if not scenarios:
        raise ScenarioError(f"{path} holds no scenario")
    return scenarios


def scenario_files(paths: list[Path]) -> list[Path]:
    """The YAML files named, and those in the folders named (recursively), in a stable order."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(f"{path} does not exist")
    return found
