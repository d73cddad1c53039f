"""One spoken turn: audio -> speech recognition -> dialogue (and the car) -> speech synthesis.

Each stage is injected and reported as a typed event timed from the end of the driver's speech (a
``TurnClock``); the turn's stage timings are read from those events. The reply is
synthesised sentence by sentence and each sentence is handed on (``Playback``) as soon as it is ready,
so the time to the first reply audio is what the driver waits for. Audio with no speech in it, or a
transcript with no words, is answered "Sorry, I didn't catch that." and never reaches the dialogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.voice.audio import ASR_RATE
from assistant.voice.events import EventSink, PipelineEvent, Stage, make_event
from assistant.voice.speech import Recognizer, Synthesizer, Transcript
from intents.dialogue import NOT_UNDERSTOOD, Dialogue, Turn


class Playback(Protocol):
    """Where a reply's audio goes as it is synthesised (the live loop's player)."""

    def play(self, chunk: np.ndarray) -> bool:
        """Queue one sentence of int16 audio; False when the reply was interrupted (stop synthesising)."""
        ...

    def finish(self) -> bool:
        """Wait until everything queued has played; True when the reply was interrupted."""
        ...


TIMINGS: dict[str, tuple[Stage | None, Stage]] = {
    "asr_ms": (None, "transcript"), "dialogue_ms": ("transcript", "intent"),
    "first_audio_ms": (None, "first_audio"), "total_ms": (None, "audio_end")}
"""Each timing of a turn: from one event to another (None: from the end of the driver's speech)."""


@dataclass
class TurnClock:
    """Milliseconds since the end of the driver's speech, and the events of one turn."""

    session_id: str
    speech_end: float
    sink: EventSink
    events: list[PipelineEvent] = field(default_factory=list)

    def elapsed(self) -> float:
        return (time.perf_counter() - self.speech_end) * 1000

    def emit(self, stage: Stage, **data: Any) -> None:
        event = make_event(stage, self.session_id, self.elapsed(), **data)
        self.events.append(event)
        self.sink(event)

    def timings_ms(self) -> dict[str, float]:
        """The ``TIMINGS`` of the stages this turn reached, read from its events."""
        at: dict[Stage | None, float] = {None: 0.0} | {event.stage: event.elapsed_ms for event in self.events}
        return {name: round(at[end] - at[start], 1) for name, (start, end) in TIMINGS.items()
                if start in at and end in at}


@dataclass
class VoiceTurn:
    transcript: Transcript
    turn: Turn | None
    reply: str
    audio: list[np.ndarray]
    sample_rate: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        turn = self.turn.as_dict() if self.turn else {"text": "", "actions": [], "reply": self.reply,
                                                      "path": "none", "timings_ms": {}}
        return {"transcript": self.transcript.text, **turn, "reply": self.reply,
                "interrupted": self.interrupted,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class VoicePipeline:
    def __init__(self, recognizer: Recognizer, dialogue: Dialogue, synthesizer: Synthesizer,
                 on_event: EventSink | None = None):
        self.recognizer, self.dialogue, self.synthesizer = recognizer, dialogue, synthesizer
        self.on_event = on_event or (lambda event: None)

    def handle(self, audio: np.ndarray, session_id: str = "voice",
               playback: Playback | None = None) -> VoiceTurn:
        """A whole turn for audio that ended just now."""
        clock = self.begin(session_id, len(audio) / ASR_RATE)
        return self.respond(self.transcribe(audio, clock), clock, playback)

    def begin(self, session_id: str, audio_s: float, speech_end: float | None = None) -> TurnClock:
        """Start timing a turn whose speech ended at ``speech_end`` (a ``time.perf_counter()``; or now)."""
        clock = TurnClock(session_id, speech_end or time.perf_counter(), self.on_event)
        clock.emit("speech_end", audio_s=round(audio_s, 2))
        return clock

    def transcribe(self, audio: np.ndarray, clock: TurnClock,
                   ready: Callable[[], Transcript] | None = None) -> Transcript:
        """The transcript of ``audio``, or the one ``ready`` returns (recognition started early)."""
        transcript = ready() if ready else self.recognizer.transcribe(audio)
        clock.emit("transcript", text=transcript.text)
        return transcript

    def respond(self, transcript: Transcript, clock: TurnClock,
                playback: Playback | None = None) -> VoiceTurn:
        """Dialogue, the car and the spoken reply, each sentence handed to ``playback`` once it exists."""
        turn = None
        if transcript.no_speech:
            reply = NOT_UNDERSTOOD
        else:
            turn = self.dialogue.handle(transcript.text, clock.session_id)
            reply = turn.reply
            clock.emit("intent", path=turn.path, actions=[a.as_dict() for a in turn.actions])
            clock.emit("vehicle_ack", vehicle_ms=round(turn.timings_ms.get("vehicle_ms", 0.0), 1))
        chunks: list[np.ndarray] = []
        interrupted = False
        for chunk in self.synthesizer.speak(reply):
            if not chunks:
                clock.emit("first_audio", reply=reply)
            chunks.append(chunk)
            if playback and not playback.play(chunk):
                break
        if playback:
            interrupted = playback.finish()
        clock.emit("audio_end", audio_s=round(sum(len(c) for c in chunks) / self.synthesizer.sample_rate, 2),
                   interrupted=interrupted)
        return VoiceTurn(transcript, turn, reply, chunks, self.synthesizer.sample_rate, clock.timings_ms(),
                         interrupted)
