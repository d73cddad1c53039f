"""``carvoice ask`` and ``carvoice chat``: text turns through the dialogue to the car."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from assistant.cli.common import (BrokerOption, ConfigOption, JsonOption, SessionOption, VehicleOption,
                                  console, err_console, vehicle_session)
from assistant.engines import Engines
from assistant.runtime import build_dialogue
from intents.dialogue import Turn


def print_turn(turn: Turn, as_json: bool) -> None:
    if as_json:
        print(json.dumps(turn.as_dict()))
        return
    for action in turn.actions:
        args = ", ".join(f"{k}={v!r}" for k, v in action.args.items())
        err_console.print(f"[dim]{turn.path}: {action.name}({args}) -> {action.status}[/]", highlight=False)
    console.print(turn.reply, highlight=False)


def ask(
    text: Annotated[str, typer.Argument(help="what the driver says")],
    session: SessionOption = "cli",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """One sentence through the dialogue to the car (a running one, or an embedded simulated car)."""
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        print_turn(build_dialogue(Engines(config), car).handle(text, session), as_json)


def chat(
    session: SessionOption = "chat",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """A multi-turn text conversation with the car; an empty line or Ctrl-D ends it."""
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        dialogue = build_dialogue(Engines(config), car)
        err_console.print(f"talking to {config.vehicle.id} on {config.bus.describe()}; empty line ends")
        while True:
            try:
                text = input("you> " if sys.stdin.isatty() else "")
            except EOFError:
                break
            if not text.strip() or text.strip().lower() in ("quit", "exit", "bye"):
                break
            print_turn(dialogue.handle(text, session), as_json)
