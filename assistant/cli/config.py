"""``carvoice config``: every setting, its value and the layer it comes from."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from assistant.cli.common import (BrokerOption, ConfigOption, JsonOption, VehicleOption, command_config,
                                  console, err_console, fail, reported_errors)
from vehicle_bus.client import BusClient

config_app = typer.Typer(help="The configuration: show it, with where each value comes from.",
                         no_args_is_help=True)


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

    config = command_config(config_file, broker, vehicle)
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
    title = f"configuration of {config.vehicle.id}" + (f" (versions {versions})" if versions else "")
    table = Table(title=title)
    for column in ("setting", "value", "from", "meaning"):
        table.add_column(column)
    for path, value in values.items():
        table.add_row(path, "***" if "password" in path and value else json.dumps(value, default=str),
                      sources.get(path, "default"), documented.get(path, ""))
    console.print(table)
