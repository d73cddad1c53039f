"""The demo: a scripted drive spoken to the full voice pipeline, against an embedded broker and simulated car.

The driver's lines are spoken by espeak-ng (a second voice, where installed; Piper otherwise), heard
by faster-whisper, handled by the dialogue and the car, and answered by Piper. For each turn it prints
what was heard, the actions, the reply, what changed in the car and the stage timings, and writes the
reply audio to ``<out>/turn-N.wav``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from assistant.audio import read_audio, write_wav
from assistant.config import CarvoiceConfig
from assistant.runtime import build_dialogue, build_voice
from intents.vehicle import BusVehicle
from vehicle_bus.brokers import EmbeddedBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings
from vehicle_bus.sim.vehicle import SimulatedVehicle

SCRIPT = (
    "set the temperature to twenty two degrees",
    "turn on the air conditioning and play some jazz",
    "a bit warmer",
    "take me to the nearest charging station",
    "how long until we arrive",
    "set the temperature to thirty five degrees",
    "turn off the brakes",
)


def speak_as_driver(text: str, path: Path, pipeline) -> str:
    """Synthesise the driver's line: espeak-ng if installed (a second voice), else the assistant's Piper voice."""
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
        return "espeak-ng"
    write_wav(path, pipeline.synthesizer.speak(text), pipeline.synthesizer.sample_rate)
    return "piper"


def run_demo(config: CarvoiceConfig, console: Console, out_dir: Path) -> None:
    bus = BusSettings(embedded_port=free_port())
    config = config.model_copy(update={"bus": bus})
    with tempfile.TemporaryDirectory() as work, EmbeddedBroker(bus.embedded_host, bus.embedded_port), \
            SimulatedVehicle(config.vehicle.id, bus, state_file=Path(work) / "car.json", time_scale=0), \
            BusClient(bus) as client:
        car = BusVehicle(client, config.vehicle.id).start()
        console.print(f"[bold]carvoice demo[/]: vehicle [cyan]{config.vehicle.id}[/] on the {bus.describe()}; "
                      "loading speech models...")
        pipeline = build_voice(config, build_dialogue(config, car), car)
        for number, line in enumerate(SCRIPT, start=1):
            said = Path(work) / f"driver-{number}.wav"
            voice = speak_as_driver(line, said, pipeline)
            before = car.state()
            turn = pipeline.handle(read_audio(said), session_id="demo")
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
