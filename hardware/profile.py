"""Hardware profiles: one TOML file per target (``hardware/profiles/``), validated on load.

A profile names the model for each role, the threads, llama.cpp's options and the onnxruntime
execution providers in order of preference, and says how to recognise the machine it is for
(``match``) and whether its numbers were measured on that hardware or only configured (``status``).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardware.providers import CPU, known_providers
from models.registry import load_manifest


KV_CACHE_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}
"""llama.cpp KV-cache element types (GGML type numbers)."""


class LlamaOptions(BaseModel):
    """How llama.cpp runs on this machine (from the hardware profile)."""

    model_config = ConfigDict(extra="forbid")

    n_threads: int = Field(2, ge=1, le=256, description="decode threads")
    n_threads_batch: int | None = Field(None, ge=1, le=256, description="prompt threads; default n_threads")
    n_batch: int = Field(256, ge=8, le=4096, description="prompt tokens per batch")
    n_ctx: int = Field(3072, ge=512, le=32768, description="context window (prompt prefix + turn + answer)")
    use_mmap: bool = Field(True, description="map the GGUF instead of reading it into memory")
    use_mlock: bool = Field(False, description="lock the weights in RAM (no paging out)")
    type_k: Literal["f16", "q8_0", "q4_0"] = Field("f16", description="KV-cache key type")
    type_v: Literal["f16", "q8_0", "q4_0"] = Field("f16", description="KV-cache value type "
                                                                      "(quantised needs flash attention)")
    flash_attn: bool = Field(False, description="flash attention where the build supports it")
    n_gpu_layers: int = Field(0, ge=-1, description="layers offloaded to a GPU; -1 = all")

    @model_validator(mode="after")
    def _quantised_values_need_flash_attention(self) -> LlamaOptions:
        if self.type_v != "f16" and not self.flash_attn:
            raise ValueError("a quantised KV-cache value type (type_v) needs flash_attn: true in llama.cpp")
        return self

    def llama_kwargs(self) -> dict[str, Any]:
        return {"n_threads": self.n_threads, "n_threads_batch": self.n_threads_batch or self.n_threads,
                "n_batch": self.n_batch, "n_ctx": self.n_ctx, "use_mmap": self.use_mmap,
                "use_mlock": self.use_mlock,
                "type_k": KV_CACHE_TYPES[self.type_k], "type_v": KV_CACHE_TYPES[self.type_v],
                "flash_attn": self.flash_attn, "n_gpu_layers": self.n_gpu_layers}



class ProfileError(ValueError):
    """A profile that cannot be found, read or validated."""


class Match(BaseModel):
    """What a machine must have for the profile to apply; every listed condition must hold."""

    model_config = ConfigDict(extra="forbid")

    arch: list[str] = Field(default_factory=list, description="any of these machine architectures (uname -m)")
    cpu_features: list[str] = Field(default_factory=list,
                                    description="all of these CPU flags (/proc/cpuinfo)")
    llama_features: list[str] = Field(default_factory=list, description="all of these in llama.cpp's build "
                                                                        "(llama_print_system_info)")
    board: list[str] = Field(default_factory=list, description="any of these in the board's model name")
    devices: list[str] = Field(default_factory=list, description="any of these device files exists")


class RoleModels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asr: str
    llm: str = Field(description="the LLM where memory allows")
    voice: str
    small_llm: str | None = Field(None,
                                  description="the LLM on machines with less than "
                                              "small_llm_below_gb of memory")
    small_llm_below_gb: float = Field(0.0, ge=0, description="total memory under which small_llm is used")


class AsrOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Literal["cpu", "cuda"] = "cpu"
    compute_type: Literal["int8", "int8_float16", "float16", "float32"] = "int8"
    threads: int = Field(0, ge=0, le=256, description="CTranslate2 threads; 0 = every core")


class OnnxOptions(BaseModel):
    """For Silero VAD and the Piper voice."""

    model_config = ConfigDict(extra="forbid")

    providers: list[str] = Field(default_factory=lambda: [CPU], description="in order of preference")
    threads: int = Field(1, ge=0, le=256, description="intra-op threads; 0 = onnxruntime's default")

    @field_validator("providers")
    @classmethod
    def _known(cls, providers: list[str]) -> list[str]:
        if unknown := [p for p in providers if p not in known_providers()]:
            raise ValueError(f"unknown onnxruntime provider(s) {', '.join(unknown)}")
        return providers


class HardwareProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    description: str
    status: Literal["measured", "configured"] = Field(description="measured: numbers taken on this hardware; "
                                                                  "configured: settings only, not run there")
    priority: int = Field(0, description="among matching profiles, the highest wins")
    match: Match
    models: RoleModels
    asr: AsrOptions = Field(default_factory=AsrOptions)
    llm: LlamaOptions = Field(default_factory=LlamaOptions)
    onnx: OnnxOptions = Field(default_factory=OnnxOptions)

    @field_validator("models")
    @classmethod
    def _models_exist_with_their_role(cls, models: RoleModels) -> RoleModels:
        manifest = load_manifest()
        for role, model_id in (("asr", models.asr), ("llm", models.llm), ("llm", models.small_llm),
                               ("tts", models.voice)):
            if model_id is None:
                continue
            if model_id not in manifest:
                raise ValueError(f"{role} model {model_id!r} is not in the model manifest")
            if manifest[model_id].role != role:
                raise ValueError(f"{model_id!r} is a {manifest[model_id].role} model, not {role}")
        return models

    def for_memory(self, memory_gb: float) -> HardwareProfile:
        """This profile with the LLM this much memory allows (its small LLM below the profile's threshold)."""
        if self.models.small_llm is None or memory_gb >= self.models.small_llm_below_gb:
            return self
        models = self.models.model_copy(update={"llm": self.models.small_llm})
        return self.model_copy(update={"models": models})


def profile_names() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in resources.files("hardware.profiles").iterdir()
                  if p.name.endswith(".toml"))


def load_profile(name_or_path: str | Path) -> HardwareProfile:
    """A built-in profile by name, or a profile file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        source, text = str(path), _read(path)
    elif str(name_or_path) in profile_names():
        source = f"built-in profile {name_or_path}"
        text = resources.files("hardware.profiles").joinpath(f"{name_or_path}.toml").read_text()
    else:
        raise ProfileError(f"no hardware profile {name_or_path!r}; built in: {', '.join(profile_names())}, "
                           "or give a .toml file")
    try:
        return HardwareProfile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"{source} is invalid: {problems}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ProfileError(f"cannot read hardware profile {path}: {exc}") from None


def all_profiles() -> list[HardwareProfile]:
    return [load_profile(name) for name in profile_names()]
