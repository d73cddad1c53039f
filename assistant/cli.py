"""The ``carvoice`` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from assistant.audio import AudioError
from assistant.config import CarvoiceConfig, ConfigError, ListenMode
from assistant.live import watch_terminal_key
from assistant.runtime import build_dialogue, connected_vehicle
from intents.catalogue import CATALOGUE
from intents.dialogue import Turn
from intents.vehicle import BusVehicle
from models.registry import ModelError, ModelNotInstalledError, ProgressHook, Registry
from vehicle_bus.brokers import BrokerStartError, EmbeddedBroker
from vehicle_bus.client import BusClient, BusError, SetRejected
from vehicle_bus.signals import SIGNALS, markdown_table
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus

app = typer.Typer(help="carvoice: an offline in-car voice assistant.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
sim_app = typer.Typer(help="The simulated vehicle on the MQTT bus.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
intents_app = typer.Typer(help="The intent catalogue.", no_args_is_help=True)
app.add_typer(intents_app, name="intents")
bench_app = typer.Typer(help="Benchmarks: with no subcommand, every stage and the whole stack against a naive "
                             "baseline and the hardware's limit.", invoke_without_command=True)
app.add_typer(bench_app, name="bench")
hw_app = typer.Typer(help="Hardware: probe this machine, list the profiles.", no_args_is_help=True)
app.add_typer(hw_app, name="hw")
fleet_app = typer.Typer(help="Fleet configuration: keys, signed documents, rollouts, status.", no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")
config_app = typer.Typer(help="The configuration: show it, with where each value comes from.", no_args_is_help=True)
app.add_typer(config_app, name="config")
models_app = typer.Typer(help="The model registry: list, install, verify, locate models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console(width=None if sys.stdout.isatty() else 160)
STDERR_IS_TERMINAL = sys.stderr.isatty()
err_console = Console(stderr=True, soft_wrap=not STDERR_IS_TERMINAL)
"""Progress and notes for people; never wrapped when stderr is a file or a pipe."""

ConfigOption = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (or $CARVOICE_CONFIG)")]
BrokerOption = Annotated[Optional[str], typer.Option("--broker", "-b", help="mqtt://host:port; default: embedded")]
VehicleOption = Annotated[Optional[str], typer.Option("--vehicle", "-v", help="vehicle id (default from config)")]
SessionOption = Annotated[str, typer.Option(help="dialogue session id")]
JsonOption = Annotated[bool, typer.Option("--json", help="print each turn as JSON")]
RUN_ERRORS = (BusError, BrokerStartError, ModelError)
"""Errors of a run that reach the user as one clear line."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Report an error and return the exit to raise: styled on a terminal, else one plain line for logs."""
    if STDERR_IS_TERMINAL:
        err_console.print(Text.assemble(("error: ", "bold red"), message))
    else:
        print("error: " + "; ".join(line.strip() for line in message.splitlines() if line.strip()), file=sys.stderr)
    return typer.Exit(code)


def load_config(config_file: Path | None, broker: str | None = None) -> CarvoiceConfig:
    try:
        config = CarvoiceConfig.load(config_file)
        if broker:
            config = config.model_copy(update={"bus": config.bus.model_validate(config.bus.model_dump() | {"url": broker})})
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    return config


def setup_logging(verbose: bool) -> None:
    handler = RichHandler(console=err_console, show_path=False) if STDERR_IS_TERMINAL else logging.StreamHandler()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", handlers=[handler])


