"""Live audio in and out: PyAudio devices where they exist, raw PCM streams and files otherwise.

Every input delivers the same thing, 16 kHz mono float32 frames of ``FRAME`` samples, whatever the
device's rate and channel count; every output takes int16 mono audio at the synthesiser's rate and
converts it to what the device wants (libswresample through PyAV). Outputs play in short blocks and
check between blocks whether the reply was interrupted, so barge-in stops the sound within one block.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import av
import numpy as np

from assistant.voice.audio import ASR_RATE, AudioError, read_audio, write_wav
from assistant.voice.vad import FRAME

BLOCK_S = 0.02
"""Output block length: how long playback may run on after an interruption."""


class AudioDeviceError(AudioError):
    """A microphone or speaker that is missing or fails."""


Interrupted = Callable[[], bool]


class AudioInput(Protocol):
    realtime: bool
    """True when frames come at the speed of speech (a microphone, a live stream): the live loop then never
    makes the input wait, and drops what the driver said long ago rather than answer it late."""

    def frames(self) -> Iterator[np.ndarray]:
        """16 kHz mono float32 frames of ``FRAME`` samples until the input ends."""
        ...

    def close(self) -> None: ...


class AudioOutput(Protocol):
    realtime: bool
    """True when playing takes as long as the audio (a device): only then can a reply be interrupted."""

    def play(self, chunk: np.ndarray, sample_rate: int, interrupted: Interrupted) -> bool:
        """Play int16 mono audio; False when ``interrupted()`` turned true before the end."""
        ...

    def close(self) -> None: ...


class Converter:
    """Streaming conversion of interleaved int16 audio between rates and channel counts."""

    def __init__(self, in_rate: int, in_channels: int, out_rate: int, out_channels: int):
        self.in_rate, self.in_layout = in_rate, _layout(in_channels)
        self.identity = (in_rate, in_channels) == (out_rate, out_channels)
        self.resampler = av.AudioResampler(format="s16", layout=_layout(out_channels), rate=out_rate)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Interleaved int16 in, interleaved int16 out (possibly empty while the resampler fills)."""
        if self.identity or samples.size == 0:
            return samples.astype(np.int16, copy=False)
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16",
                                           layout=self.in_layout)
        frame.sample_rate = self.in_rate
        out = [f.to_ndarray().reshape(-1) for f in self.resampler.resample(frame)]
        return np.concatenate(out) if out else np.empty(0, np.int16)


def _layout(channels: int) -> str:
    if channels not in (1, 2):
        raise AudioDeviceError(f"{channels} audio channels: only mono and stereo devices are supported")
    return "mono" if channels == 1 else "stereo"


