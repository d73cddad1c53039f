"""The live loop on a fake sound card (scripted microphone, recording speaker) with real models and car:
endpointing, device rates, barge-in, push-to-talk (bus button), the wake phrase, raw PCM, faults."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections import deque

import numpy as np
import pytest

from assistant.voice.audio import ASR_RATE
from assistant.voice.devices import AudioDeviceError, PyAudioInput, PyAudioOutput
from assistant.voice.events import BusEventSink, events_topic
from assistant.config import ListenMode, LiveSettings
from assistant.voice.live import WAKE_ACK, LiveAssistant, endpoint_settings, strip_wake_phrase, \
    watch_push_to_talk_button
from assistant.voice.pipeline import VoicePipeline, VoiceTurn
from assistant.voice.vad import FRAME, Endpointer, SileroVad
from intents.dialogue import Dialogue
from intents.vehicle import BusVehicle
from tests.fake_audio import Do, FakePyAudio, Until, silence
from tests.helpers import CARVOICE, eventually
from tests.speech import said
from vehicle_bus.protocol import ControlRequest, control_topic
from vehicle_bus.signals import PUSH_TO_TALK

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
GENRE = "Vehicle.Cabin.Infotainment.Media.Played.Genre"
DESTINATION = "Vehicle.Private.Carvoice.Navigation.DestinationName"


@pytest.fixture
def events(car, client) -> list[dict]:
    """Every pipeline event published for the car, in order."""
    received: list[dict] = []
    client.subscribe(events_topic(car.vehicle_id), lambda message: received.append(json.loads(message.payload)))
    return received


def live_loop(recognizer, synthesizer, car, card: FakePyAudio, on_turn, **options) -> LiveAssistant:
    """The live loop on the fake card, handing each turn to ``on_turn``. ``options``: the loop's own
    (``max_waiting``, ``stale_after_s``), the rest are ``LiveSettings``."""
    own = {name: options.pop(name) for name in ("max_waiting", "stale_after_s") if name in options}
    pipeline = VoicePipeline(recognizer, Dialogue(car), synthesizer, BusEventSink(car.client, car.vehicle_id))
    return LiveAssistant(pipeline, PyAudioInput(pyaudio_module=card), PyAudioOutput(pyaudio_module=card),
                         LiveSettings(**options), on_turn=on_turn, **own)


def run_live(recognizer, synthesizer, car, card: FakePyAudio, **options) -> list[VoiceTurn]:
    """Runs the live loop on the fake card until its script is done and the last reply has played; returns the
    turns it handled."""
    turns: list[VoiceTurn] = []
    run_to_the_end(live_loop(recognizer, synthesizer, car, card, turns.append, **options), car, card)
    return turns


def run_to_the_end(live: LiveAssistant, car: BusVehicle, card: FakePyAudio) -> None:
    unsubscribe = watch_push_to_talk_button(car.client, car.vehicle_id, live.press)
    thread = threading.Thread(target=live.run)
    thread.start()
    assert card.script_done.wait(120), "the scripted microphone did not finish"
    live.stop()
    thread.join(120)
    unsubscribe()


def stages(events: list[dict]) -> list[str]:
    return [event["stage"] for event in events]


def test_endpointer_joins_a_short_pause_and_drops_a_click():
    speech = said("set the temperature to twenty degrees")
    click = np.zeros(1600, np.float32)
    click[800:840] = 0.9
    stream = np.concatenate([silence(0.5), click, silence(1), speech[:len(speech) // 2], silence(0.2),
                             speech[len(speech) // 2:], silence(1)])
    endpointer = Endpointer(SileroVad(), endpoint_settings(LiveSettings()))
    kinds = [event.kind for start in range(0, len(stream) - FRAME + 1, FRAME)
             for event in endpointer.feed(stream[start:start + FRAME])]
    assert kinds.count("start") == 1 and kinds.count("end") == 1 and kinds[-1] == "end"


def test_live_commands_from_a_48k_stereo_mic_reach_the_car_and_play_at_44k(recognizer, synthesizer, car, vehicle,
                                                                          events):
    card = FakePyAudio([silence(0.5), said("set the temperature to twenty two degrees"), silence(1.5),
                        said("play some jazz", "piper", synthesizer), silence(2.5)],
                       mic_rate=48_000, mic_channels=2, speaker_rate=44_100, speaker_channels=2)
    turns = run_live(recognizer, synthesizer, car, card)
    assert vehicle.state[TEMPERATURE] == 22.0 and vehicle.state[GENRE] == "Jazz"
    replies = [turn.reply for turn in turns]
    assert replies[0].startswith("Temperature set to 22") and replies[1].startswith("Playing")
    reply_seconds = sum(len(chunk) for turn in turns for chunk in turn.audio) / synthesizer.sample_rate
    assert all(len(block) % 2 == 0 for block in card.played)  # stereo frames
    assert card.played_seconds() == pytest.approx(reply_seconds, abs=0.05)
    assert stages(events).count("speech_start") == 2 and stages(events).count("audio_end") == 2


def test_speaking_over_a_reply_stops_it_and_the_new_command_is_handled(recognizer, synthesizer, car, vehicle, events):
    card = FakePyAudio()
    card.script = [silence(0.3), said("take me to Hamburg"), Until(lambda: card.played_seconds() > 0.5),
                   said("set the temperature to twenty degrees"), silence(2.5)]
    turns = run_live(recognizer, synthesizer, car, card)
    assert vehicle.state[DESTINATION] == "Hamburg, DE" and vehicle.state[TEMPERATURE] == 20.0
    first, second = turns
    assert first.interrupted and not second.interrupted
    full_first = sum(len(chunk) for chunk in first.audio) / synthesizer.sample_rate
    second_seconds = sum(len(chunk) for chunk in second.audio) / synthesizer.sample_rate
    assert card.played_seconds() - second_seconds < full_first - 0.5  # the first reply was cut short
    barge = [event for event in events if event["stage"] == "barge_in"]
    assert barge and barge[0]["data"]["cause"] == "speech"


def audio_held_by(live: LiveAssistant) -> int:
    """Bytes of audio in the live loop's own state: its attributes, through containers and its own objects
    (turns, utterances, replies, the endpointer), not into the engines, devices and callback it was given."""
    given = {id(live.pipeline), id(live.audio_in), id(live.audio_out), id(live.endpointer.vad), id(live.on_turn)}
    seen: set[int] = set()
    found, total = [live], 0
    while found:
        item = found.pop()
        if id(item) in seen or id(item) in given:
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            total += item.nbytes
        elif isinstance(item, (list, tuple, set, deque)):
            found.extend(item)
        elif isinstance(item, dict):
            found.extend(item.values())
        elif isinstance(item, queue.Queue):
            found.extend(item.queue)
        elif type(item).__module__.startswith(("assistant.", "intents.")) and hasattr(item, "__dict__"):
            found.extend(vars(item).values())
    return total


def test_the_loop_keeps_no_audio_of_the_turns_it_has_handled(recognizer, synthesizer, car):
    commands = ["set the temperature to twenty degrees", "play some jazz", "turn on the air conditioning",
                "set the temperature to twenty two degrees"]
    turns: list[VoiceTurn] = []
    held: list[int] = []
    card = FakePyAudio([silence(0.3)])
    for number, command in enumerate(commands, start=1):
        card.script += [said(command), Until(lambda number=number: len(turns) == number), silence(0.3),
                        Do(lambda: held.append(audio_held_by(live)))]  # between turns, on the listener's thread
    live = live_loop(recognizer, synthesizer, car, card, turns.append)
    run_to_the_end(live, car, card)
    assert len(turns) == len(commands) and all(turn.audio for turn in turns)
    assert held == [held[0]] * len(commands), f"audio held after each turn: {held} bytes"
    assert held[0] <= 16_000 * 4  # a second of microphone audio at most (what comes before speech)


class HeldTurn:
    """Turns handed over by the live loop; the first is held until ``release()``, as a slow one would be."""

    def __init__(self):
        self.turns: list[VoiceTurn] = []
        self.busy, self.released = threading.Event(), threading.Event()

    def __call__(self, turn: VoiceTurn) -> None:
        self.turns.append(turn)
        if len(self.turns) == 1:
            self.busy.set()
            assert self.released.wait(60), "the test never released the first turn"

    def release(self) -> None:
        self.released.set()


def test_speech_while_the_assistant_is_busy_is_answered_newest_first(recognizer, synthesizer, car, vehicle, events):
    held = HeldTurn()
    card = FakePyAudio([silence(0.3), said("set the temperature to twenty degrees"), Until(held.busy.is_set),
                        silence(0.3), said("set the temperature to twenty four degrees"), silence(1.0),
                        said("play some jazz"), silence(1.0), Do(held.release), silence(2.5)])
    run_to_the_end(live_loop(recognizer, synthesizer, car, card, held), car, card)
    assert vehicle.state[TEMPERATURE] == 20.0 and vehicle.state[GENRE] == "Jazz"  # the older waiting one: dropped
    assert [turn.reply.split()[0] for turn in held.turns] == ["Temperature", "Playing"]
    assert eventually(lambda: any(event["stage"] == "ignored" and "a newer utterance" in event["data"]["reason"]
                                  for event in events))


def test_speech_that_waited_too_long_is_dropped_not_answered_late(recognizer, synthesizer, car, vehicle, events):
    held = HeldTurn()
    card = FakePyAudio([silence(0.3), said("set the temperature to twenty degrees"), Until(held.busy.is_set),
                        silence(0.3), said("play some jazz"), silence(2.5), Do(held.release), silence(1.0)])
    run_to_the_end(live_loop(recognizer, synthesizer, car, card, held, stale_after_s=1.0), car, card)
    assert vehicle.state[TEMPERATURE] == 20.0 and vehicle.state[GENRE] != "Jazz"
    assert len(held.turns) == 1
    assert eventually(lambda: any(event["stage"] == "ignored" and "too late to answer" in event["data"]["reason"]
                                  for event in events))


def press_button(client, vehicle_id: str, down: bool) -> None:
    client.publish(control_topic(vehicle_id), ControlRequest(set={PUSH_TO_TALK: down}).encode())


def test_push_to_talk_button_on_the_bus_gates_listening(recognizer, synthesizer, car, vehicle, client, events):
    card = FakePyAudio()
    card.script = [silence(0.3), said("set the temperature to twenty four degrees"), silence(1.5),
                   Do(lambda: press_button(client, vehicle.vehicle_id, True)),
                   Until(lambda: "push_to_talk" in stages(events)),
                   Do(lambda: press_button(client, vehicle.vehicle_id, False)),
                   silence(0.3), said("play some jazz"), silence(2.5)]
    turns = run_live(recognizer, synthesizer, car, card, mode=ListenMode.PUSH_TO_TALK, follow_up_s=0)
    assert vehicle.state[TEMPERATURE] != 24.0  # spoken without a press: ignored
    assert vehicle.state[GENRE] == "Jazz" and len(turns) == 1
    ignored = [event for event in events if event["stage"] == "ignored"]
    assert ignored and "push-to-talk" in ignored[0]["data"]["reason"]


def test_wake_phrase_alone_is_answered_and_opens_a_follow_up(recognizer, synthesizer, car, vehicle, events):
    card = FakePyAudio([silence(0.3), said("set the temperature to twenty six degrees"), silence(1.5),
                        said("hey car", "piper", synthesizer), silence(2.0),
                        said("set the temperature to twenty degrees"), silence(2.5)])
    turns = run_live(recognizer, synthesizer, car, card, mode=ListenMode.WAKE_PHRASE)
    assert vehicle.state[TEMPERATURE] == 20.0
    assert [event["data"].get("reply") for event in events if event["stage"] == "first_audio"][-1].startswith(
        "Temperature set to 20")
    assert any(event["stage"] == "ignored" and event["data"]["reason"] == "no wake phrase" for event in events)
    assert [event["data"]["reply"] for event in events if event["stage"] == "wake"] == [WAKE_ACK]
    assert len(turns) == 1


@pytest.mark.parametrize("heard, command", [("Hey car, set the temperature to 20.5.", "set the temperature to 20.5"),
                                            ("Hey, Kar!", ""), ("hay car play jazz", "play jazz"),
                                            ("A car, play some jazz.", "play some jazz"), ("my car is cold", None),
                                            ("play some jazz", None), ("hey", None)])
def test_wake_phrase_matching_is_forgiving_about_spelling(heard, command):
    assert strip_wake_phrase(heard, "hey car") == command


def test_noise_and_a_failing_speaker_lose_nothing_and_the_loop_goes_on(recognizer, synthesizer, car, vehicle, events):
    noise = np.random.default_rng(7).normal(0, 0.05, 2 * ASR_RATE).astype(np.float32)
    card = FakePyAudio([noise, silence(0.5), said("turn on the air conditioning"), silence(1.5),
                        said("play some jazz"), silence(2.5)], failing_writes=1)
    before = dict(vehicle.state)
    run_live(recognizer, synthesizer, car, card)
    assert vehicle.state["Vehicle.Cabin.HVAC.IsAirConditioningActive"] is True
    assert vehicle.state[GENRE] == "Jazz"
    assert any(event["stage"] == "error" and "speaker stopped" in event["data"]["message"] for event in events)
    changed = {path for path in vehicle.state if vehicle.state[path] != before[path]}
    assert changed <= {"Vehicle.Cabin.HVAC.IsAirConditioningActive", *(p for p in changed if "Media" in p)}


@pytest.mark.parametrize("which, message", [("input", "no audio input device"), ("output", "no audio output device")])
def test_a_missing_device_is_a_clear_error(which, message):
    card = FakePyAudio(has_input=which != "input", has_output=which != "output")
    with pytest.raises(AudioDeviceError, match=message):
        PyAudioInput(pyaudio_module=card) if which == "input" else PyAudioOutput(pyaudio_module=card)


def test_talk_command_reads_raw_pcm_on_stdin_and_writes_the_reply_on_stdout(vehicle, mosquitto):
    speech = said("play some jazz")
    pcm = (np.concatenate([silence(0.3), speech, silence(1.5)]) * 32767).astype("<i2").tobytes() + b"\x01"
    result = subprocess.run([CARVOICE, "talk", "--input", "-", "--output", "-", "--output-rate", "16000", "--json",
                             "-b", mosquitto.url, "-v", vehicle.vehicle_id], input=pcm, capture_output=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    assert vehicle.state[GENRE] == "Jazz"
    turn = json.loads(result.stderr.decode().strip().splitlines()[-1])
    reply_seconds = len(result.stdout) / 2 / 16_000
    assert turn["reply"].startswith("Playing") and 1.0 < reply_seconds < 5.0


def machine_has_a_microphone() -> bool:
    try:
        PyAudioInput().close()
    except AudioDeviceError:
        return False
    return True


@pytest.mark.skipif(machine_has_a_microphone(), reason="this machine has a microphone")
def test_talk_command_without_a_microphone_says_what_to_use_instead():
    result = subprocess.run([CARVOICE, "talk"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no audio input device" in result.stderr and "--input" in result.stderr
