"""The ``carvoice`` command line: one module per command group (``sim``, ``intents``, ``bench``, ``hw``,
``fleet``, ``config``, ``models``; ``dialogue`` and ``voice`` for the commands at the top), and what they
share (options, config loading, error reporting) in ``common``; ``dash`` lives with the dashboard
(``assistant/dash/``)."""

from __future__ import annotations

import typer

from assistant.cli import dialogue, voice
from assistant.cli.bench import bench_app
from assistant.cli.config import config_app
from assistant.cli.fleet import fleet_app
from assistant.cli.hw import hw_app
from assistant.cli.intents import intents_app
from assistant.cli.models import models_app
from assistant.cli.sim import sim_app
from assistant.dash.command import dash

app = typer.Typer(help="carvoice: an offline in-car voice assistant.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
for command in (dialogue.ask, dialogue.chat, voice.listen, voice.talk, voice.demo, dash):
    app.command()(command)
app.add_typer(sim_app, name="sim")
app.add_typer(intents_app, name="intents")
app.add_typer(bench_app, name="bench")
app.add_typer(hw_app, name="hw")
app.add_typer(fleet_app, name="fleet")
app.add_typer(config_app, name="config")
app.add_typer(models_app, name="models")


def main() -> None:
    app()