def parse_value(text: str) -> Any:
    """A command-line value as JSON (numbers, true/false, quoted strings), else as a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@sim_app.command("run")
def sim_run(
    vehicles: Annotated[Optional[list[str]], typer.Option("--vehicle", "-v", help="vehicle id; repeat for several")] = None,
    broker: BrokerOption = None,
    state_dir: Annotated[Optional[Path], typer.Option(help="where vehicle state persists")] = None,
    time_scale: Annotated[Optional[float], typer.Option(help="simulated seconds per second; 0 freezes time")] = None,
    config_file: ConfigOption = None,
    verbose: bool = False,
) -> None:
    """Run simulated vehicles until interrupted (starts the embedded broker when no broker URL is set)."""
    setup_logging(verbose)
    config = load_config(config_file, broker)
    sim = config.sim.model_copy(update={k: v for k, v in {"state_dir": state_dir, "time_scale": time_scale}.items()
                                        if v is not None})
    embedded = None
    with reported_errors():
        if config.bus.uses_embedded_broker:
            embedded = EmbeddedBroker(config.bus.embedded_host, config.bus.embedded_port).start()
        gazetteer, library = Gazetteer(), MediaLibrary.load()
        running = [SimulatedVehicle(vid, config.bus, default_ecus(gazetteer, library), sim.state_dir / f"{vid}.json",
                                    sim.time_scale, sim.tick_s).start() for vid in vehicles or [config.vehicle.id]]
    names = ", ".join(v.vehicle_id for v in running)
    console.print(f"[green]running[/] {names} on {config.bus.describe()}; state in {sim.state_dir}. Ctrl-C stops.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    for vehicle in running:
        vehicle.stop()
    if embedded:
        embedded.stop()


@sim_app.command("state")
def sim_state(
    vehicle: VehicleOption = None,
    broker: BrokerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Print the current state of a running vehicle."""
    config = load_config(config_file, broker)
    vehicle_id = vehicle or config.vehicle.id
    with reported_errors(), BusClient(config.bus) as client:
        values = client.snapshot(vehicle_id, expected=len(SIGNALS))
    if not values:
        raise fail(f"vehicle {vehicle_id!r} has published no state on {config.bus.describe()}; is it running?")
    ordered = {path: values[path] for path in SIGNALS if path in values}
    if as_json:
        print(json.dumps({"vehicle": vehicle_id, "signals": {p: v.model_dump() for p, v in ordered.items()}}, indent=2))
        return
    table = Table(title=f"vehicle {vehicle_id}")
    for column in ("signal", "value", "unit", "updated"):
        table.add_column(column)
    for path, value in ordered.items():
        table.add_row(path, repr(value.value), SIGNALS[path].unit or "", value.ts)
    console.print(table)


@sim_app.command("set")
def sim_set(
    path: Annotated[str, typer.Argument(help="VSS path of an actuator")],
    value: Annotated[str, typer.Argument(help="value as JSON (21.5, true, \"PLAY\") or a plain string")],
    vehicle: VehicleOption = None,
    broker: BrokerOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Send one set request and print the vehicle's answer."""
    config = load_config(config_file, broker)
    try:
        with BusClient(config.bus) as client:
            ack = client.set(vehicle or config.vehicle.id, path, parse_value(value))
    except SetRejected as exc:
        raise fail(f"rejected: {exc.reason}", code=1) from None
    except BusError as exc:
        raise fail(str(exc)) from None
    console.print(f"[green]applied[/] {path} = {ack.value!r}")


@sim_app.command("test")
def sim_test(
    paths: Annotated[list[Path], typer.Argument(help="scenario files or folders of them")],
    junit: Annotated[Optional[Path], typer.Option(help="write JUnit XML here")] = None,
    report: Annotated[Optional[Path], typer.Option(help="write the HTML report here")] = None,
    parallel: Annotated[int, typer.Option(min=1, max=32, help="scenarios at a time")] = 1,
    broker: Annotated[Optional[str], typer.Option("--broker", "-b", help="use this broker (mqtt://host:port) "
                                                                          "instead of starting one")] = None,
    config_file: ConfigOption = None,
) -> None:
    """Run scenario files against fresh simulated cars; exit 1 when any fails."""
    from assistant.scenario import ScenarioError, load_scenarios, scenario_files
    from assistant.scenario_report import write_html, write_junit
    from assistant.scenario_runner import ScenarioResult, ScenarioRunner

    config = load_config(config_file)
    with reported_errors(ScenarioError):
        scenarios = [s for path in scenario_files(paths) for s in load_scenarios(path)]
    err_console.print(f"{len(scenarios)} scenarios from {len(paths)} path(s)")

    def show(result: ScenarioResult) -> None:
        mark = "[green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
        err_console.print(f"{mark} {result.scenario.name} [dim]({result.duration_s:.1f} s)[/]", highlight=False)
        if not result.passed:
            err_console.print(result.failure_message(), highlight=False, markup=False, soft_wrap=True)

    with reported_errors(), ScenarioRunner(config, broker) as runner:
        results = runner.run_all(scenarios, parallel, on_result=show)
    if junit:
        write_junit(results, junit)
    if report:
        write_html(results, report)
    failed = [r for r in results if not r.passed]
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed"
                  + (f"; report: {report}" if report else ""))
    if failed:
        raise typer.Exit(1)


@sim_app.command("signals")
def sim_signals(markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False) -> None:
    """List every vehicle signal with its type, unit and range."""
    if markdown:
        print(markdown_table())
        return
    table = Table(title=f"{len(SIGNALS)} vehicle signals (COVESA VSS 5; 'ext' = project extension)")
    for column in ("VSS path", "kind", "type", "unit", "range / values"):
        table.add_column(column)
    for s in SIGNALS.values():
        table.add_row(s.path + (" (ext)" if s.is_extension else ""), str(s.kind), s.datatype, s.unit or "",
                      s.range_text())
    console.print(table)


