"""What every command shares: the consoles, the common options, loading the config, and turning the errors a
run can meet into one clear line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)
from rich.text import Text

from assistant.config import CarvoiceConfig, ConfigError, load_config
from assistant.runtime import connected_vehicle
from intents.vehicle import BusVehicle
from models.registry import ModelError, ProgressHook
from vehicle_bus.brokers import BrokerStartError
from vehicle_bus.errors import BusError

console = Console(width=None if sys.stdout.isatty() else 160)
STDERR_IS_TERMINAL = sys.stderr.isatty()
err_console = Console(stderr=True, soft_wrap=not STDERR_IS_TERMINAL)
"""Progress and notes for people; never wrapped when stderr is a file or a pipe."""

ConfigOption = Annotated[Optional[Path], typer.Option("--config", "-c",
                                                      help="YAML config file (or $CARVOICE_CONFIG)")]
BrokerOption = Annotated[Optional[str], typer.Option("--broker", "-b",
                                                     help="mqtt://host:port; default: embedded")]
VehicleOption = Annotated[Optional[str], typer.Option("--vehicle", "-v",
                                                      help="vehicle id (default from config)")]
SessionOption = Annotated[str, typer.Option(help="dialogue session id")]
JsonOption = Annotated[bool, typer.Option("--json", help="print each turn as JSON")]
RUN_ERRORS = (BusError, BrokerStartError, ModelError)
"""Errors of a run that reach the user as one clear line."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Report an error and return the exit to raise: styled on a terminal, else one plain line for logs."""
    if STDERR_IS_TERMINAL:
        err_console.print(Text.assemble(("error: ", "bold red"), message))
    else:
        print("error: " + "; ".join(line.strip() for line in message.splitlines() if line.strip()),
              file=sys.stderr)
    return typer.Exit(code)


@contextmanager
def reported_errors(*also: type[Exception]) -> Iterator[None]:
    """Turn the errors a run can meet into one clear line and exit code 2."""
    try:
        yield
    except (*also, *RUN_ERRORS) as exc:
        raise fail(str(exc)) from None


def command_config(config_file: Path | None, broker: str | None = None, vehicle_id: str | None = None,
                   overrides: dict[str, Any] | None = None) -> CarvoiceConfig:
    """The config a command runs with (``assistant.config.load_config``): its ``--broker``, ``--vehicle`` and
    other options (``overrides``, dotted settings; None: not given) over the file and the environment. A bad
    setting is one clear error line."""
    try:
        return load_config(config_file, {"bus.url": broker, "vehicle.id": vehicle_id} | (overrides or {}))
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def vehicle_session(config_file: Path | None, broker: str | None, vehicle_id: str | None,
                    overrides: dict[str, Any] | None = None) -> Iterator[tuple[CarvoiceConfig, BusVehicle]]:
    """The config and the vehicle it names (running, or embedded and simulated here), errors reported."""
    config = command_config(config_file, broker, vehicle_id, overrides)
    with reported_errors(), connected_vehicle(config) as car:
        yield config, car


def setup_logging(verbose: bool) -> None:
    handler = (RichHandler(console=err_console, show_path=False) if STDERR_IS_TERMINAL
               else logging.StreamHandler())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[handler])


@contextmanager
def progress_bars(counting_bytes: bool = True) -> Iterator[ProgressHook]:
    """A progress display as a hook ``(description, done, total)``: bytes (downloads, hashing) or items."""
    amount = ((DownloadColumn(), TransferSpeedColumn()) if counting_bytes
              else (TextColumn("{task.completed}/{task.total}"),))
    with Progress(TextColumn("{task.description}"), BarColumn(), *amount, TimeRemainingColumn(),
                  console=err_console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def update(description: str, done: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = progress.add_task(description, total=total)
            progress.update(tasks[description], completed=done, total=total)

        yield update