class Framer:
    """Cuts converted 16 kHz mono int16 audio into float32 VAD frames."""

    def __init__(self, rate: int, channels: int):
        self.convert = Converter(rate, channels, ASR_RATE, 1)
        self.pending = np.empty(0, np.int16)

    def __call__(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        self.pending = np.concatenate([self.pending, self.convert(samples)])
        while len(self.pending) >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            yield frame.astype(np.float32) / 32768.0


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """PortAudio prints ALSA/JACK probing noise on file descriptor 2; hide it while probing."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_pyaudio(pyaudio_module=None):
    """A PyAudio instance (``pyaudio_module`` lets tests put a fake device behind the same API)."""
    if pyaudio_module is None:
        import pyaudio as pyaudio_module
    with quiet_stderr():
        return pyaudio_module, pyaudio_module.PyAudio()


def device_info(pa, direction: str, index: int | None) -> dict:
    try:
        if index is not None:
            return pa.get_device_info_by_index(index)
        return getattr(pa, f"get_default_{direction}_device_info")()
    except (OSError, ValueError) as exc:
        hint = "--input FILE or --input - (raw PCM on stdin)" if direction == "input" else \
            "--output FILE.wav, --output - (raw PCM on stdout) or --output none"
        raise AudioDeviceError(f"no audio {direction} device ({exc}); use {hint}") from None


class PyAudioInput:
    """A microphone, read in 20 ms blocks at its own rate and converted to VAD frames."""

    realtime = True

    def __init__(self, device: int | None = None, pyaudio_module=None):
        self.module, self.pa = open_pyaudio(pyaudio_module)
        info = device_info(self.pa, "input", device)
        self.rate, self.channels = int(info["defaultSampleRate"]), min(int(info["maxInputChannels"]), 2)
        self.block = int(self.rate * BLOCK_S)
        try:
            self.stream = self.pa.open(format=self.module.paInt16, channels=self.channels, rate=self.rate,
                                       input=True, frames_per_buffer=self.block, input_device_index=device)
        except OSError as exc:
            raise AudioDeviceError(f"cannot open microphone {info.get('name', device)!r}: {exc}") from None

    def frames(self) -> Iterator[np.ndarray]:
        framer = Framer(self.rate, self.channels)
        while True:
            try:
                data = self.stream.read(self.block, exception_on_overflow=False)
            except OSError as exc:
                raise AudioDeviceError(f"the microphone stopped: {exc}") from None
            yield from framer(np.frombuffer(data, dtype=np.int16))

    def close(self) -> None:
        self.stream.close()
        self.pa.terminate()


class PcmInput:
    """Raw signed 16-bit little-endian PCM from a byte stream (e.g. stdin), at a given rate and channel count;
    taken to be live (a head unit's microphone stream)."""

    realtime = True

    def __init__(self, stream: BinaryIO, rate: int = ASR_RATE, channels: int = 1):
        self.stream, self.rate, self.channels = stream, rate, channels
        self.block_bytes = int(rate * BLOCK_S) * channels * 2
        _layout(channels)

    def frames(self) -> Iterator[np.ndarray]:
        framer, carry = Framer(self.rate, self.channels), b""
        while data := self.stream.read(self.block_bytes):
            data, carry = carry + data, b""
            whole = len(data) - len(data) % (2 * self.channels)  # keep a split sample for the next read
            data, carry = data[:whole], data[whole:]
            yield from framer(np.frombuffer(data, dtype="<i2"))

    def close(self) -> None:
        self.stream.close()


class RecordedInput:
    """Recorded audio (16 kHz mono float32) as if spoken into a microphone, followed by a second of silence so
    its last utterance ends; ``realtime`` paces it at the speed of speech. ``started_at`` is the
    ``time.perf_counter()`` at which its first sample was due, so sample ``n`` is due ``n / 16000`` s
    later."""

    def __init__(self, audio: np.ndarray, realtime: bool = True, trailing_silence_s: float = 1.0):
        self.audio = np.concatenate([audio, np.zeros(int(trailing_silence_s * ASR_RATE), np.float32)])
        self.realtime = realtime
        self.started_at = 0.0

    @classmethod
    def from_file(cls, path: Path, realtime: bool = True) -> RecordedInput:
        return cls(read_audio(path), realtime)

    def frames(self) -> Iterator[np.ndarray]:
        self.started_at = time.perf_counter()
        for index in range(0, len(self.audio) - FRAME + 1, FRAME):
            if self.realtime:
                time.sleep(max(0.0, self.started_at + (index + FRAME) / ASR_RATE - time.perf_counter()))
            yield self.audio[index:index + FRAME]

    def close(self) -> None:
        pass


class BlockOutput:
    """Writes converted audio in ``BLOCK_S`` blocks, checking for an interruption between blocks."""

    realtime = False

    def __init__(self, rate: int | None, channels: int = 1):
        self.rate, self.channels = rate, channels
        self.converters: dict[int, Converter] = {}

    def play(self, chunk: np.ndarray, sample_rate: int, interrupted: Interrupted) -> bool:
        rate = self.rate or sample_rate
        if sample_rate not in self.converters:
            self.converters[sample_rate] = Converter(sample_rate, 1, rate, self.channels)
        samples = self.converters[sample_rate](np.asarray(chunk, dtype=np.int16))
        step = max(1, int(rate * BLOCK_S)) * self.channels
        for start in range(0, len(samples), step):
            if interrupted():
                return False
            self.write(samples[start:start + step])
        return not interrupted()

    def write(self, samples: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PyAudioOutput(BlockOutput):
    """A speaker at its own default rate; writes block until the device has room, so playback is paced."""

    realtime = True

    def __init__(self, device: int | None = None, pyaudio_module=None):
        self.module, self.pa = open_pyaudio(pyaudio_module)
        info = device_info(self.pa, "output", device)
        super().__init__(int(info["defaultSampleRate"]), min(int(info["maxOutputChannels"]), 2))
        try:
            self.stream = self.pa.open(format=self.module.paInt16, channels=self.channels, rate=self.rate,
                                       output=True, frames_per_buffer=int(self.rate * BLOCK_S),
                                       output_device_index=device)
        except OSError as exc:
            raise AudioDeviceError(f"cannot open speaker {info.get('name', device)!r}: {exc}") from None

    def write(self, samples: np.ndarray) -> None:
        try:
            self.stream.write(samples.astype("<i2").tobytes())
        except OSError as exc:
            raise AudioDeviceError(f"the speaker stopped: {exc}") from None

    def close(self) -> None:
        self.stream.close()
        self.pa.terminate()


class PcmOutput(BlockOutput):
    """Raw signed 16-bit little-endian mono PCM to a byte stream (e.g. stdout) at ``rate``."""

    def __init__(self, stream: BinaryIO, rate: int = 22_050):
        super().__init__(rate)
        self.stream = stream

    def write(self, samples: np.ndarray) -> None:
        self.stream.write(samples.astype("<i2").tobytes())
        self.stream.flush()


class WavOutput(BlockOutput):
    """Every reply, one after another, in one WAV file written on close."""

    def __init__(self, path: Path):
        super().__init__(None)
        self.path, self.blocks, self.sample_rate = path, [], 22_050

    def play(self, chunk: np.ndarray, sample_rate: int, interrupted: Interrupted) -> bool:
        self.sample_rate = sample_rate
        return super().play(chunk, sample_rate, interrupted)

    def write(self, samples: np.ndarray) -> None:
        self.blocks.append(samples)

    def close(self) -> None:
        write_wav(self.path, self.blocks, self.sample_rate)


class NullOutput(BlockOutput):
    """Replies are not played (their text and timings are still reported)."""

    def __init__(self):
        super().__init__(None)

    def write(self, samples: np.ndarray) -> None:
        pass


def open_input(spec: str, rate: int = ASR_RATE, channels: int = 1, realtime: bool = True) -> AudioInput:
    """``mic`` or ``mic:N`` (PyAudio device N), ``-`` (raw PCM on stdin at ``rate``/``channels``), or a
    file."""
    if spec == "mic" or spec.startswith("mic:"):
        return PyAudioInput(_device_index(spec))
    if spec == "-":
        return PcmInput(sys.stdin.buffer, rate, channels)
    return RecordedInput.from_file(Path(spec), realtime)


def open_output(spec: str, rate: int = 22_050) -> AudioOutput:
    """``speaker`` or ``speaker:N``, ``-`` (raw PCM on stdout at ``rate``), ``none``, or a WAV file path."""
    if spec == "speaker" or spec.startswith("speaker:"):
        return PyAudioOutput(_device_index(spec))
    if spec == "-":
        return PcmOutput(sys.stdout.buffer, rate)
    if spec == "none":
        return NullOutput()
    return WavOutput(Path(spec))


def _device_index(spec: str) -> int | None:
    _, _, index = spec.partition(":")
    if index and not index.isdigit():
        raise AudioDeviceError(f"{spec!r}: a device is chosen by number, e.g. {spec.split(':')[0]}:2")
    return int(index) if index else None