def open_registry(config_file: Path | None) -> Registry:
    return Registry(load_config(config_file).models.store_dir)


@contextmanager
def progress_bars(counting_bytes: bool = True) -> Iterator[ProgressHook]:
    """A rich progress display as a hook ``(description, done, total)``: bytes (downloads, hashing) or items."""
    amount = (DownloadColumn(), TransferSpeedColumn()) if counting_bytes else (TextColumn("{task.completed}/{task.total}"),)
    with Progress(TextColumn("{task.description}"), BarColumn(), *amount, TimeRemainingColumn(),
                  console=err_console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def update(description: str, done: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = progress.add_task(description, total=total)
            progress.update(tasks[description], completed=done, total=total)

        yield update


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
        table.add_row(spec.id, spec.role, spec.format, size, spec.source, spec.licence, installed, spec.description)
    console.print(table)


@models_app.command("install")
def models_install(
    model_ids: Annotated[list[str], typer.Argument(help="model ids (see 'carvoice models list')")],
    source_file: Annotated[Optional[Path], typer.Option("--from", help="a file you supply (user models)")] = None,
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
    model_ids: Annotated[Optional[list[str]], typer.Argument(help="model ids; default: every installed model")] = None,
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


def intents_markdown() -> str:
    """The catalogue as a Markdown table (the README's copy is checked against it)."""
    lines = ["| action | domain | arguments | what it does | said like |", "| --- | --- | --- | --- | --- |"]
    for a in CATALOGUE.values():
        cells = [f"`{a.name}`", a.domain, a.signature().partition("(")[2].rstrip(")"), a.description, "; ".join(a.examples)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


@intents_app.command("list")
def intents_list(markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False) -> None:
    """Every action the assistant can take, with its arguments and the signals it uses."""
    rows = [(a.name, a.domain, a.signature().partition("(")[2].rstrip(")"), a.description, "; ".join(a.examples),
             "\n".join(a.signals)) for a in CATALOGUE.values()]
    if markdown:
        print(intents_markdown())
        return
    table = Table(title=f"{len(rows)} actions")
    for column in ("action", "domain", "arguments", "what it does", "said like", "VSS signals"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_turn(turn: Turn, as_json: bool) -> None:
    if as_json:
        print(json.dumps(turn.as_dict()))
        return
    for action in turn.actions:
        args = ", ".join(f"{k}={v!r}" for k, v in action.args.items())
        err_console.print(f"[dim]{turn.path}: {action.name}({args}) -> {action.status}[/]", highlight=False)
    console.print(turn.reply, highlight=False)


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
        print(json.dumps({"machine": machine.as_dict(), "profile": chosen.model_dump(), "onnx_providers": providers,
                          "forced": bool(profile), "verdicts": [{"profile": v.profile.name, "matches": v.matches,
                                                                 "reasons": v.reasons} for v in verdicts]}, indent=2))
        return
    table = Table(title="this machine", show_header=False)
    for key, value in machine.as_dict().items():
        table.add_row(key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
    verdict_table = Table(title="profiles")
    for column in ("profile", "fits", "why", "status"):
        verdict_table.add_column(column)
    for verdict in verdicts:
        verdict_table.add_row(verdict.profile.name, "yes" if verdict.matches else "no", "; ".join(verdict.reasons),
                              verdict.profile.status)
    console.print(verdict_table)
    how = "forced" if profile else "picked"
    console.print(f"[bold]{how}: {chosen.name}[/] - {chosen.description}\n  models: asr {chosen.models.asr}, "
                  f"llm {chosen.models.llm}, voice {chosen.models.voice}; llama.cpp threads {chosen.llm.n_threads}, "
                  f"batch {chosen.llm.n_batch}, context {chosen.llm.n_ctx}; onnxruntime: {', '.join(providers)}",
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


@app.command()
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
        print_turn(build_dialogue(config, car).handle(text, session), as_json)


@app.command()
def chat(
    session: SessionOption = "chat",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """A multi-turn text conversation with the car; an empty line or Ctrl-D ends it."""
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        dialogue = build_dialogue(config, car)
        err_console.print(f"talking to {config.vehicle.id} on {config.bus.describe()}; empty line ends")
        while True:
            try:
                text = input("you> " if sys.stdin.isatty() else "")
            except EOFError:
                break
            if not text.strip() or text.strip().lower() in ("quit", "exit", "bye"):
                break
            print_turn(dialogue.handle(text, session), as_json)


@bench_app.callback()
def bench(
    ctx: typer.Context,
    llm: Annotated[Optional[str], typer.Option(help="LLM id; default: the 1.5B model where installed, else the "
                                                    "profile's")] = None,
    runs: Annotated[int, typer.Option(min=1, max=20, help="runs per stage measurement")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Per stage and end to end (medians and p95), tuned against naive, LLM decode against memory bandwidth,
    peak memory."""
    if ctx.invoked_subcommand:
        return
    from assistant.perf import run_perf_bench

    config = load_config(config_file)
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_perf_bench(config, llm, runs, progress)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    console.print(perf_table(report))


def perf_table(report: dict[str, Any]) -> Table:
    asr, llm, tts, e2e, limit = (report[k] for k in ("asr", "llm_engine", "tts", "end_to_end", "hardware_limit"))
    table = Table(title=f"carvoice bench: profile {report['profile']}, LLM {report['llm']}, {report['runs']} runs")
    for column in ("measure", "p50", "p95", "naive p50", "tuned vs naive"):
        table.add_column(column)

    def row(name: str, stats: dict, naive: dict | None = None, unit: str = "", digits: int = 0) -> None:
        cells = [f"{stats['p50']:.{digits}f}{unit}", f"{stats['p95']:.{digits}f}{unit}"]
        if naive:
            cells += [f"{naive['p50']:.{digits}f}{unit}", f"{naive['p50'] / stats['p50']:.1f}x"]
        table.add_row(name, *cells)

    row("ASR real-time factor", asr["tuned_rtf"], asr["naive_rtf"], digits=3)
    row(f"LLM prompt tokens/s ({llm['prompt_tokens']}-token prefix)", llm["prompt_tokens_per_s"], digits=1)
    row("LLM decode tokens/s", llm["decode_tokens_per_s"], digits=1)
    row(f"LLM first token, cached prefix ({llm['turn_tokens']} new tokens)", llm["ttft_cached_ms"],
        llm["ttft_cold_ms"], " ms")
    row("TTS real-time factor", tts["rtf"], digits=3)
    row("TTS first audio (first sentence)", tts["first_audio_ms"], tts["whole_reply_ms"], " ms")
    row(f"end of speech -> first audio ({e2e['commands']} commands)", e2e["tuned"], e2e["naive"], " ms")
    for path, stats in e2e["tuned_by_path"].items():
        row(f"  {path} path", stats, unit=" ms")
    table.caption = (f"memory bandwidth {limit['memory_bandwidth_gb_s']} GB/s -> decode bound "
                     f"{limit['decode_bound_tokens_per_s']} tokens/s; measured decode is "
                     f"{limit['decode_fraction_of_bound']:.0%} of it. Peak RSS {report['peak_rss_mb']:.0f} MB.")
    return table


@bench_app.command("intents")
def bench_intents(
    models: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="LLM id; default: every installed LLM")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated: fast, llm, combined")] = "fast,llm,combined",
    sets: Annotated[str, typer.Option(help="comma-separated: rules, heldout, adversarial, dev")] = "rules,heldout,adversarial",
    limit: Annotated[Optional[int], typer.Option(help="only the first N cases")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Accuracy, wrong actions applied and latency of the fast path, the LLM path and both, on the labelled sets."""
    from assistant.bench import MODES, installed_llms, run_intent_bench
    from intents.bench import SETS

    config = load_config(config_file)
    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    if unknown := set(chosen) - set(MODES):
        raise fail(f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")
    chosen_sets = tuple(s.strip() for s in sets.split(",") if s.strip())
    if unknown := set(chosen_sets) - set(SETS):
        raise fail(f"unknown set(s) {', '.join(sorted(unknown))}; choose from {', '.join(SETS)}")
    model_ids = models or installed_llms(Registry(config.models.store_dir))
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_intent_bench(config, model_ids, chosen, limit, progress, chosen_sets)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"intent benchmark: {report['cases']} cases, {report['turns']} turns")
    for column in ("mode", "model", "set", "turns", "accuracy", "wrong actions applied"):
        table.add_column(column)
    for run in report["runs"]:
        for number, (name, stats) in enumerate(run["by_set"].items()):
            head = [run["mode"], run["model"] or "-"] if number == 0 else ["", ""]
            table.add_row(*head, name, str(stats["turns"]), f"{stats['accuracy']:.1%}",
                          str(stats["wrong_actions_applied"]))
    console.print(table)
    paths = Table(title="understanding latency by path")
    for column in ("mode", "model", "path", "turns", "accuracy", "p50 ms", "p95 ms"):
        paths.add_column(column)
    for run in report["runs"]:
        for path, stats in run["by_path"].items():
            paths.add_row(run["mode"], run["model"] or "-", path, str(stats["turns"]), f"{stats['accuracy']:.1%}",
                          f"{stats['p50_ms']:.1f}", f"{stats['p95_ms']:.1f}")
    console.print(paths)


@bench_app.command("voice")
def bench_voice(
    runs: Annotated[int, typer.Option(min=1, max=20, help="rounds over the command set")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """End of speech to first reply audio through the live loop, fast path and LLM path (p50, p95)."""
    from assistant.bench import run_voice_latency

    config = load_config(config_file)
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_voice_latency(config, runs, progress)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"end of speech -> first reply audio ({report['commands']} spoken commands, "
                        f"endpoint silence {report['endpoint_ms']} ms)")
    for column in ("path", "turns", "p50 ms", "p95 ms", "target"):
        table.add_column(column)
    for path, stats in report["by_path"].items():
        table.add_row(path, str(stats["n"]), f"{stats['p50']:.0f}", f"{stats['p95']:.0f}",
                      {"fast": "< 700", "llm": "< 2000"}.get(path, "-"))
    console.print(table)


@bench_app.command("soak")
def bench_soak(
    minutes: Annotated[float, typer.Option(min=0.1, help="how long the streams run")] = 10,
    vehicles: Annotated[int, typer.Option(min=1, max=100, help="simulated vehicles")] = 10,
    restart_every: Annotated[float, typer.Option(min=1, help="seconds between broker restarts")] = 60,
    downtime: Annotated[float, typer.Option(min=0, help="seconds the broker stays down at each restart")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON, no progress on stderr")] = False,
) -> None:
    """Vehicles on a Mosquitto of its own, set requests and spoken-text turns for N minutes, the broker restarted
    every --restart-every seconds; exits 1 if a request was lost, applied twice or late, or a turn got no reply."""
    from assistant.soak import run_soak

    bus_log = logging.getLogger("vehicle_bus")
    level = bus_log.level
    bus_log.setLevel(logging.ERROR)  # every client warns at each broker restart: expected here, and counted
    try:
        with reported_errors():
            if as_json:
                report = run_soak(minutes, vehicles, restart_every, downtime)
            else:
                with progress_bars(counting_bytes=False) as progress:
                    report = run_soak(minutes, vehicles, restart_every, downtime, progress=progress)
    finally:
        bus_log.setLevel(level)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        console.print(soak_table(report))
    if not report["passed"]:
        raise typer.Exit(1)


def soak_table(report: dict[str, Any]) -> Table:
    requests, latency, turns, rss = (report[k] for k in ("requests", "ack_latency_ms", "turns", "rss_mb"))
    table = Table(title=f"soak: {report['vehicles']} vehicles, {report['seconds']:g} s, "
                        f"{report['broker_restarts']} broker restarts ({report['downtime_s']:g} s down each)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [("set requests sent", requests["sent"]),
            ("acks received (applied / rejected)",
             f"{requests['acks']} ({requests['applied']} / {requests['rejected']})"),
            ("failed, reported to the caller", requests["failed_reported"]),
            ("  of which applied in time (ack lost)", requests["failed_reported_applied_in_time"]),
            ("lost", requests["lost"]), ("applied twice", requests["duplicated"]),
            ("applied late", requests["applied_late"]),
            ("ack latency p50 / p99 / max", f"{latency['p50']:g} / {latency['p99']:g} / {latency['max']:g} ms"),
            ("re-sent requests answered from memory", report["vehicle_side"]["answered_again_from_memory"]),
            ("turns spoken / replied", f"{turns['spoken']} / {turns['replied']}"),
            (f"RSS at {rss['start_at_s']:g} s -> end (growth)",
             f"{rss['start']:g} -> {rss['end']:g} MB ({rss['growth']:+g} MB)"),
            ("  the soak's own request ledger, part of it", f"{rss['ledger_mb']:g} MB")]
    for name, value in rows:
        table.add_row(name, str(value))
    table.caption = "most common replies: " + "; ".join(f"{count}x {reply!r}" for reply, count in
                                                        list(turns["replies"].items())[:5])
    return table


@app.command()
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
    from assistant.audio import read_audio, write_wav
    from assistant.runtime import build_voice

    with reported_errors(AudioError):
        audio = read_audio(wav)
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        voice_turn = build_voice(config, build_dialogue(config, car), car).handle(audio, session)
    if out:
        write_wav(out, voice_turn.audio, voice_turn.sample_rate)
    if as_json:
        print(json.dumps(voice_turn.as_dict()))
        return
    err_console.print(f"[dim]heard: {voice_turn.transcript.text!r}[/]", highlight=False)
    console.print(voice_turn.reply, highlight=False)


@app.command()
def talk(
    input_spec: Annotated[str, typer.Option("--input", "-i", help="mic, mic:N (device N), - (raw s16le PCM on "
                                                                  "stdin) or an audio file")] = "mic",
    output_spec: Annotated[str, typer.Option("--output", "-o", help="speaker, speaker:N, - (raw s16le PCM on "
                                                                    "stdout), a .wav file, or none")] = "speaker",
    input_rate: Annotated[int, typer.Option(help="sample rate of raw PCM input", min=8000, max=192000)] = 16000,
    input_channels: Annotated[int, typer.Option(help="channels of raw PCM input", min=1, max=2)] = 1,
    output_rate: Annotated[int, typer.Option(help="sample rate of raw PCM output", min=8000, max=192000)] = 22050,
    mode: Annotated[Optional[ListenMode], typer.Option(help="when to listen (default: config live.mode)")] = None,
    session: SessionOption = "voice",
    as_json: JsonOption = False,
    broker: BrokerOption = None,
    vehicle: VehicleOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The live voice loop: listen, answer aloud, repeat (Ctrl-C stops). Push-to-talk: the car's steering-wheel
    button, or Enter in the terminal."""
    from assistant.devices import open_input, open_output
    from assistant.fleet.reload import fleet_agent
    from assistant.runtime import build_live, build_voice

    shown = err_console if output_spec == "-" else console

    def show(voice_turn) -> None:
        if as_json:
            print(json.dumps(voice_turn.as_dict()), file=sys.stderr if output_spec == "-" else sys.stdout, flush=True)
            return
        timings = "  ".join(f"{k.removesuffix('_ms')} {v:.0f} ms" for k, v in voice_turn.timings_ms.items())
        shown.print(f"[dim]heard:[/] {voice_turn.transcript.text}\n[bold]{voice_turn.reply}[/]\n[dim]{timings}[/]",
                    highlight=False)

    with reported_errors(AudioError):
        audio_in = open_input(input_spec, input_rate, input_channels)
        audio_out = open_output(output_spec, output_rate)
    with vehicle_session(config_file, broker, vehicle) as (config, car):
        if mode:
            config = config.model_copy(update={"live": config.live.model_copy(update={"mode": mode})})
        voice = build_voice(config, build_dialogue(config, car), car)
        live = build_live(config, voice, car, audio_in, audio_out, session, on_turn=show)
        fleet_agent(config, car, voice, live)
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


FleetOption = Annotated[Optional[str], typer.Option("--fleet", "-f", help="fleet id (default: config fleet.id)")]
KeyOption = Annotated[Optional[Path], typer.Option("--key", "-k", help="the fleet's ed25519 signing key (PEM)")]


def read_document_config(path: Path) -> dict[str, Any]:
    """A partial config (YAML or JSON) to distribute."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"{path} must hold a mapping of settings")
    return data


@contextmanager
def fleet_operator(config_file: Path | None, broker: str | None, fleet: str | None,
                   key: Path | None) -> Iterator[Any]:
    from assistant.fleet.documents import DocumentError, SigningKey
    from assistant.fleet.operator import FleetOperator, RolloutError

    config = load_config(config_file, broker)
    fleet_id = fleet or config.fleet.id
    if not fleet_id:
        raise fail("no fleet: give --fleet or set fleet.id in the config")
    with reported_errors(DocumentError, RolloutError):
        signing_key = SigningKey.load(key) if key else None
        with BusClient(config.bus) as client:
            operator = FleetOperator(client, fleet_id, signing_key, config.fleet.trusted_keys)
            try:
                yield operator
            finally:
                operator.close()


@fleet_app.command("keygen")
def fleet_keygen(out: Annotated[Path, typer.Option(help="where to write the private key (PEM, mode 600)")]
                 = Path("fleet.key")) -> None:
    """Make a fleet signing key; prints the public key for the vehicles' fleet.trusted_keys."""
    from assistant.fleet.documents import SigningKey, public_key_text

    if out.exists():
        raise fail(f"{out} exists; not overwriting a signing key")
    key = SigningKey.generate()
    key.save(out)
    console.print(f"private key: {out}\nadd to each vehicle's config:\n\nfleet:\n  trusted_keys:\n"
                  f"    {key.key_id}: {public_key_text(key.public_key)}", highlight=False)


@fleet_app.command("push")
def fleet_push(
    file: Annotated[Path, typer.Argument(help="partial config (YAML or JSON) for that layer")],
    target: Annotated[str, typer.Option(help="fleet, group:NAME or vehicle:ID")] = "fleet",
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None, config_file: ConfigOption = None,
) -> None:
    """Sign and publish a new version of one layer (retained: offline vehicles get it when they connect)."""
    import re

    if not re.fullmatch(r"fleet|group:[A-Za-z0-9_-]{1,64}|vehicle:[A-Za-z0-9_-]{1,64}", target):
        raise fail(f"--target {target!r}: use fleet, group:NAME or vehicle:ID")
    settings = read_document_config(file)
    with fleet_operator(config_file, broker, fleet, key) as operator:
        document = operator.push(settings, target)
    console.print(f"pushed {document.target} version {document.version} (key {document.key_id})")


@fleet_app.command("status")
def fleet_status(fleet: FleetOption = None, as_json: JsonOption = False, broker: BrokerOption = None,
                 config_file: ConfigOption = None) -> None:
    """Every vehicle's last report: versions applied per layer, state, errors, last seen."""
    with fleet_operator(config_file, broker, fleet, None) as operator:
        vehicles = operator.vehicles()
    if as_json:
        print(json.dumps(vehicles, indent=2))
        return
    table = Table(title=f"fleet {operator.fleet_id}: {len(vehicles)} vehicles")
    for column in ("vehicle", "group", "fleet v.", "group v.", "vehicle v.", "last report", "errors", "last seen"):
        table.add_column(column)
    for vehicle_id, status in sorted(vehicles.items()):
        applied = status.get("applied") or {}
        about = f"{status['state']} {status.get('target') or ''} {status.get('version') or ''}".strip()
        table.add_row(vehicle_id, status.get("group") or "-", *(str(applied.get(k) or "-")
                                                                for k in ("fleet", "group", "vehicle")),
                      about, "; ".join(status.get("errors") or []), status.get("ts", ""))
    console.print(table)


@fleet_app.command("rollout")
def fleet_rollout(
    file: Annotated[Optional[Path], typer.Argument(help="fleet-layer config to roll out")] = None,
    canary: Annotated[float, typer.Option(min=0.01, max=100, help="percent of vehicles in the first stage")] = 10,
    stage: Annotated[Optional[list[float]], typer.Option(help="further stages in percent (repeatable)")] = None,
    halt_on_reject: Annotated[float, typer.Option(min=0, max=100, help="halt and roll back when more than this "
                                                                       "percent of a stage rejects")] = 5,
    wait: Annotated[float, typer.Option(min=1, help="seconds to wait for a stage's reports")] = 60,
    resume: Annotated[bool, typer.Option(help="continue the rollout left on the broker")] = False,
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None, config_file: ConfigOption = None,
) -> None:
    """Roll a fleet document out in stages (canary first), halting and rolling back on rejections."""
    if file is None and not resume:
        raise fail("give the config FILE to roll out, or --resume")
    settings = read_document_config(file) if file else None

    def show(report) -> None:
        console.print(f"stage {report.percent:g}%: {report.vehicles} vehicles, {report.applied} applied, "
                      f"{report.rejected} rejected, {report.missing} silent ({report.seconds:.1f} s)")

    with fleet_operator(config_file, broker, fleet, key) as operator:
        report = operator.rollout(settings, canary, halt_on_reject / 100, tuple(stage or ()), wait, resume, show)
    console.print(f"version {report.version}: {report.outcome} in {report.seconds:.1f} s")
    if report.outcome != "completed":
        raise typer.Exit(1)


@fleet_app.command("bench")
def fleet_bench(
    vehicles: Annotated[int, typer.Option(min=1, max=20000, help="simulated vehicles")] = 1000,
    canary: Annotated[float, typer.Option(min=0.01, max=100)] = 10,
    stage: Annotated[Optional[list[float]], typer.Option(help="further stages in percent")] = None,
    as_json: JsonOption = False,
) -> None:
    """Time a staged rollout to N simulated vehicles (config agents only) on a Mosquitto of its own."""
    from assistant.fleet.simulator import run_rollout_bench

    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_rollout_bench(vehicles, canary, tuple(stage or (50,)), progress)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    rollout, broker = report["rollout"], report["broker"]
    stages = ", ".join(f"{s['percent']:g}% at {s['at_s']} s" for s in rollout["stages"])
    console.print(f"{vehicles} vehicles connected in {report['connect_s']} s; first config to all in "
                  f"{report['push_all_s']} s; staged rollout {rollout['outcome']} in {rollout['seconds']} s "
                  f"({stages}); broker CPU {broker['cpu_s_during_rollout']} s during the rollout, "
                  f"peak RSS {broker['peak_rss_mb']} MB")


@fleet_app.command("trust")
def fleet_trust(
    add: Annotated[Optional[list[str]], typer.Option(help="public key to trust, as keygen prints it (repeatable)")]
    = None,
    revoke: Annotated[Optional[list[str]], typer.Option(help="key id to stop trusting (repeatable)")] = None,
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None, config_file: ConfigOption = None,
) -> None:
    """Change the keys the fleet trusts: a new fleet version, settings unchanged, signed by a trusted key."""
    if not add and not revoke:
        raise fail("give --add PUBLIC_KEY and/or --revoke KEY_ID")
    with fleet_operator(config_file, broker, fleet, key) as operator:
        document = operator.trust(add or [], revoke or [])
        trusted = operator.trusted_keys(document)
    console.print(f"fleet version {document.version} (key change {len(document.keys)}): trusted keys "
                  f"{', '.join(trusted)}", highlight=False)


@fleet_app.command("rollback")
def fleet_rollback(key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None,
                   config_file: ConfigOption = None) -> None:
    """Withdraw the rollout in progress, or else re-issue the previous fleet version."""
    with fleet_operator(config_file, broker, fleet, key) as operator:
        console.print(operator.rollback())


@config_app.command("show")
def config_show(
    effective: Annotated[bool, typer.Option(help="with the fleet, group and vehicle documents on the broker")]
    = False,
    vehicle: VehicleOption = None, as_json: JsonOption = False, broker: BrokerOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Every setting, its value, and the layer it comes from (default, local, fleet, group, vehicle)."""
    from assistant.fleet.agent import ConfigAgent
    from assistant.fleet.layers import effective as merge_layers
    from assistant.fleet.layers import descriptions, flat

    config = with_vehicle(load_config(config_file, broker), vehicle)
    if effective:
        if not config.fleet.id:
            raise fail("fleet.id is not set in the config: there are no fleet layers to show")
        with reported_errors(), BusClient(config.bus) as client:
            agent = ConfigAgent(client, config.vehicle.id, config, report=False).start()
            time.sleep(1.0)  # retained documents arrive
            agent.stop()
        for rejection in agent.rejections:
            err_console.print(f"[yellow]ignored[/] {rejection}", highlight=False)
        config, sources, versions = agent.config, agent.sources, agent.versions()
    else:
        config, sources = merge_layers({"local": config.model_dump(exclude_defaults=True)})
        versions = {}
    values = flat(config.model_dump(mode="json"))
    if as_json:
        print(json.dumps({"versions": versions, "settings": {p: {"value": values[p], "source": sources.get(p)}
                                                             for p in values}}, indent=2, default=str))
        return
    documented = descriptions()
    table = Table(title=f"configuration of {config.vehicle.id}" + (f" (versions {versions})" if versions else ""))
    for column in ("setting", "value", "from", "meaning"):
        table.add_column(column)
    for path, value in values.items():
        table.add_row(path, "***" if "password" in path and value else json.dumps(value, default=str),
                      sources.get(path, "default"), documented.get(path, ""))
    console.print(table)


@contextmanager
def reported_errors(*also: type[Exception]) -> Iterator[None]:
    """Turn the errors a run can meet into one clear line and exit code 2."""
    try:
        yield
    except (*also, *RUN_ERRORS) as exc:
        raise fail(str(exc)) from None


@contextmanager
def vehicle_session(config_file: Path | None, broker: str | None,
                    vehicle_id: str | None) -> Iterator[tuple[CarvoiceConfig, BusVehicle]]:
    """The config and the vehicle it names (running, or embedded and simulated here), errors reported."""
    config = with_vehicle(load_config(config_file, broker), vehicle_id)
    with reported_errors(), connected_vehicle(config) as car:
        yield config, car


def with_vehicle(config: CarvoiceConfig, vehicle_id: str | None) -> CarvoiceConfig:
    if not vehicle_id:
        return config
    return config.model_copy(update={"vehicle": config.vehicle.model_validate({"id": vehicle_id})})


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the spoken replies")] = Path("demo-out"),
    config_file: ConfigOption = None,
) -> None:
    """A scripted drive spoken to the full voice pipeline (embedded broker and simulated car)."""
    from assistant.demo import run_demo

    with reported_errors():
        run_demo(load_config(config_file), console, out)


from assistant.dash.command import dash  # noqa: E402  (the dashboard: assistant/dash/)
app.command()(dash)


def main() -> None:
    app()
