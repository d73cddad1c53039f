"""``carvoice intents``: the intent catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from assistant.cli.common import console
from intents.catalogue import CATALOGUE

intents_app = typer.Typer(help="The intent catalogue.", no_args_is_help=True)


def intents_markdown() -> str:
    """The catalogue as a Markdown table (the README's copy is checked against it)."""
    lines = ["| action | domain | arguments | what it does | said like |", "| --- | --- | --- | --- | --- |"]
    for a in CATALOGUE.values():
        cells = [f"`{a.name}`", a.domain, a.signature().partition("(")[2].rstrip(")"), a.description,
                 "; ".join(a.examples)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


@intents_app.command("list")
def intents_list(markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False) -> None:
    """Every action the assistant can take, with its arguments and the signals it uses."""
    rows = [(a.name, a.domain, a.signature().partition("(")[2].rstrip(")"), a.description,
             "; ".join(a.examples), "\n".join(a.signals)) for a in CATALOGUE.values()]
    if markdown:
        print(intents_markdown())
        return
    table = Table(title=f"{len(rows)} actions")
    for column in ("action", "domain", "arguments", "what it does", "said like", "VSS signals"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
