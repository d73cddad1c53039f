"""``carvoice bench voice``: end of speech to first reply audio through the live loop."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from assistant.bench.stats import Progress, percentiles
from assistant.config import CarvoiceConfig, LiveSettings
from assistant.engines import Engines, LazyLlm
from assistant.runtime import build_dialogue, build_voice, scratch_vehicle
from assistant.voice.audio import ASR_RATE
from assistant.voice.devices import NullOutput, RecordedInput
from assistant.voice.driver_voice import driver_speech
from assistant.voice.events import PipelineEvent
from assistant.voice.live import LiveAssistant
from assistant.voice.pipeline import VoicePipeline, VoiceTurn

FAST_COMMANDS = ("set the temperature to twenty two degrees", "turn on the air conditioning",
                 "play some jazz",
                 "turn the volume down", "take me to Hamburg", "heat my seat", "skip to the next song",
                 "how long until we arrive")
LLM_COMMANDS = ("I would love to hear something by the beatles", "the music is way too loud",
                "could you crank up the tunes", "I fancy some classical music", "lower the tunes a little")
GAP_S = 3.0
"""Silence between the driver's commands: longer than any reply takes to start."""


def speech_end(audio: np.ndarray, floor: float = 0.01) -> int:
    """The sample just after the last one louder than ``floor`` (-40 dBFS): where the words stop."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    return int(loud[-1]) + 1 if loud.size else 0


def run_voice_latency(config: CarvoiceConfig, runs: int, progress: Progress) -> dict[str, Any]:
    """``live_latency`` over ``runs`` rounds of the fast and LLM commands, on a scratch car."""
    with scratch_vehicle("bench") as car:
        engines = Engines(config)
        voice = build_voice(engines, build_dialogue(engines, car), car)
        return live_latency(voice, config.live, (FAST_COMMANDS + LLM_COMMANDS) * runs,
                            progress) | {"runs": runs}


def live_latency(voice: VoicePipeline, settings: LiveSettings, commands: tuple[str, ...],
                 progress: Progress) -> dict[str, Any]:
    """End of speech -> first reply audio through the live loop, on commands spoken by the second voice
    (espeak-ng, else Piper) and streamed in real time; end of speech is where the words stop in the
    audio, not where the VAD noticed. Median and p95 per path (fast, llm)."""
    if isinstance(voice.dialogue.llm, LazyLlm):
        voice.dialogue.llm.load()  # loading is not part of a turn
    script, ends = [], []
    for text in commands:
        said, _voice = driver_speech(text, voice.synthesizer)
        ends.append(sum(len(part) for part in script) + speech_end(said))
        script += [said, np.zeros(int(GAP_S * ASR_RATE), np.float32)]
    first_audio: list[float] = []
    turns: list[VoiceTurn] = []

    def record(event: PipelineEvent) -> None:
        if event.stage == "first_audio":
            first_audio.append(time.perf_counter())

    def answered(turn: VoiceTurn) -> None:
        turns.append(turn)
        progress("voice latency", len(turns), len(ends))

    sink, voice.on_event = voice.on_event, record
    source = RecordedInput(np.concatenate(script))
    try:
        LiveAssistant(voice, source, NullOutput(), settings, "bench", on_turn=answered).run()
    finally:
        voice.on_event = sink
    if len(first_audio) != len(ends):
        raise RuntimeError(f"{len(ends)} commands were spoken but {len(first_audio)} answered: heard "
                           f"{[turn.transcript.text for turn in turns]}")
    paths = [turn.turn.path if turn.turn else "none" for turn in turns]
    latencies = [(at - (source.started_at + end / ASR_RATE)) * 1000 for at, end in zip(first_audio, ends,
                                                                                       strict=True)]
    by_path = {path: [ms for ms, p in zip(latencies, paths, strict=True) if p == path]
               for path in sorted(set(paths))}
    return {"commands": len(ends), "endpoint_ms": settings.end_ms,
            "all": percentiles(latencies),
            "by_path": {path: percentiles(values) for path, values in by_path.items()},
            "turns": [{"text": text, "heard": turn.transcript.text, "path": path, "ms": round(ms, 1),
                       "after_vad_end_ms": {k: round(v, 1) for k, v in turn.timings_ms.items()}}
                      for text, turn, path, ms in zip(commands, turns, paths, latencies, strict=True)]}

