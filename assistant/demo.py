"""The demo: an embedded broker, one simulated car, a few requests (one refused), the resulting state."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.config import CarvoiceConfig
from vehicle_bus.brokers import EmbeddedBroker, free_port
from vehicle_bus.client import BusClient, SetRejected
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import SIGNALS, default_state
from vehicle_bus.sim.vehicle import SimulatedVehicle, control_over_bus

HVAC = "Vehicle.Cabin.HVAC"
REQUESTS = [
    (f"{HVAC}.Station.Row1.Driver.Temperature", 22.5),
    (f"{HVAC}.IsAirConditioningActive", True),
    ("Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 60),
    ("Vehicle.Cabin.Infotainment.Media.SelectedURI", "search:miles davis"),
    ("Vehicle.Cabin.Infotainment.Media.Volume", 45),
    ("Vehicle.Private.Carvoice.Navigation.DestinationName", "Augsburg"),
    (f"{HVAC}.Station.Row1.Passenger.Temperature", 35),
    ("Vehicle.Speed", 200),
]
DRIVE_S = 600


def run_demo(config: CarvoiceConfig, console: Console) -> None:
    bus = BusSettings(embedded_port=free_port())
    with tempfile.TemporaryDirectory() as state_dir, \
            EmbeddedBroker(bus.embedded_host, bus.embedded_port), \
            SimulatedVehicle(config.vehicle.id, bus, state_file=Path(state_dir) / "car.json", time_scale=0) as car, \
            BusClient(bus) as client:
        console.print(f"[bold]carvoice demo[/]: vehicle [cyan]{car.vehicle_id}[/] on the {bus.describe()}\n")
        for path, value in REQUESTS:
            console.print(f"set {path} = {json.dumps(value)}", highlight=False)
            try:
                ack = client.set(car.vehicle_id, path, value)
                console.print(f"  [green]applied[/] {json.dumps(ack.value)}", highlight=False)
            except SetRejected as exc:
                console.print(f"  [red]rejected[/]: {exc.reason}", highlight=False, soft_wrap=True)
        control_over_bus(client, car.vehicle_id, DRIVE_S)
        console.print(f"\n(simulated time advanced {DRIVE_S // 60} minutes: the car drives toward its destination)\n")
        state = client.snapshot(car.vehicle_id, expected=len(SIGNALS))
        defaults = default_state()
        changed = Table(title="vehicle state that differs from a new car")
        for column in ("signal", "value", "unit"):
            changed.add_column(column)
        for path in SIGNALS:
            if path in state and state[path].value != defaults[path]:
                changed.add_row(path, repr(state[path].value), SIGNALS[path].unit or "")
        console.print(changed)
