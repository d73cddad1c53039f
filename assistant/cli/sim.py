"""``carvoice sim``: run simulated vehicles, read and set their signals, run scenario files."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from assistant.cli.common import (BrokerOption, ConfigOption, VehicleOption, command_config, console,
                                  err_console, fail, reported_errors, setup_logging)
from vehicle_bus.brokers import EmbeddedBroker
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusError, SetRejected
from vehicle_bus.signals import SIGNALS, markdown_table
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus

sim_app = typer.Typer(help="The simulated vehicle on the MQTT bus.", no_args_is_help=True)


def parse_value(text: str) -> Any:
    """A command-line value as JSON (numbers, true/false, quoted strings), else as a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@sim_app.command("run")
def sim_run(
    vehicles: Annotated[Optional[list[str]], typer.Option("--vehicle", "-v",
                                                          help="vehicle id; repeat for several")] = None,
    broker: BrokerOption = None,
    state_dir: Annotated[Optional[Path], typer.Option(help="where vehicle state persists")] = None,
    time_scale: Annotated[Optional[float], typer.Option(help="simulated seconds "
                                                             "per second; 0 freezes time")] = None,
    config_file: ConfigOption = None,
    verbose: bool = False,
) -> None:
    """Run simulated vehicles until interrupted (starts the embedded broker when no broker URL is set)."""
    setup_logging(verbose)
    config = command_config(config_file, broker,
                            overrides={"sim.state_dir": state_dir, "sim.time_scale": time_scale})
    sim = config.sim
    embedded = None
    with reported_errors():
        if config.bus.uses_embedded_broker:
            embedded = EmbeddedBroker(config.bus.embedded_host, config.bus.embedded_port).start()
        gazetteer, library = Gazetteer(), MediaLibrary.load()
        running = [SimulatedVehicle(vid, config.bus, default_ecus(gazetteer, library),
                                    sim.state_dir / f"{vid}.json", sim.time_scale, sim.tick_s).start()
                   for vid in vehicles or [config.vehicle.id]]
    names = ", ".join(v.vehicle_id for v in running)
    console.print(f"[green]running[/] {names} on {config.bus.describe()}; state in "
                  f"{sim.state_dir}. Ctrl-C stops.")
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
    config = command_config(config_file, broker, vehicle)
    vehicle_id = config.vehicle.id
    with reported_errors(), BusClient(config.bus) as client:
        values = client.snapshot(vehicle_id, expected=len(SIGNALS))
    if not values:
        raise fail(f"vehicle {vehicle_id!r} has published no state on "
                   f"{config.bus.describe()}; is it running?")
    ordered = {path: values[path] for path in SIGNALS if path in values}
    if as_json:
        print(json.dumps({"vehicle": vehicle_id, "signals": {p: v.model_dump() for p, v in ordered.items()}},
                         indent=2))
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
    config = command_config(config_file, broker, vehicle)
    try:
        with BusClient(config.bus) as client:
            ack = client.set(config.vehicle.id, path, parse_value(value))
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
    from assistant.scenarios.schema import ScenarioError, load_scenarios, scenario_files
    from assistant.scenarios.report import write_html, write_junit
    from assistant.scenarios.runner import ScenarioResult, ScenarioRunner

    config = command_config(config_file)
    with reported_errors(ScenarioError):
        scenarios = [s for path in scenario_files(paths) for s in load_scenarios(path)]
    err_console.print(f"{len(scenarios)} scenarios from {len(paths)} path(s)")

    def show(result: ScenarioResult) -> None:
        mark = "[green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
        err_console.print(f"{mark} {result.scenario.name} [dim]({result.duration_s:.1f} s)[/]",
                          highlight=False)
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
