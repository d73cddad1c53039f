"""``carvoice models``: list, install, verify and locate the models of the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from assistant.cli.common import ConfigOption, command_config, console, err_console, fail, progress_bars
from models.registry import ModelError, ModelNotInstalledError, Registry

models_app = typer.Typer(help="The model registry: list, install, verify, locate models.",
                         no_args_is_help=True)


def open_registry(config_file: Path | None) -> Registry:
    return Registry(command_config(config_file).models.store_dir)


@models_app.command("list")
def models_list(config_file: ConfigOption = None) -> None:
    """Every known model, with its size, source and whether it is installed."""
    registry = open_registry(config_file)
    table = Table(title=f"models (store: {registry.store})")
    for column in ("id", "role", "format", "size", "source", "licence", "installed", "description"):
        table.add_column(column, no_wrap=column == "id")
    for spec in registry.specs.values():
        size = f"{spec.size / 1e6:,.0f} MB" if spec.size else "?"
        installed = "[green]yes[/]" if registry.is_installed(spec.id) else "no"
        table.add_row(spec.id, spec.role, spec.format, size, spec.source, spec.licence, installed,
                      spec.description)
    console.print(table)


@models_app.command("install")
def models_install(
    model_ids: Annotated[list[str], typer.Argument(help="model ids (see 'carvoice models list')")],
    source_file: Annotated[Optional[Path], typer.Option("--from",
                                                        help="a file you supply (user models)")] = None,
    config_file: ConfigOption = None,
) -> None:
    """Install models into the store: download and assemble their packs, or copy --from FILE; then verify."""
    registry = open_registry(config_file)
    for model_id in model_ids:
        try:
            if source_file is None and registry.is_installed(model_id):
                registry.verify(model_id)
                console.print(f"[green]ok[/] {model_id} is installed and verified")
                continue
            with progress_bars() as progress:
                path = registry.install(model_id, source_file, progress, log=err_console.print)
        except ModelError as exc:
            raise fail(str(exc)) from None
        console.print(f"[green]installed[/] {model_id} in {path}")


@models_app.command("verify")
def models_verify(
    model_ids: Annotated[Optional[list[str]], typer.Argument(help="model ids; default: every installed "
                                                                  "model")] = None,
    config_file: ConfigOption = None,
) -> None:
    """Re-check the sha256 of installed models."""
    registry = open_registry(config_file)
    ids = model_ids or [m for m in registry.specs if registry.is_installed(m)]
    failed = False
    for model_id in ids:
        try:
            with progress_bars() as progress:
                registry.verify(model_id, progress, force=True)
            console.print(f"[green]ok[/] {model_id}")
        except ModelError as exc:
            err_console.print(f"[red]failed[/] {model_id}: {exc}")
            failed = True
    if failed:
        raise typer.Exit(1)


@models_app.command("path")
def models_path(model_id: str, config_file: ConfigOption = None) -> None:
    """Print the folder of an installed model."""
    registry = open_registry(config_file)
    try:
        if not registry.is_installed(model_id):
            spec = registry.spec(model_id)
            raise ModelNotInstalledError(model_id, registry.path(model_id), spec.install_hint())
    except ModelError as exc:
        raise fail(str(exc)) from None
    print(registry.path(model_id))
