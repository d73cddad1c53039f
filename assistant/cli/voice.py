"""``carvoice listen``, ``talk`` and ``demo``: spoken turns, the live loop, the scripted drive."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from assistant.cli.common import (BrokerOption, ConfigOption, JsonOption, SessionOption, VehicleOption,
                                  command_config, console, err_console, reported_errors, vehicle_session)
from assistant.config import ListenMode
from assistant.engines import Engines
from assistant.runtime import build_dialogue
from assistant.voice.audio import AudioError
from assistant.voice.live import watch_terminal_key


def listen(
    wav: Annotated[Path, typer.Option("--wav", help="the driver's utterance: WAV or any audio file")],
    out: Annotated[Optional[Path], typer.Option("--out", help="write the spoken reply here (WAV)")] = None,
    session: SessionOption = "voice",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """One spoken utterance through the whole pipeline: recognition, dialogue, the car, the spoken reply."""
    from assistant.voice.audio import read_audio, write_wav
    from assistant.runtime import build_voice

    with reported_errors(AudioError):
        audio = read_audio(wav)
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        engines = Engines(config)
        voice_turn = build_voice(engines, build_dialogue(engines, car), car).handle(audio, session)
    if out:
        write_wav(out, voice_turn.audio, voice_turn.sample_rate)
    if as_json:
        print(json.dumps(voice_turn.as_dict()))
        return
    err_console.print(f"[dim]heard: {voice_turn.transcript.text!r}[/]", highlight=False)
    console.print(voice_turn.reply, highlight=False)


def talk(
    input_spec: Annotated[str,
                          typer.Option("--input", "-i", help="mic, mic:N (device N), - (raw s16le PCM on "
                                                             "stdin) or an audio file")] = "mic",
    output_spec: Annotated[str, typer.Option("--output", "-o", help="speaker, speaker:N, - (raw s16le PCM on "
                                                                    "stdout), a .wav file, or "
                                                                    "none")] = "speaker",
    input_rate: Annotated[int, typer.Option(help="sample rate of raw PCM input", min=8000,
                                            max=192000)] = 16000,
    input_channels: Annotated[int, typer.Option(help="channels of raw PCM input", min=1, max=2)] = 1,
    output_rate: Annotated[int, typer.Option(help="sample rate of raw PCM output", min=8000,
                                             max=192000)] = 22050,
    mode: Annotated[Optional[ListenMode], typer.Option(help="when to listen "
                                                            "(default: config live.mode)")] = None,
    session: SessionOption = "voice",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The live voice loop: listen, answer aloud, repeat (Ctrl-C stops). Push-to-talk: the car's
    steering-wheel button, or Enter in the terminal."""
    from assistant.voice.devices import open_input, open_output
    from assistant.fleet.reload import fleet_agent
    from assistant.runtime import build_live, build_voice

    shown = err_console if output_spec == "-" else console

    def show(voice_turn) -> None:
        if as_json:
            print(json.dumps(voice_turn.as_dict()), file=sys.stderr if output_spec == "-" else sys.stdout,
                  flush=True)
            return
        timings = "  ".join(f"{k.removesuffix('_ms')} {v:.0f} ms" for k, v in voice_turn.timings_ms.items())
        shown.print("[dim]heard:[/] "
                    f"{voice_turn.transcript.text}\n[bold]{voice_turn.reply}[/]\n[dim]{timings}[/]",
                    highlight=False)

    with reported_errors(AudioError):
        audio_in = open_input(input_spec, input_rate, input_channels)
        audio_out = open_output(output_spec, output_rate)
    with vehicle_session(config_file, broker, vehicle, {"live.mode": mode}) as (config, car):
        engines = Engines(config)
        voice = build_voice(engines, build_dialogue(engines, car), car)
        live = build_live(engines, voice, car, audio_in, audio_out, session, on_turn=show)
        fleet_agent(engines, car, voice, live)
        if config.live.mode == "push_to_talk" and input_spec != "-" and sys.stdin.isatty():
            watch_terminal_key(sys.stdin, live.press)
        err_console.print(f"[dim]listening ({config.live.mode}); Ctrl-C to stop[/]")
        try:
            with reported_errors(AudioError):
                live.run()
        except KeyboardInterrupt:
            live.stop()
        finally:
            audio_out.close()


def demo(
    out: Annotated[Path, typer.Option(help="folder for the spoken replies")] = Path("demo-out"),
    config_file: ConfigOption = None,
) -> None:
    """A scripted drive spoken to the full voice pipeline (embedded broker and simulated car)."""
    from assistant.demo import run_demo

    with reported_errors():
        run_demo(command_config(config_file), console, out)
