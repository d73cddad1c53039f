"""The demo: a scripted drive spoken to the full voice pipeline, against an embedded broker and simulated car.

The driver's lines are spoken by espeak-ng (a second voice, where installed; Piper otherwise), heard
by faster-whisper, handled by the dialogue and the car, and answered by Piper. For each turn it prints
what was heard, the actions, the reply, what changed in the car and the stage timings, and writes the
reply audio to ``<out>/turn-N.wav``.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from assistant.voice.audio import write_wav
from assistant.config import CarvoiceConfig
from assistant.voice.driver_voice import driver_speech
from assistant.engines import Engines
from assistant.runtime import build_dialogue, build_voice, scratch_vehicle

SCRIPT = (
    "set the temperature to twenty two degrees",
    "turn on the air conditioning and play some jazz",
    "a bit warmer",
    "take me to the nearest charging station",
    "how long until we arrive",
    "set the temperature to thirty five degrees",
    "turn off the brakes",
)


def run_demo(config: CarvoiceConfig, console: Console, out_dir: Path) -> None:
    with scratch_vehicle(config.vehicle.id) as car:
        console.print(f"[bold]carvoice demo[/]: vehicle [cyan]{config.vehicle.id}[/] on the "
                      f"{car.client.settings.describe()}; "
                      "loading speech models...")
        engines = Engines(config)
        pipeline = build_voice(engines, build_dialogue(engines, car), car)
        for number, line in enumerate(SCRIPT, start=1):
            said, voice = driver_speech(line, pipeline.synthesizer)
            before = car.state()
            turn = pipeline.handle(said, session_id="demo")
            reply_file = out_dir / f"turn-{number}.wav"
            write_wav(reply_file, turn.audio, turn.sample_rate)
            after = car.state()
            console.rule(f"turn {number}")
            console.print(f"driver ({voice}): {line!r}", highlight=False)
            console.print(f"heard: {turn.transcript.text!r}", highlight=False)
            for action in turn.turn.actions if turn.turn else ():
                args = ", ".join(f"{k}={v!r}" for k, v in action.args.items())
                console.print(f"  {action.name}({args}) -> {action.status}", highlight=False)
            console.print(f"[bold]assistant:[/] {turn.reply}  [dim]({reply_file})[/]", highlight=False)
            for path in (p for p in after if after[p] != before.get(p)):
                console.print(f"  [green]{path}[/] {before.get(path)!r} -> {after[path]!r}", highlight=False)
            timings = ", ".join(f"{k} {v:.0f}" for k, v in turn.timings_ms.items())
            console.print(f"  [dim]timings ms: {timings}[/]", highlight=False)
