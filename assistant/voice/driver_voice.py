"""A stand-in for the driver's voice in the demo, the benchmarks and the scenarios (no driver is here)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from assistant.voice.audio import ASR_RATE, read_audio
from assistant.voice.devices import Converter
from assistant.voice.speech import Synthesizer


def driver_speech(text: str, synthesizer: Synthesizer, voice: str = "espeak") -> tuple[np.ndarray, str]:
    """The driver's line as 16 kHz audio, and the voice that said it: espeak-ng (a second voice, unlike the
    assistant's) where installed, else, or when ``voice`` is "piper", the assistant's Piper voice."""
    if voice == "espeak" and shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "driver.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
            return read_audio(path), "espeak-ng"
    audio = np.concatenate(list(synthesizer.speak(text, steady=True)))
    return Converter(synthesizer.sample_rate, 1, ASR_RATE, 1)(audio).astype(np.float32) / 32768.0, "piper"
