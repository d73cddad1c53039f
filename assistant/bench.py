"""``carvoice bench intents``: the intent benchmark over each path and each packaged LLM."""

from __future__ import annotations

import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import CarvoiceConfig
from assistant.runtime import load_llm
from intents.bench import Case, load_cases, run_cases, summarize
from intents.dialogue import Dialogue
from intents.fastpath import FastPath
from intents.vehicle import BusVehicle
from models.registry import Registry
from vehicle_bus.brokers import EmbeddedBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings
from vehicle_bus.sim.vehicle import SimulatedVehicle

MODES = ("fast", "llm", "combined")
Progress = Callable[[str, int, int], None]


def installed_llms(registry: Registry) -> list[str]:
    return [s.id for s in registry.specs.values() if s.role == "llm" and registry.is_installed(s.id)]


def run_intent_bench(config: CarvoiceConfig, model_ids: list[str], modes: tuple[str, ...], limit: int | None,
                     progress: Progress) -> dict[str, Any]:
    """Every mode (fast path only; LLM only; both, as the assistant runs) on the labelled set, per LLM."""
    cases = load_cases()[:limit] if limit else load_cases()
    registry = Registry(config.models.store_dir)
    report: dict[str, Any] = {"machine": {"platform": platform.platform(), "processor": platform.processor()},
                              "cases": len(cases), "turns": sum(len(c.turns) for c in cases), "runs": []}
    bus = BusSettings(embedded_port=free_port())
    with tempfile.TemporaryDirectory() as state_dir, EmbeddedBroker(bus.embedded_host, bus.embedded_port), \
            SimulatedVehicle("bench", bus, state_file=Path(state_dir) / "bench.json", time_scale=0), \
            BusClient(bus) as client:
        car = BusVehicle(client, "bench").start()
        if "fast" in modes:
            report["runs"].append({"mode": "fast", "model": None} | _run(cases, Dialogue(car), "fast", progress))
        for model_id in model_ids if {"llm", "combined"} & set(modes) else ():
            llm = load_llm(registry, config.llm.model_copy(update={"model": model_id, "path": None}))
            for mode in ("llm", "combined"):
                if mode in modes:
                    fast_path = FastPath() if mode == "combined" else FastPath(rules=())
                    label = f"{mode} {model_id}"
                    report["runs"].append({"mode": mode, "model": model_id} |
                                          _run(cases, Dialogue(car, fast_path, llm), label, progress))
    return report


def _run(cases: list[Case], dialogue: Dialogue, label: str, progress: Progress) -> dict[str, Any]:
    total = sum(len(c.turns) for c in cases)
    results = []
    for result in run_cases(cases, dialogue):
        results.append(result)
        progress(label, len(results), total)
    return summarize(results)
