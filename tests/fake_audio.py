"""A sound card for machines without one: the part of the PyAudio API that carvoice uses, backed by a
scripted microphone and a recording speaker that both run at the speed of real audio.

The microphone plays a script: audio (16 kHz mono float32, converted here to the device's own rate and
channels), ``Do(action)`` to act at that point (press a button), and ``Until(condition)`` to stay silent
until something happens (e.g. the speaker has started a reply, so the driver can talk over it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

@dataclass
class Do:
    action: Callable[[], None]


@dataclass
class Until:
    condition: Callable[[], bool]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16_000), np.float32)


class FakePyAudio:
    """Stands in for the ``pyaudio`` module: ``FakePyAudio(...).PyAudio()`` opens the fake card."""

    paInt16 = 8

    def __init__(self, script: list | None = None, mic_rate: int = 48_000, mic_channels: int = 2,
                 speaker_rate: int = 44_100, speaker_channels: int = 2, has_input: bool = True,
                 has_output: bool = True, failing_writes: int = 0):
        self.script = script or []
        self.mic_rate, self.mic_channels = mic_rate, mic_channels
        self.speaker_rate, self.speaker_channels = speaker_rate, speaker_channels
        self.has_input, self.has_output = has_input, has_output
        self.failing_writes = failing_writes
        self.played: list[np.ndarray] = []
        self.script_done = threading.Event()

    def PyAudio(self) -> FakePortAudio:  # noqa: N802 (the pyaudio API's name)
        return FakePortAudio(self)

    def played_seconds(self) -> float:
        return sum(len(block) for block in self.played) / self.speaker_channels / self.speaker_rate

    def device_audio(self, audio: np.ndarray) -> bytes:
        """16 kHz mono float32 as the microphone's interleaved int16 at its own rate."""
        positions = np.arange(int(len(audio) * self.mic_rate / 16_000)) * 16_000 / self.mic_rate
        resampled = np.interp(positions, np.arange(len(audio)), audio)
        samples = (np.clip(resampled, -1, 1) * 32767).astype("<i2")
        return np.repeat(samples, self.mic_channels).tobytes()


class FakePortAudio:
    def __init__(self, card: FakePyAudio):
        self.card = card

    def _device(self, present: bool, rate: int, inputs: int, outputs: int) -> dict:
        if not present:
            raise OSError(f"No Default {'Input' if inputs else 'Output'} Device Available")
        return {"index": 0, "name": "fake", "defaultSampleRate": float(rate), "maxInputChannels": inputs,
                "maxOutputChannels": outputs}

    def get_default_input_device_info(self) -> dict:
        return self._device(self.card.has_input, self.card.mic_rate, self.card.mic_channels, 0)

    def get_default_output_device_info(self) -> dict:
        return self._device(self.card.has_output, self.card.speaker_rate, 0, self.card.speaker_channels)

    def open(self, format: int, channels: int, rate: int, input: bool = False, output: bool = False,
             **_options) -> FakeStream:
        assert format == FakePyAudio.paInt16
        return FakeStream(self.card, rate, channels, scripted=input)

    def terminate(self) -> None:
        pass


class FakeStream:
    def __init__(self, card: FakePyAudio, rate: int, channels: int, scripted: bool):
        self.card, self.rate, self.channels = card, rate, channels
        self.items = iter(card.script) if scripted else iter(())
        self.pending = b""
        self.waiting: Until | None = None
        self.clock = time.perf_counter()

    def _pace(self, frames: int) -> None:
        self.clock += frames / self.rate
        time.sleep(max(0.0, self.clock - time.perf_counter()))

    def read(self, frames: int, exception_on_overflow: bool = True) -> bytes:
        size = frames * self.channels * 2
        while len(self.pending) < size:
            item = self.waiting or next(self.items, None)
            self.waiting = None
            if item is None:
                self.card.script_done.set()
                self.pending += bytes(size)
            elif isinstance(item, Do):
                item.action()
            elif isinstance(item, Until):
                if not item.condition():
                    self.waiting = item
                    self.pending += bytes(size)
            else:
                self.pending += self.card.device_audio(item)
        data, self.pending = self.pending[:size], self.pending[size:]
        self._pace(frames)
        return data

    def write(self, data: bytes) -> None:
        if self.card.failing_writes:
            self.card.failing_writes -= 1
            raise OSError("Unanticipated host error")
        samples = np.frombuffer(data, dtype="<i2")
        self.card.played.append(samples)
        self._pace(len(samples) // self.channels)

    def close(self) -> None:
        pass
