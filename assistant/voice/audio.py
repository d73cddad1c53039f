"""Audio in and out as files: any format PyAV reads, resampled to 16 kHz mono; replies written as WAV."""

from __future__ import annotations

import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

ASR_RATE = 16_000


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, or not audio at all."""


def read_audio(path: Path) -> np.ndarray:
    """The file's audio as float32 mono at 16 kHz (any rate, channel count or container PyAV can decode)."""
    from faster_whisper.audio import decode_audio  # PyAV-based; imported here to keep start-up light

    if not path.is_file():
        raise AudioError(f"{path} does not exist")
    try:
        samples = decode_audio(str(path), sampling_rate=ASR_RATE)
    except Exception as exc:  # PyAV raises many kinds for broken input
        raise AudioError(f"cannot read audio from {path}: {exc}") from None
    if samples.size == 0:
        raise AudioError(f"{path} holds no audio")
    return samples


def write_wav(path: Path, chunks: Iterable[np.ndarray], sample_rate: int) -> None:
    """16-bit mono WAV from int16 chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        for chunk in chunks:
            out.writeframes(np.asarray(chunk, dtype=np.int16).tobytes())
