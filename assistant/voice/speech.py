"""The speech engines, built once in ``assistant/engines.py``: faster-whisper recognises, Piper speaks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware.profile import AsrOptions, OnnxOptions
from hardware.providers import onnx_session
from intents.catalogue import CATALOGUE


def car_prompt() -> str:
    """A prompt of car commands (each action's first example from the intent catalogue), so the recogniser
    expects car words ("play", not "place"; "air conditioning", not "air condition")."""
    return "Car voice commands: " + ", ".join(a.examples[0] for a in CATALOGUE.values() if a.examples) + "."


MAX_COMMAND_TOKENS = 96
"""Enough for 15 s of speech (the endpointer's longest utterance)."""


@dataclass(frozen=True)
class Transcript:
    text: str
    no_speech: bool


class Recognizer:
    """faster-whisper (CTranslate2, int8 on CPU) with Silero VAD; a model folder from the registry."""

    def __init__(self, model_dir: Path, options: AsrOptions | None = None, beam_size: int = 1):
        from faster_whisper import WhisperModel

        options = options or AsrOptions()
        self.model = WhisperModel(str(model_dir), device=options.device, compute_type=options.compute_type,
                                  cpu_threads=options.threads)
        self.beam_size = beam_size
        self.prompt = car_prompt()

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Greedy decoding without timestamps or temperature fallback: on short commands, timestamp decoding
        can loop ("play some jazz, play some jazz, ...") and each fallback costs a whole decode. A looping
        result (compression ratio above Whisper's 2.4) is treated as not understood, never acted on."""
        segments, _info = self.model.transcribe(audio, beam_size=self.beam_size, language="en",
                                                vad_filter=True,
                                                initial_prompt=self.prompt, condition_on_previous_text=False,
                                                temperature=0.0, without_timestamps=True,
                                                max_new_tokens=MAX_COMMAND_TOKENS)
        segments = list(segments)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        looping = any(segment.compression_ratio > 2.4 for segment in segments)
        return Transcript(text, looping or not re.search(r"[A-Za-z0-9]", text))


class Synthesizer:
    """A Piper voice; speaks sentence by sentence so the first audio is ready before the whole reply."""

    def __init__(self, voice_file: Path, onnx: OnnxOptions | None = None):
        from piper import PiperConfig, PiperVoice

        config = PiperConfig.from_dict(json.loads(Path(f"{voice_file}.json").read_text()))
        self.voice = PiperVoice(session=onnx_session(voice_file, onnx or OnnxOptions()), config=config)
        self.sample_rate = self.voice.config.sample_rate

    def speak(self, text: str, steady: bool = False) -> Iterator[np.ndarray]:
        """int16 audio, one chunk per sentence. Piper varies each rendering a little (sampled noise);
        ``steady`` turns that off so the same text always gives the same audio (a stand-in driver's voice
        in tests, scenarios and benchmarks)."""
        from piper import SynthesisConfig

        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0) if steady else None
        for chunk in self.voice.synthesize(text, syn_config=config):
            yield chunk.audio_int16_array

