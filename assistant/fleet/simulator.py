"""Many lightweight vehicles (a config agent each, with its own MQTT connection; no speech stack) on one
broker, and the rollout benchmark that runs on them."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.bench.stats import Progress
from assistant.config import CarvoiceConfig, FleetSettings
from assistant.fleet.agent import ConfigAgent
from assistant.fleet.documents import SigningKey, public_key_text
from assistant.fleet.operator import FleetOperator
from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings

VEHICLES_PER_PROCESS = 250
"""paho-mqtt waits on its sockets with select(), which fails past file descriptor 1024: a process keeps
well under that, so large fleets run in several processes."""


class SimulatedFleet:
    """Vehicles ``ids`` (named ``<prefix>-<number>``), spread over ``groups`` groups; ``refuses`` decides
    which vehicles cannot apply a config (their assistant raises, as one with a missing model would)."""

    def __init__(self, bus: BusSettings, fleet_id: str, trusted_keys: dict[str, str], ids: list[str],
                 groups: int = 0, refuses: Callable[[str, CarvoiceConfig], bool] | None = None,
                 credentials: Callable[[str], BusSettings] | None = None):
        self.bus, self.fleet_id, self.trusted_keys = bus, fleet_id, trusted_keys
        self.ids = ids
        self.groups = groups
        self.refuses = refuses or (lambda vehicle_id, config: False)
        self.credentials = credentials or (lambda vehicle_id: bus)
        self.clients: list[BusClient] = []
        self.agents: dict[str, ConfigAgent] = {}

    def start(self, progress: Progress | None = None, connections: int = 16) -> SimulatedFleet:
        def one(vehicle_id: str) -> tuple[BusClient, ConfigAgent]:
            group = f"g{int(vehicle_id.rsplit('-', 1)[1]) % self.groups}" if self.groups else None
            local = CarvoiceConfig(fleet=FleetSettings(id=self.fleet_id, group=group,
                                                       trusted_keys=self.trusted_keys))
            client = BusClient(self.credentials(vehicle_id),
                               client_id=f"carvoice-config-{vehicle_id}").connect()

            def apply(config: CarvoiceConfig, changed: list[str]) -> None:
                if self.refuses(vehicle_id, config):
                    raise RuntimeError("the assistant cannot run this config here")

            return client, ConfigAgent(client, vehicle_id, local, apply).start()

        with ThreadPoolExecutor(connections) as pool:
            for number, (client, agent) in enumerate(pool.map(one, self.ids), start=1):
                self.clients.append(client)
                self.agents[agent.vehicle_id] = agent
                if progress:
                    progress("connecting vehicles", number, len(self.ids))
        return self

    def stop(self) -> None:
        for client in self.clients:
            client.close()

    def __enter__(self) -> SimulatedFleet:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def versions(self) -> dict[str, int | None]:
        return {vehicle_id: agent.versions()["fleet"] for vehicle_id, agent in self.agents.items()}


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0, poll_s: float = 0.05) -> bool:
    """Whether ``condition()`` turns true within ``timeout_s`` (checked every ``poll_s``, and once more at the
    end): how the simulator, the soak and the tests wait for what a vehicle, a broker or another thread
    does."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(poll_s)
    return True


def memory_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (``VmRSS``: resident now, ``VmHWM``: its peak), in MB."""
    kb = next((int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith(f"{field}:")), 0)
    return round(kb / 1024, 1)


def process_load(pid: int) -> dict[str, float]:
    """CPU seconds and peak memory of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = float(fields[11]) + float(fields[12])  # utime + stime
    return {"cpu_s": ticks / 100, "peak_rss_mb": memory_mb(pid, "VmHWM")}


def _run_share(url: str, fleet_id: str, trusted: dict[str, str], ids: list[str], stop) -> None:
    """A worker process: its share of the fleet, until told to stop."""
    with SimulatedFleet(BusSettings(url=url, ack_timeout_s=30), fleet_id, trusted, ids):
        stop.wait()


def run_rollout_bench(vehicles: int, canary: float, stages: tuple[float, ...],
                      progress: Progress) -> dict[str, Any]:
    """A Mosquitto of its own, ``vehicles`` simulated vehicles on it (in worker processes), a first config
    pushed to all, then a staged rollout of a second one; times and the broker's load."""
    import multiprocessing

    key = SigningKey.generate()
    trusted = {key.key_id: public_key_text(key.public_key)}
    ids = [f"sim-{n:05d}" for n in range(vehicles)]
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    with MosquittoBroker(extra_config="max_queued_messages 10000") as broker, \
            BusClient(BusSettings(url=broker.url)) as client:
        operator = FleetOperator(client, "bench", key)

        def reported(version: int | None = None) -> int:
            statuses = list(operator.statuses.values())
            return sum(1 for s in statuses
                       if version is None or (s.get("applied") or {}).get("fleet") == version)

        started = time.perf_counter()
        workers = [spawn.Process(target=_run_share, args=(broker.url, "bench", trusted,
                                                           ids[i:i + VEHICLES_PER_PROCESS], stop),
                                 daemon=True)
                   for i in range(0, vehicles, VEHICLES_PER_PROCESS)]
        for worker in workers:
            worker.start()
        try:
            wait_until(lambda: progress("connecting vehicles", reported(),
                                        vehicles) or reported() == vehicles, 300)
            connect_s = time.perf_counter() - started
            started = time.perf_counter()
            operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
            wait_until(lambda: reported(1) == vehicles, 120)
            push_s = time.perf_counter() - started
            before = process_load(broker.pid)
            report = operator.rollout({"dialogue": {"idle_timeout_s": 45}}, canary, 0.05, stages, wait_s=300,
                                      progress=lambda stage: progress(f"stage {stage.percent:g}%", 1, 1))
            after = process_load(broker.pid)
            converged = wait_until(lambda: reported(2) == vehicles, 60)
        finally:
            stop.set()
            for worker in workers:
                worker.join(30)
            operator.close()
    return {"vehicles": vehicles, "connect_s": round(connect_s, 2), "push_all_s": round(push_s, 2),
            "rollout": {"outcome": report.outcome, "seconds": round(report.seconds, 2),
                        "converged": converged,
                        "stages": [{"percent": s.percent, "vehicles": s.vehicles, "applied": s.applied,
                                    "rejected": s.rejected, "at_s": round(s.seconds, 2)}
                                   for s in report.stages]},
            "broker": {"cpu_s_during_rollout": round(after["cpu_s"] - before["cpu_s"], 2),
                       "peak_rss_mb": after["peak_rss_mb"]}}
