"""The live loop on a fake sound card (scripted microphone, recording speaker) with real models and car:
endpointing, device rates, barge-in, push-to-talk (bus button), the wake phrase, raw PCM, faults."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import ASR_RATE
from assistant.devices import AudioDeviceError, PyAudioInput, PyAudioOutput
from assistant.events import BusEventSink, events_topic
from assistant.live import WAKE_ACK, PUSH_TO_TALK, ListenMode, LiveAssistant, LiveSettings, strip_wake_phrase, \
    watch_push_to_talk_button
from assistant.pipeline import VoicePipeline
from assistant.vad import FRAME, Endpointer, SileroVad
from intents.dialogue import Dialogue
from intents.vehicle import BusVehicle
from tests.fake_audio import Do, FakePyAudio, Until, silence
from tests.speech import said
from vehicle_bus.protocol import ControlRequest, control_topic

CARVOICE = str(Path(sys.executable).parent / "carvoice")
TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
GENRE = "Vehicle.Cabin.Infotainment.Media.Played.Genre"
DESTINATION = "Vehicle.Private.Carvoice.Navigation.DestinationName"


@pytest.fixture
def car(vehicle, client) -> BusVehicle:
    return BusVehicle(client, vehicle.vehicle_id).start()


@pytest.fixture
def events(car, client) -> list[dict]:
    """Every pipeline event published for the car, in order."""
    received: list[dict] = []
    client.subscribe(events_topic(car.vehicle_id), lambda message: received.append(json.loads(message.payload)))
    return received


def run_live(recognizer, synthesizer, car, card: FakePyAudio, **settings) -> LiveAssistant:
    """Runs the live loop on the fake card until its script is done and the last reply has played."""
    pipeline = VoicePipeline(recognizer, Dialogue(car), synthesizer, BusEventSink(car.client, car.vehicle_id))
    live = LiveAssistant(pipeline, PyAudioInput(pyaudio_module=card), PyAudioOutput(pyaudio_module=card),
                         LiveSettings(**settings))
    unsubscribe = watch_push_to_talk_button(car.client, car.vehicle_id, live.press)
    thread = threading.Thread(target=live.run)
    thread.start()
    assert card.script_done.wait(120), "the scripted microphone did not finish"
    live.stop()
    thread.join(120)
    unsubscribe()
    return live


def stages(events: list[dict]) -> list[str]:
    return [event["stage"] for event in events]


def test_endpointer_joins_a_short_pause_and_drops_a_click():
    speech = said("set the temperature to twenty degrees")
    click = np.zeros(1600, np.float32)
    click[800:840] = 0.9
    stream = np.concatenate([silence(0.5), click, silence(1), speech[:len(speech) // 2], silence(0.2),
                             speech[len(speech) // 2:], silence(1)])
    endpointer = Endpointer(SileroVad(), LiveSettings().endpointing())
    kinds = [event.kind for start in range(0, len(stream) - FRAME + 1, FRAME)
             for event in endpointer.feed(stream[start:start + FRAME])]
    assert kinds.count("start") == 1 and kinds.count("end") == 1 and kinds[-1] == "end"


def test_live_commands_from_a_48k_stereo_mic_reach_the_car_and_play_at_44k(recognizer, synthesizer, car, vehicle,
                                                                          events):
    card = FakePyAudio([silence(0.5), said("set the temperature to twenty two degrees"), silence(1.5),
                        said("play some jazz", "piper", synthesizer), silence(2.5)],
                       mic_rate=48_000, mic_channels=2, speaker_rate=44_100, speaker_channels=2)
    live = run_live(recognizer, synthesizer, car, card)
    assert vehicle.state[TEMPERATURE] == 22.0 and vehicle.state[GENRE] == "Jazz"
    replies = [turn.reply for turn in live.turns]
    assert replies[0].startswith("Temperature set to 22") and replies[1].startswith("Playing")
    reply_seconds = sum(len(chunk) for turn in live.turns for chunk in turn.audio) / synthesizer.sample_rate
    assert all(len(block) % 2 == 0 for block in card.played)  # stereo frames
    assert card.played_seconds() == pytest.approx(reply_seconds, abs=0.05)
    assert stages(events).count("speech_start") == 2 and stages(events).count("audio_end") == 2


def test_speaking_over_a_reply_stops_it_and_the_new_command_is_handled(recognizer, synthesizer, car, vehicle, events):
    card = FakePyAudio()
    card.script = [silence(0.3), said("take me to Hamburg"), Until(lambda: card.played_seconds() > 0.5),
                   said("set the temperature to twenty degrees"), silence(2.5)]
    live = run_live(recognizer, synthesizer, car, card)
    assert vehicle.state[DESTINATION] == "Hamburg, DE" and vehicle.state[TEMPERATURE] == 20.0
    first, second = live.turns
    assert first.interrupted and not second.interrupted
    full_first = sum(len(chunk) for chunk in first.audio) / synthesizer.sample_rate
    second_seconds = sum(len(chunk) for chunk in second.audio) / synthesizer.sample_rate
    assert card.played_seconds() - second_seconds < full_first - 0.5  # the first reply was cut short
    barge = [event for event in events if event["stage"] == "barge_in"]
    assert barge and barge[0]["data"]["cause"] == "speech"


def press_button(client, vehicle_id: str, down: bool) -> None:
    client.publish(control_topic(vehicle_id), ControlRequest(set={PUSH_TO_TALK: down}).encode())


def test_push_to_talk_button_on_the_bus_gates_listening(recognizer, synthesizer, car, vehicle, client, events):
    card = FakePyAudio()
    card.script = [silence(0.3), said("set the temperature to twenty four degrees"), silence(1.5),
                   Do(lambda: press_button(client, vehicle.vehicle_id, True)),
                   Until(lambda: "push_to_talk" in stages(events)),
                   Do(lambda: press_button(client, vehicle.vehicle_id, False)),
                   silence(0.3), said("play some jazz"), silence(2.5)]
    live = run_live(recognizer, synthesizer, car, card, mode=ListenMode.PUSH_TO_TALK, follow_up_s=0)
    assert vehicle.state[TEMPERATURE] != 24.0  # spoken without a press: ignored
    assert vehicle.state[GENRE] == "Jazz" and len(live.turns) == 1
    ignored = [event for event in events if event["stage"] == "ignored"]
    assert ignored and "push-to-talk" in ignored[0]["data"]["reason"]


def test_wake_phrase_alone_is_answered_and_opens_a_follow_up(recognizer, synthesizer, car, vehicle, events):
    card = FakePyAudio([silence(0.3), said("set the temperature to twenty six degrees"), silence(1.5),
                        said("hey car", "piper", synthesizer), silence(2.0),
                        said("set the temperature to twenty degrees"), silence(2.5)])
    live = run_live(recognizer, synthesizer, car, card, mode=ListenMode.WAKE_PHRASE)
    assert vehicle.state[TEMPERATURE] == 20.0
    assert [event["data"].get("reply") for event in events if event["stage"] == "first_audio"][-1].startswith(
        "Temperature set to 20")
    assert any(event["stage"] == "ignored" and event["data"]["reason"] == "no wake phrase" for event in events)
    assert [event["data"]["reply"] for event in events if event["stage"] == "wake"] == [WAKE_ACK]
    assert len(live.turns) == 1


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
