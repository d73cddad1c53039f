"""One spoken turn: audio -> speech recognition -> dialogue (and the car) -> speech synthesis.

Each stage is injected and timed. The reply is synthesised sentence by sentence, so the time to the
first reply audio is what the driver waits for (``first_audio_ms``, from the end of the input audio).
Audio with no speech in it, or a transcript with no words, is answered "Sorry, I didn't catch that."
and never reaches the dialogue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.events import EventSink, make_event
from assistant.speech import Recognizer, Synthesizer, Transcript
from intents.dialogue import NOT_UNDERSTOOD, Dialogue, Turn


@dataclass
class VoiceTurn:
    transcript: Transcript
    turn: Turn | None
    reply: str
    audio: list[np.ndarray]
    sample_rate: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        turn = self.turn.as_dict() if self.turn else {"text": "", "actions": [], "reply": self.reply,
                                                      "path": "none", "timings_ms": {}}
        return {"transcript": self.transcript.text, **turn, "reply": self.reply,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class VoicePipeline:
    def __init__(self, recognizer: Recognizer, dialogue: Dialogue, synthesizer: Synthesizer,
                 on_event: EventSink | None = None):
        self.recognizer, self.dialogue, self.synthesizer = recognizer, dialogue, synthesizer
        self.on_event = on_event or (lambda event: None)

    def handle(self, audio: np.ndarray, session_id: str = "voice") -> VoiceTurn:
        end_of_speech = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - end_of_speech) * 1000

        def emit(stage, **data) -> None:
            self.on_event(make_event(stage, session_id, elapsed(), **data))

        emit("speech_end", audio_s=round(len(audio) / 16_000, 2))
        transcript = self.recognizer.transcribe(audio)
        timings = {"asr_ms": elapsed()}
        emit("transcript", text=transcript.text)
        turn = None
        if transcript.no_speech:
            reply = NOT_UNDERSTOOD
        else:
            turn = self.dialogue.handle(transcript.text, session_id)
            reply = turn.reply
            timings["dialogue_ms"] = turn.timings_ms["total_ms"]
            emit("intent", path=turn.path, actions=[a.as_dict() for a in turn.actions])
            emit("vehicle_ack", vehicle_ms=round(turn.timings_ms.get("vehicle_ms", 0.0), 1))
        chunks = []
        for chunk in self.synthesizer.speak(reply):
            if not chunks:
                timings["first_audio_ms"] = elapsed()
                emit("first_audio", reply=reply)
            chunks.append(chunk)
        timings["total_ms"] = elapsed()
        emit("audio_end", audio_s=round(sum(len(c) for c in chunks) / self.synthesizer.sample_rate, 2))
        return VoiceTurn(transcript, turn, reply, chunks, self.synthesizer.sample_rate, timings)
