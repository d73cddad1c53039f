"""``carvoice dash``: the live cabin and fleet dashboard in the browser.

Self-contained (its own options and error lines), so the CLI registers it with one line; the server and its
dependencies are imported only when the command runs.
"""

from __future__ import annotations

import secrets
import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer


def dash(
    listen: Annotated[Optional[str], typer.Option(help="serve on this address instead of 127.0.0.1 (0.0.0.0: "
                                                       "every interface); a token is then required")] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port of the web page")] = 8765,
    token: Annotated[Optional[str], typer.Option(help="the token the page needs (default with "
                                                      "--listen: a new one, printed)",
                                                 envvar="CARVOICE_DASH_TOKEN")] = None,
    broker: Annotated[Optional[str], typer.Option("--broker", "-b",
                                                  help="mqtt://host:port; default: embedded")]
    = None,
    vehicle: Annotated[Optional[str], typer.Option("--vehicle", "-v",
                                                   help="vehicle id (default from config)")]
    = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (or "
                                                                               "$CARVOICE_CONFIG)")] = None,
) -> None:
    """A web page with the car's cabin, the assistant's turns, a box to type to it, and the fleet's config
    state, live from the bus (an embedded broker and simulated car if none is running)."""
    from assistant.config import ConfigError, load_config
    from assistant.dash.server import LOCAL_HOSTS, DashServer, TypedTurns
    from assistant.voice.events import BusEventSink
    from assistant.engines import Engines
    from assistant.runtime import build_dialogue, connected_vehicle
    from models.registry import ModelError
    from vehicle_bus.brokers import BrokerStartError
    from vehicle_bus.errors import BusError

    host = listen or "127.0.0.1"
    if host not in LOCAL_HOSTS and not token:
        token = secrets.token_urlsafe(18)
    try:
        config = load_config(config_file, {"bus.url": broker, "vehicle.id": vehicle})
        with connected_vehicle(config) as car:
            ask = TypedTurns(build_dialogue(Engines(config), car), BusEventSink(car.client, car.vehicle_id))
            with DashServer(config.bus, car.vehicle_id, ask, host, port, token) as server:
                typer.echo(f"carvoice dash: {server.url}  (vehicle {car.vehicle_id} on "
                           f"{config.bus.describe()}; "
                           "Ctrl-C stops)")
                stopped = threading.Event()
                signal.signal(signal.SIGTERM, lambda *_: stopped.set())
                try:
                    while not stopped.wait(1.0):
                        pass
                except KeyboardInterrupt:
                    pass
    except (ConfigError, ValueError, OSError, BusError, BrokerStartError, ModelError) as exc:
        typer.echo("error: " + "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()),
                   err=True)
        raise typer.Exit(2) from None
