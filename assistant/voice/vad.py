"""Voice activity and endpointing on live audio: Silero VAD (the ONNX file faster-whisper ships) on
onnxruntime.

``SileroVad`` scores one 32 ms frame at a time, keeping the model's recurrent state between frames.
``Endpointer`` turns the scores into utterances: it opens one on speech (keeping a little audio from
before it), reports a *pause* after a short silence (so recognition can start early, while the driver
may still go on) and *ends* the utterance after a longer one. Times are counted in audio samples, so the
same audio gives the same utterances however fast it arrives.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.voice.audio import ASR_RATE
from hardware.profile import OnnxOptions
from hardware.providers import onnx_session

FRAME = 512
"""Samples per VAD frame at 16 kHz (32 ms): the size Silero VAD v5/v6 is trained for."""
CONTEXT = 64


def silero_model_path() -> str:
    from faster_whisper.utils import get_assets_path

    return f"{get_assets_path()}/silero_vad_v6.onnx"


class SileroVad:
    """Speech probability of successive 512-sample frames of one stream (16 kHz float32)."""

    def __init__(self, onnx: OnnxOptions | None = None):
        self.session = onnx_session(silero_model_path(),
                                    (onnx or OnnxOptions()).model_copy(update={"threads": 1}))
        self.reset()

    def reset(self) -> None:
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        if frame.shape != (FRAME,):
            raise ValueError(f"a VAD frame is {FRAME} samples, not {frame.shape}")
        window = np.concatenate([self.context, frame]).astype(np.float32)[None, :]
        probability, self.h, self.c = self.session.run(None, {"input": window, "h": self.h, "c": self.c})
        self.context = frame[-CONTEXT:].astype(np.float32)
        return float(np.asarray(probability).ravel()[0])


@dataclass(frozen=True)
class EndpointSettings:
    threshold: float
    """Speech probability that starts speech; speech goes on until it falls below ``threshold - 0.15``."""
    pause_ms: int
    """Silence after which recognition may start early (the driver may still go on)."""
    end_ms: int
    """Silence that ends the utterance."""
    max_utterance_s: float
    min_speech_ms: int = 128
    """Shorter bursts (a click, a cough) are dropped."""
    preroll_ms: int = 192
    """Audio kept from before the speech started, so the first word is not clipped."""


EndpointKind = Literal["start", "pause", "end"]


@dataclass(frozen=True)
class EndpointEvent:
    kind: EndpointKind
    audio: np.ndarray
    """For ``pause`` and ``end``: the utterance so far, from the pre-roll to ``pause_ms`` after the speech."""
    speech_end_sample: int
    """Stream position (samples) just after the last speech frame."""


class Endpointer:
    """Feeds frames to the VAD and reports the start, pauses and end of each utterance."""

    def __init__(self, vad: SileroVad, settings: EndpointSettings):
        self.vad = vad
        self.reconfigure(settings)
        self.preroll: deque[np.ndarray] = deque(maxlen=self._frames(settings.preroll_ms))
        self.position = 0
        self._close()

    @staticmethod
    def _frames(ms: float) -> int:
        return max(1, round(ms * ASR_RATE / 1000 / FRAME))

    def reconfigure(self, settings: EndpointSettings) -> None:
        """New thresholds and silences; an utterance in progress finishes under them."""
        self.settings = settings
        self.pause_frames, self.end_frames = self._frames(settings.pause_ms), self._frames(settings.end_ms)
        self.min_speech_frames = self._frames(settings.min_speech_ms)
        self.max_frames = self._frames(settings.max_utterance_s * 1000)

    def _close(self) -> None:
        self.frames: list[np.ndarray] = []
        self.speech_frames = 0
        self.silent_frames = 0
        self.voiced_length = 0  # frames up to and including the last speech frame
        self.paused = False

    @property
    def in_speech(self) -> bool:
        return bool(self.frames)

    def reset(self) -> None:
        """Forget any utterance in progress (the VAD state too)."""
        self.vad.reset()
        self.preroll.clear()
        self._close()

    def feed(self, frame: np.ndarray) -> list[EndpointEvent]:
        self.position += FRAME
        probability = self.vad(frame)
        speaking = probability >= (self.settings.threshold - 0.15 if self.in_speech
                                   else self.settings.threshold)
        if not self.in_speech:
            if not speaking:
                self.preroll.append(frame)
                return []
            self.frames = [*self.preroll, frame]
            self.preroll.clear()
        else:
            self.frames.append(frame)
        return self._advance(speaking)

    def _advance(self, speaking: bool) -> list[EndpointEvent]:
        events: list[EndpointEvent] = []
        if speaking:
            self.speech_frames += 1
            self.silent_frames = 0
            self.voiced_length = len(self.frames)
            self.paused = False
            if self.speech_frames == self.min_speech_frames:
                events.append(EndpointEvent("start", np.empty(0, np.float32), self.position))
        else:
            self.silent_frames += 1
        if self.speech_frames < self.min_speech_frames:
            if self.silent_frames >= self.end_frames:
                self._close()  # a click or a cough: dropped
            return events
        if self.silent_frames >= self.end_frames or len(self.frames) >= self.max_frames:
            events.append(self._utterance("end"))
            self._close()
        elif self.silent_frames >= self.pause_frames and not self.paused:
            self.paused = True
            events.append(self._utterance("pause"))
        return events

    def _utterance(self, kind: EndpointKind) -> EndpointEvent:
        """The speech and the pause after it (recognisers do better with a little trailing silence); a
        pause and the end that follows it with no speech between carry the same audio."""
        speech_end = self.position - (len(self.frames) - self.voiced_length) * FRAME
        return EndpointEvent(kind, np.concatenate(self.frames[:self.voiced_length + self.pause_frames]),
                             speech_end)
