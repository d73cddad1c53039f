"""The driver's voice in tests: espeak-ng and Piper saying a sentence into a WAV file or an array."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from assistant.voice.audio import write_wav
from assistant.voice.driver_voice import driver_speech
from assistant.voice.speech import Synthesizer


def espeak(text: str, path: Path, rate: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(rate), "-w", str(path), text], check=True)
    return path


def piper(synthesizer: Synthesizer, text: str, path: Path) -> Path:
    write_wav(path, synthesizer.speak(text, steady=True), synthesizer.sample_rate)
    return path


def said(text: str, voice: str = "espeak", synthesizer: Synthesizer | None = None) -> np.ndarray:
    """``text`` spoken in ``voice``, as 16 kHz mono float32 (the product's stand-in driver voice)."""
    return driver_speech(text, synthesizer, voice)[0]
