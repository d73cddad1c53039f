"""``carvoice hw``: probe this machine, list the hardware profiles."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from assistant.cli.common import JsonOption, console, reported_errors

hw_app = typer.Typer(help="Hardware: probe this machine, list the profiles.", no_args_is_help=True)


ProfileOption = Annotated[Optional[str], typer.Option("--profile", "-p", help="force a profile: a built-in "
                                                                              "name or a .toml file")]


@hw_app.command("probe")
def hw_probe(profile: ProfileOption = None, as_json: JsonOption = False) -> None:
    """Detect cores, CPU features, memory, accelerators, onnxruntime providers and llama.cpp's build; pick a
    profile and say why."""
    from hardware.probe import pick, probe
    from hardware.profile import ProfileError, load_profile
    from hardware.providers import usable_providers

    machine = probe()
    with reported_errors(ProfileError, LookupError):
        chosen, verdicts = pick(machine)
        if profile:
            chosen = load_profile(profile)
        chosen = chosen.for_memory(machine.memory_gb)
    providers = usable_providers(chosen.onnx.providers, machine.onnx_providers)
    if as_json:
        rows = [{"profile": v.profile.name, "matches": v.matches, "reasons": v.reasons} for v in verdicts]
        print(json.dumps({"machine": machine.as_dict(), "profile": chosen.model_dump(),
                          "onnx_providers": providers, "forced": bool(profile), "verdicts": rows}, indent=2))
        return
    table = Table(title="this machine", show_header=False)
    for key, value in machine.as_dict().items():
        table.add_row(key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
    verdict_table = Table(title="profiles")
    for column in ("profile", "fits", "why", "status"):
        verdict_table.add_column(column)
    for verdict in verdicts:
        verdict_table.add_row(verdict.profile.name, "yes" if verdict.matches else "no",
                              "; ".join(verdict.reasons), verdict.profile.status)
    console.print(verdict_table)
    how = "forced" if profile else "picked"
    console.print(f"[bold]{how}: {chosen.name}[/] - {chosen.description}\n  models: asr {chosen.models.asr}, "
                  f"llm {chosen.models.llm}, voice {chosen.models.voice}; "
                  f"llama.cpp threads {chosen.llm.n_threads}, batch {chosen.llm.n_batch}, "
                  f"context {chosen.llm.n_ctx}; onnxruntime: {', '.join(providers)}",
                  highlight=False)


@hw_app.command("profiles")
def hw_profiles() -> None:
    """The built-in hardware profiles."""
    from hardware.profile import all_profiles

    table = Table()
    for column in ("profile", "status", "asr", "llm", "onnxruntime providers", "for"):
        table.add_column(column)
    for profile in all_profiles():
        small = profile.models.small_llm
        llm = f"{profile.models.llm} ({small} below {profile.models.small_llm_below_gb:g} GB)" if small \
            else profile.models.llm
        table.add_row(profile.name, profile.status, profile.models.asr, llm,
                      ", ".join(profile.onnx.providers), profile.description)
    console.print(table)
