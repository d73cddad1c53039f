"""One spoken turn through real faster-whisper, the dialogue, the simulated car and Piper."""

from __future__ import annotations

import json
import queue
import subprocess
import wave

import jiwer
import numpy as np
import pytest

from assistant.voice.audio import AudioError, read_audio, write_wav
from assistant.voice.events import BusEventSink, events_topic
from assistant.voice.pipeline import VoicePipeline
from intents.dialogue import NOT_UNDERSTOOD, Dialogue
from intents.text import normalize, with_digits
from tests.speech import espeak, piper
from tests.helpers import CARVOICE

HVAC = "Vehicle.Cabin.HVAC"


@pytest.fixture
def pipeline(recognizer, synthesizer, car) -> VoicePipeline:
    return VoicePipeline(recognizer, Dialogue(car), synthesizer)


@pytest.mark.parametrize("voice", ["espeak", "piper"])
@pytest.mark.parametrize("said, path, expected", [
    ("set the temperature to twenty two degrees", f"{HVAC}.Station.Row1.Driver.Temperature", 22.0),
    ("turn on the air conditioning", f"{HVAC}.IsAirConditioningActive", True),
    ("play some jazz", "Vehicle.Cabin.Infotainment.Media.Played.Genre", "Jazz"),
    ("take me to Hamburg", "Vehicle.Private.Carvoice.Navigation.DestinationName", "Hamburg, DE"),
])
def test_spoken_commands_change_the_car_and_are_answered_aloud(voice, said, path, expected, pipeline, synthesizer,
                                                                vehicle, tmp_path):
    wav = espeak(said, tmp_path / "say.wav") if voice == "espeak" else piper(synthesizer, said, tmp_path / "say.wav")
    turn = pipeline.handle(read_audio(wav))
    assert vehicle.state[path] == expected, turn.transcript
    assert turn.audio and sum(len(chunk) for chunk in turn.audio) > synthesizer.sample_rate // 2
    assert {"asr_ms", "dialogue_ms", "first_audio_ms", "total_ms"} <= set(turn.timings_ms)


def test_stage_events_are_published_on_the_bus(recognizer, synthesizer, vehicle, client, tmp_path, car):
    pipeline = VoicePipeline(recognizer, Dialogue(car), synthesizer, BusEventSink(client, vehicle.vehicle_id))
    received: queue.Queue = queue.Queue()
    client.subscribe(events_topic(vehicle.vehicle_id), received.put)
    turn = pipeline.handle(read_audio(espeak("turn on the air conditioning", tmp_path / "say.wav")), session_id="dash")
    events = [json.loads(received.get(timeout=5).payload) for _ in range(6)]
    assert [e["stage"] for e in events] == ["speech_end", "transcript", "intent", "vehicle_ack", "first_audio",
                                            "audio_end"]
    assert all(e["session"] == "dash" for e in events)
    assert events[1]["data"]["text"].lower().startswith("turn on the air condition")
    assert events[2]["data"]["actions"][0]["name"] == "set_air_conditioning"
    elapsed = [e["elapsed_ms"] for e in events]
    assert elapsed == sorted(elapsed)
    assert turn.timings_ms == {"asr_ms": elapsed[1], "dialogue_ms": round(elapsed[2] - elapsed[1], 1),
                               "first_audio_ms": elapsed[4], "total_ms": elapsed[5]}  # read from the events


def test_silence_is_not_understood_and_does_nothing(pipeline, vehicle, tmp_path):
    before = dict(vehicle.state)
    silent = tmp_path / "silence.wav"
    write_wav(silent, [np.zeros(16_000 * 2, dtype=np.int16)], 16_000)
    turn = pipeline.handle(read_audio(silent))
    assert turn.reply == NOT_UNDERSTOOD and turn.turn is None
    assert vehicle.state == before


def test_other_rates_and_channels_are_resampled(pipeline, vehicle, tmp_path):
    mono = espeak("set the volume to forty percent", tmp_path / "mono.wav")
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(mono), "-r", "44100", "-c", "2", str(stereo)], check=True)
    pipeline.handle(read_audio(stereo))
    assert vehicle.state["Vehicle.Cabin.Infotainment.Media.Volume"] == 40


@pytest.mark.parametrize("content, message", [(b"", "holds no audio|cannot read"), (b"RIFF not really a wave", "cannot read")])
def test_unreadable_audio_is_a_clear_error(content, message, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_audio(broken)
    with pytest.raises(AudioError, match="does not exist"):
        read_audio(tmp_path / "missing.wav")


def test_listen_command_writes_the_reply(vehicle, mosquitto, tmp_path):
    wav = espeak("turn on the air conditioning and play some jazz", tmp_path / "say.wav")
    reply = tmp_path / "reply.wav"
    result = subprocess.run([CARVOICE, "listen", "--wav", str(wav), "--out", str(reply), "--json", "-b", mosquitto.url,
                             "-v", vehicle.vehicle_id], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert turn["transcript"].lower().startswith("turn on the air condition")
    assert turn["reply"] == "Air conditioning on. Playing So What by Miles Davis."
    with wave.open(str(reply)) as out:
        assert out.getframerate() == 22_050 and out.getnframes() > 22_050
    broken = subprocess.run([CARVOICE, "listen", "--wav", str(tmp_path / "nope.wav")], capture_output=True, text=True)
    assert broken.returncode == 2 and "does not exist" in broken.stderr


WER_SET = ("set the temperature to twenty one degrees", "turn on the air conditioning", "play some music by queen",
           "navigate to the nearest gas station", "open the passenger window halfway", "turn the fan up",
           "what is playing right now", "skip to the next song", "heat my seat", "how long until we arrive",
           "switch to bluetooth", "turn the volume down")


@pytest.mark.parametrize("voice", ["espeak", "piper"])
def test_word_error_rate_on_car_commands(voice, recognizer, synthesizer, tmp_path):
    """Measured here: 7% (espeak-ng) and 2% (Piper) with tiny.en; numbers compared as digits."""
    references, heard = [], []
    for number, sentence in enumerate(WER_SET):
        path = tmp_path / f"{number}.wav"
        wav = espeak(sentence, path) if voice == "espeak" else piper(synthesizer, sentence, path)
        references.append(with_digits(normalize(sentence)))
        heard.append(with_digits(normalize(recognizer.transcribe(read_audio(wav)).text)))
    assert jiwer.wer(references, heard) <= 0.15, list(zip(references, heard, strict=True))


def test_clipped_audio_is_understood_or_refused_never_misapplied(pipeline, vehicle, tmp_path):
    """Speech driven far into clipping (gain x30, cut at full scale) still works; nothing else changes."""
    clean = read_audio(espeak("turn on the air conditioning", tmp_path / "say.wav"))
    clipped = tmp_path / "clipped.wav"
    write_wav(clipped, [(np.clip(clean * 30, -1, 1) * 32767).astype(np.int16)], 16_000)
    before = dict(vehicle.state)
    turn = pipeline.handle(read_audio(clipped))
    changed = {path for path in vehicle.state if vehicle.state[path] != before[path]}
    assert changed <= {"Vehicle.Cabin.HVAC.IsAirConditioningActive"}
    assert turn.reply in (NOT_UNDERSTOOD, "Air conditioning on."), turn.transcript
