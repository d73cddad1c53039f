"""``carvoice fleet``: signing keys, signed config documents, staged rollouts, the fleet's status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from assistant.cli.common import (BrokerOption, ConfigOption, JsonOption, command_config, console, fail,
                                  progress_bars, reported_errors)
from vehicle_bus.client import BusClient

fleet_app = typer.Typer(help="Fleet configuration: keys, signed documents, rollouts, status.",
                        no_args_is_help=True)


FleetOption = Annotated[Optional[str], typer.Option("--fleet", "-f",
                                                    help="fleet id (default: config fleet.id)")]
KeyOption = Annotated[Optional[Path], typer.Option("--key", "-k",
                                                   help="the fleet's ed25519 signing key (PEM)")]


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

    config = command_config(config_file, broker)
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
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None,
    config_file: ConfigOption = None,
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
    for column in ("vehicle", "group", "fleet v.", "group v.", "vehicle v.", "last report", "errors",
                   "last seen"):
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
    canary: Annotated[float, typer.Option(min=0.01, max=100,
                                          help="percent of vehicles in the first stage")] = 10,
    stage: Annotated[Optional[list[float]], typer.Option(help="further stages in percent "
                                                              "(repeatable)")] = None,
    halt_on_reject: Annotated[float,
                              typer.Option(min=0, max=100, help="halt and roll back when more than this "
                                                                "percent of a stage rejects")] = 5,
    wait: Annotated[float, typer.Option(min=1, help="seconds to wait for a stage's reports")] = 60,
    resume: Annotated[bool, typer.Option(help="continue the rollout left on the broker")] = False,
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Roll a fleet document out in stages (canary first), halting and rolling back on rejections."""
    if file is None and not resume:
        raise fail("give the config FILE to roll out, or --resume")
    settings = read_document_config(file) if file else None

    def show(report) -> None:
        console.print(f"stage {report.percent:g}%: {report.vehicles} vehicles, {report.applied} applied, "
                      f"{report.rejected} rejected, {report.missing} silent ({report.seconds:.1f} s)")

    with fleet_operator(config_file, broker, fleet, key) as operator:
        report = operator.rollout(settings, canary, halt_on_reject / 100, tuple(stage or ()), wait, resume,
                                  show)
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
    add: Annotated[Optional[list[str]], typer.Option(help="public key to trust, as "
                                                          "keygen prints it (repeatable)")]
    = None,
    revoke: Annotated[Optional[list[str]], typer.Option(help="key id to stop trusting (repeatable)")] = None,
    key: KeyOption = None, fleet: FleetOption = None, broker: BrokerOption = None,
    config_file: ConfigOption = None,
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
