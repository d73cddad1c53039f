"""The live loop: a microphone (or stream) in, spoken replies out, with endpointing, early recognition,
push-to-talk, an optional wake phrase and barge-in.

Three threads keep the stages overlapping:

* the *listener* (``run``) reads 32 ms frames and feeds the endpointer; on live input it never waits for
  the others, so speech during a reply is heard at once (barge-in);
* the *responder* handles one utterance at a time: transcript, wake-phrase check, dialogue and car,
  then synthesis sentence by sentence. Utterances spoken while it is busy wait in a short queue: on live
  input the newest wins (an older waiting one is dropped) and one that waited too long is dropped rather
  than answered late, each with an ``ignored`` event saying why; from a recording nothing is dropped (the
  listener waits for room instead);
* the *player* plays each sentence as soon as it is synthesised, in short blocks, and stops mid-sentence
  when the reply is interrupted.

Recognition starts early, at the first short pause (``pause_ms``), while the endpointer still waits to
be sure the driver has finished (``end_ms``); if the driver goes on, that result is dropped.

The loop keeps no turn once it is handled: each goes to ``on_turn`` (with its reply audio) and the events.
"""

from __future__ import annotations

import difflib
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from assistant.voice.audio import ASR_RATE
from assistant.config import LiveSettings
from assistant.voice.devices import AudioInput, AudioOutput
from assistant.voice.events import Stage, make_event
from assistant.voice.pipeline import VoicePipeline, VoiceTurn
from assistant.voice.speech import Transcript
from assistant.voice.vad import FRAME, EndpointEvent, Endpointer, EndpointSettings, SileroVad
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.protocol import ProtocolError, SignalValue, value_topic
from vehicle_bus.signals import PUSH_TO_TALK

log = logging.getLogger(__name__)

WAKE_ACK = "Yes?"
BLURRED_GREETINGS = {"a", "hey", "hay", "hi", "he", "eh", "ay", "ok", "okay"}
"""How recognisers hear a quick "hey" at the start of an utterance."""
MAX_WAITING = 1
"""Utterances that may wait while the responder is busy; on live input a newer one pushes the oldest out."""
STALE_AFTER_S = 10.0
"""On live input, an utterance waiting this long after its speech ended is dropped, not answered late."""


def endpoint_settings(settings: LiveSettings) -> EndpointSettings:
    """The endpointer's settings from the listening settings."""
    return EndpointSettings(threshold=settings.vad_threshold, pause_ms=settings.pause_ms,
                            end_ms=max(settings.end_ms, settings.pause_ms),
                            max_utterance_s=settings.max_utterance_s)


class Reply:
    """One reply on its way to the speaker (a ``Playback``); cancelling it stops synthesis and playback."""

    def __init__(self, player: queue.Queue) -> None:
        self.player = player
        self.cancelled = threading.Event()
        self.finished = threading.Event()

    def play(self, chunk: np.ndarray) -> bool:
        self.player.put((self, chunk))
        return not self.cancelled.is_set()

    def finish(self) -> bool:
        self.player.put((self, None))
        self.finished.wait()
        return self.cancelled.is_set()


@dataclass
class Utterance:
    audio: np.ndarray
    speech_end: float
    """``time.perf_counter()`` when the frame holding the end of speech arrived."""
    started_at: float
    early: Future[Transcript] | None


class LiveAssistant:
    """Runs the voice pipeline on live audio until the input ends or ``stop()``; ``on_turn`` gets each handled
    turn. ``max_waiting`` and ``stale_after_s`` bound the utterances waiting for the responder."""

    def __init__(self, pipeline: VoicePipeline, audio_in: AudioInput, audio_out: AudioOutput,
                 settings: LiveSettings | None = None, session_id: str = "voice",
                 vad: SileroVad | None = None, on_turn: Callable[[VoiceTurn], None] | None = None,
                 max_waiting: int = MAX_WAITING, stale_after_s: float = STALE_AFTER_S):
        self.on_turn = on_turn or (lambda turn: None)
        self.pipeline, self.audio_in, self.audio_out = pipeline, audio_in, audio_out
        self.settings, self.session_id = settings or LiveSettings(), session_id
        self.endpointer = Endpointer(vad or SileroVad(), endpoint_settings(self.settings))
        self.turns_handled = 0
        self.pressed_at: float | None = None
        self.listening_until = 0.0
        self.reply: Reply | None = None
        self.started_at = 0.0
        self.early: Future[Transcript] | None = None
        self.early_end = -1
        self.arrivals: deque[tuple[int, float]] = deque(maxlen=256)
        self.stopped = threading.Event()
        self.recognizer_pool = ThreadPoolExecutor(1, thread_name_prefix="asr")
        self.live_input = getattr(audio_in, "realtime", True)
        self.max_waiting, self.stale_after_s = max(1, max_waiting), stale_after_s
        self.waiting: deque[Utterance] = deque()
        self.waiting_changed = threading.Condition()
        self.listening = True
        self.responder = threading.Thread(target=self._respond_in_turn, name="responder", daemon=True)
        self.playback: queue.Queue[tuple[Reply, np.ndarray | None] | None] = queue.Queue()
        self.player = threading.Thread(target=self._play, name="player", daemon=True)

    def notify(self, stage: Stage, **data) -> None:
        self.pipeline.on_event(make_event(stage, self.session_id, 0.0, **data))

    # -- controls ---------------------------------------------------------------------------------------
    def press(self) -> None:
        """Push-to-talk: listen now (and stop a reply that is playing)."""
        self.pressed_at = time.perf_counter()
        self.notify("push_to_talk")
        self._interrupt("push_to_talk")

    def stop(self) -> None:
        self.stopped.set()

    def reconfigure(self, settings: LiveSettings) -> None:
        """New listening settings, from the next utterance on (a fleet config change, hot)."""
        self.settings = settings
        self.endpointer.reconfigure(endpoint_settings(settings))

    @property
    def speaking(self) -> bool:
        return (self.reply is not None and not self.reply.finished.is_set()
                and not self.reply.cancelled.is_set())

    # -- listener -------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Listen until the input ends (a file, a closed stream) or ``stop()``, then answer what still waits;
        returns the number of turns handled."""
        self.player.start()
        self.responder.start()
        try:
            for frame in self.audio_in.frames():
                if self.stopped.is_set():
                    break
                self.arrivals.append((self.endpointer.position + FRAME, time.perf_counter()))
                for event in self.endpointer.feed(frame):
                    self._on_endpoint(event)
        finally:
            with self.waiting_changed:
                self.listening = False
                self.waiting_changed.notify_all()
            self.responder.join()
            self.recognizer_pool.shutdown(wait=True)
            self.playback.put(None)
            self.player.join()
        return self.turns_handled

    def _arrival(self, sample: int) -> float:
        return next((at for position, at in reversed(self.arrivals) if position <= sample),
                    time.perf_counter())

    def _on_endpoint(self, event: EndpointEvent) -> None:
        if event.kind == "start":
            self.started_at = self._arrival(event.speech_end_sample)
            self.notify("speech_start")
            if self.settings.barge_in:
                self._interrupt("speech")
        elif event.kind == "pause":
            if self._accepts_without_words() and (self.early is None or self.early.done()):
                self.early_end = event.speech_end_sample
                self.early = self.recognizer_pool.submit(self.pipeline.recognizer.transcribe, event.audio)
        else:
            early = self.early if self.early_end == event.speech_end_sample else None
            utterance = Utterance(event.audio, self._arrival(event.speech_end_sample), self.started_at, early)
            self.early, self.early_end = None, -1
            if self._accepts_without_words() or self.settings.mode == "wake_phrase":
                self._hand_to_responder(utterance)
            else:
                self.notify("ignored", reason="push-to-talk was not pressed")

    def _accepts_without_words(self) -> bool:
        """Whether the utterance in progress is for the assistant without looking at what was said."""
        if self.settings.mode == "always" or self.started_at <= self.listening_until:
            return True
        return (self.settings.mode == "push_to_talk" and self.pressed_at is not None
                and self.started_at - self.pressed_at <= self.settings.press_window_s)

    def _interrupt(self, cause: str) -> None:
        if self.speaking:
            self.reply.cancelled.set()
            self.notify("barge_in", cause=cause)

    # -- responder -----------------------------------------------------------------------------------------
    def _hand_to_responder(self, utterance: Utterance) -> None:
        """Queue ``utterance`` for the responder. When ``max_waiting`` already wait, live input drops the
        oldest (the newest wins: the listener must go on listening); a recording waits for room, losing
        nothing."""
        dropped: list[Utterance] = []
        with self.waiting_changed:
            while len(self.waiting) >= self.max_waiting:
                if self.live_input:
                    dropped.append(self.waiting.popleft())
                else:
                    self.waiting_changed.wait()
            self.waiting.append(utterance)
            self.waiting_changed.notify_all()
        for old in dropped:
            self._drop(old, "a newer utterance came while the assistant was busy")

    def _next_utterance(self) -> Utterance | None:
        """The oldest waiting utterance, once there is one; None when listening has ended and none waits."""
        with self.waiting_changed:
            while not self.waiting and self.listening:
                self.waiting_changed.wait()
            utterance = self.waiting.popleft() if self.waiting else None
            self.waiting_changed.notify_all()
            return utterance

    def _respond_in_turn(self) -> None:
        while (utterance := self._next_utterance()) is not None:
            waited_s = time.perf_counter() - utterance.speech_end
            if self.live_input and waited_s > self.stale_after_s:
                self._drop(utterance, f"it waited {waited_s:.1f} s for the assistant (more than "
                                      f"{self.stale_after_s:g} s): too late to answer")
            else:
                self._respond(utterance)

    def _drop(self, utterance: Utterance, reason: str) -> None:
        log.info("dropped an utterance of %.1f s: %s", len(utterance.audio) / ASR_RATE, reason)
        self.notify("ignored", reason=reason)

    def _respond(self, utterance: Utterance) -> None:
        try:
            self._respond_to(utterance)
        except Exception as exc:  # one failed turn must not end the loop: report it and keep listening
            log.error("turn failed: %s", exc)
            self.notify("error", message=str(exc))

    def _respond_to(self, utterance: Utterance) -> None:
        pipeline = self.pipeline
        clock = pipeline.begin(self.session_id, len(utterance.audio) / ASR_RATE, utterance.speech_end)
        transcript = pipeline.transcribe(utterance.audio, clock,
                                         utterance.early.result if utterance.early else None)
        follow_up = utterance.started_at <= self.listening_until
        if self.settings.mode == "push_to_talk":
            self.pressed_at = None
        elif self.settings.mode == "wake_phrase" and not follow_up and not transcript.no_speech:
            command = strip_wake_phrase(transcript.text, self.settings.wake_phrase)
            if command is None:
                self.notify("ignored", reason="no wake phrase", text=transcript.text)
                return
            if not command:
                self.notify("wake", reply=WAKE_ACK)
                self._speak_only(WAKE_ACK)
                return
            transcript = Transcript(command, False)
        self.reply = Reply(self.playback)
        turn = pipeline.respond(transcript, clock, self.reply)
        self.turns_handled += 1
        self.on_turn(turn)
        self.listening_until = time.perf_counter() + self.settings.follow_up_s

    def _speak_only(self, text: str) -> None:
        reply = self.reply = Reply(self.playback)
        for chunk in self.pipeline.synthesizer.speak(text):
            reply.play(chunk)
        reply.finish()
        self.listening_until = time.perf_counter() + self.settings.follow_up_s

    # -- player ----------------------------------------------------------------------------------------------
    def _play(self) -> None:
        rate = self.pipeline.synthesizer.sample_rate
        while (item := self.playback.get()) is not None:
            reply, chunk = item
            if chunk is None:
                reply.finished.set()
            elif not reply.cancelled.is_set():
                try:
                    self.audio_out.play(chunk, rate, reply.cancelled.is_set)
                except Exception as exc:  # a failing speaker loses the reply, not the loop
                    log.error("playback failed: %s", exc)
                    self.notify("error", message=str(exc))
                    reply.cancelled.set()


def watch_push_to_talk_button(client: BusClient, vehicle_id: str,
                              press: Callable[[], None]) -> Callable[[], None]:
    """Press on every rising edge of the steering-wheel button signal; returns the unsubscribe function."""
    held = [False]

    def on_value(message: BusMessage) -> None:
        try:
            down = SignalValue.decode(message.payload).value is True
        except ProtocolError as exc:
            log.warning("ignoring a bad push-to-talk value: %s", exc)
            return
        if down and not held[0]:
            press()
        held[0] = down

    return client.subscribe(value_topic(vehicle_id, PUSH_TO_TALK), on_value)


def watch_terminal_key(lines: TextIO, press: Callable[[], None]) -> threading.Thread:
    """Press on every Enter typed in the terminal (a daemon thread reading ``lines``)."""

    def read() -> None:
        for _line in lines:
            press()

    thread = threading.Thread(target=read, name="terminal-ptt", daemon=True)
    thread.start()
    return thread


def strip_wake_phrase(text: str, wake_phrase: str) -> str | None:
    """The command after the wake phrase ("" when only the phrase was said), or None when the text does
    not start with it. Matching is forgiving, as recognisers spell names freely ("Hey, Kar!") and often
    blur a leading greeting ("A car, ..."): each heard word must be close to the phrase's word, or a
    blurred greeting be followed by the rest of the phrase exactly ("my car is cold" is no wake-up)."""
    words = list(re.finditer(r"[a-z0-9']+", text.lower()))
    wake = re.findall(r"[a-z0-9']+", wake_phrase.lower())
    if len(words) < len(wake):
        return None
    heard = [word.group() for word in words[:len(wake)]]
    close = all(difflib.SequenceMatcher(None, h, w).ratio() >= 0.6 for h, w in zip(heard, wake, strict=True))
    blurred = len(wake) > 1 and heard[0] in BLURRED_GREETINGS and heard[1:] == wake[1:]
    if not (close or blurred):
        return None
    return text[words[len(wake) - 1].end():].strip(" ,.!?;:")
