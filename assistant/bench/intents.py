"""The intent benchmark, ``carvoice bench intents``: accuracy, wrong actions applied, and latency of each
path (fast path only, LLM only, both as the assistant runs; each installed LLM) on labelled sets.

Four sets, each a YAML file in ``intents/data/``:

* ``rules`` (``bench.yaml``): single sentences over every domain, multi-turn dialogues and requests
  to refuse, written alongside the fast path;
* ``heldout`` (``heldout.yaml``): the same kinds, written independently before the fast-path
  rewrite, scored but never used to tune;
* ``adversarial`` (``adversarial.yaml``): negation, contrast, polarity, values, zones, follow-ups,
  injection and hedges, built to lure the assistant into the wrong action;
* ``dev`` (``dev.yaml``): everyday phrasings of every action, written from the catalogue alone to find
  the causes of misses; used for tuning, so its score is not a held-out figure.

Each turn runs through the real dialogue against a simulated car. A turn is *correct* when the
actions it produced (whether the car could apply them or not) equal the expected ones, arguments
compared after validation. A turn applied a *wrong action* when the car applied an action that is
not among the expected ones: the figure that must be 0.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from assistant.bench.stats import Progress, percentiles
from assistant.config import CarvoiceConfig
from assistant.engines import Engines
from assistant.runtime import scratch_vehicle
from intents.actions import MissingArgument, Refusal
from intents.catalogue import get_action
from intents.dialogue import Dialogue, Turn
from intents.fastpath import FastPath
from intents.llm import parse_calls
from intents.text import normalize
from models.registry import Registry
from vehicle_bus.signals import default_state
from vehicle_bus.sim.vehicle import control_over_bus

FILLERS = {"the", "some", "a", "music", "by", "please", "something", "songs"}


SETS = {"rules": "bench.yaml", "heldout": "heldout.yaml", "adversarial": "adversarial.yaml",
        "dev": "dev.yaml", "blind": "blind.yaml", "blind2": "blind2.yaml",
        "blind3": "blind3.yaml", "blind4": "blind4.yaml", "blind5": "blind5.yaml"}
KINDS = ("single", "dialogue", "refusal", "adversarial")


@dataclass(frozen=True)
class Case:
    """One scripted conversation: a sentence, a dialogue, a request to refuse, or an adversarial case."""

    kind: str
    turns: tuple[tuple[str, str], ...]
    set: str = "rules"


def load_cases(text: str | None = None, set_name: str = "rules") -> list[Case]:
    """The cases of one set (or of YAML ``text`` in its format)."""
    data = yaml.safe_load(text if text is not None else
                          resources.files("intents").joinpath(f"data/{SETS[set_name]}").read_text())
    cases = [Case("single", ((say, expected),), set_name) for say, expected in data.get("single", [])]
    cases += [Case("dialogue", tuple(map(tuple, turns)), set_name) for turns in data.get("dialogues", [])]
    cases += [Case("refusal", ((say, expected),), set_name) for say, expected in data.get("refusals", [])]
    cases += [Case("adversarial", tuple(map(tuple, turns)), set_name) for turns in data.get("cases", [])]
    return cases


def load_sets(names: tuple[str, ...] = tuple(SETS)) -> list[Case]:
    return [case for name in names for case in load_cases(set_name=name)]


def _canonical(name: str, args: dict[str, Any]) -> tuple[str, tuple]:
    """A call in comparable form: defaults filled, numbers rounded, free text normalised."""
    try:
        args = get_action(name).validate(args)
    except (MissingArgument, Refusal):
        pass
    items = []
    for key, value in sorted(args.items()):
        if isinstance(value, float | int) and not isinstance(value, bool):
            value = round(float(value), 1)
        elif isinstance(value, str) and key in ("query", "destination"):
            value = " ".join(w for w in normalize(value).split() if w not in FILLERS)
        items.append((key, value))
    return name, tuple(items)


def expected_calls(text: str) -> list[tuple[str, tuple]]:
    return [_canonical(c.name, c.args) for c in parse_calls(text)]


def produced_calls(turn: Turn) -> list[tuple[str, tuple]]:
    """What the turn did or asked: actions it declined (\"don't open the windows\") did nothing."""
    return [_canonical(a.name, a.args) for a in turn.actions if a.status != "declined"]


def wrong_actions(turn: Turn, expected: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    """Actions the car applied that the driver did not ask for."""
    return [call for a in turn.actions if a.status == "applied"
            and (call := _canonical(a.name, a.args)) not in expected]


@dataclass
class TurnResult:
    kind: str
    text: str
    path: str
    correct: bool
    understand_ms: float
    expected: list = field(default_factory=list)
    produced: list = field(default_factory=list)
    wrong_applied: list = field(default_factory=list)
    set: str = "rules"
    reply: str = ""


def run_cases(cases: list[Case], dialogue: Dialogue,
              fresh_car: Callable[[], None] = lambda: None) -> Iterator[TurnResult]:
    """Every turn of every case, each case in a session of its own on a car ``fresh_car`` made new."""
    for number, case in enumerate(cases):
        fresh_car()
        for say, expected_text in case.turns:
            turn = dialogue.handle(say, session_id=f"bench-{case.set}-{number}")
            expected, produced = expected_calls(expected_text), produced_calls(turn)
            understand_ms = turn.timings_ms.get("llm_ms", 0.0) + turn.timings_ms.get("fast_ms", 0.0)
            yield TurnResult(case.kind, say, turn.path, expected == produced, understand_ms, expected,
                             produced, wrong_actions(turn, expected), case.set, turn.reply)


def summarize(results: list[TurnResult]) -> dict[str, Any]:
    """Accuracy overall, by kind and by path; latency p50/p95 of understanding per path."""
    def accuracy(rows: list[TurnResult]) -> float | None:
        return round(sum(r.correct for r in rows) / len(rows), 4) if rows else None

    def wrong(rows: list[TurnResult]) -> int:
        return sum(bool(r.wrong_applied) for r in rows)

    summary: dict[str, Any] = {"turns": len(results), "accuracy": accuracy(results),
                               "wrong_actions_applied": wrong(results)}
    summary["by_set"] = {name: {"turns": len(rows), "accuracy": accuracy(rows),
                                "wrong_actions_applied": wrong(rows)}
                         for name in SETS if (rows := [r for r in results if r.set == name])}
    summary["by_kind"] = {k: accuracy([r for r in results if r.kind == k]) for k in KINDS}
    summary["by_path"] = {}
    for path in sorted({r.path for r in results}):
        rows = [r for r in results if r.path == path]
        latency = percentiles([r.understand_ms for r in rows], digits=2)
        summary["by_path"][path] = {"turns": len(rows), "accuracy": accuracy(rows),
                                    "p50_ms": latency["p50"], "p95_ms": latency["p95"]}
    summary["errors"] = [{"set": r.set, "text": r.text, "path": r.path, "expected": r.expected,
                          "produced": r.produced, "wrong_applied": r.wrong_applied, "reply": r.reply}
                         for r in results if not r.correct]
    return summary


MODES = ("fast", "llm", "combined")


def installed_llms(registry: Registry) -> list[str]:
    return [s.id for s in registry.specs.values() if s.role == "llm" and registry.is_installed(s.id)]


def run_intent_bench(config: CarvoiceConfig, model_ids: list[str], modes: tuple[str, ...], limit: int | None,
                     progress: Progress, sets: tuple[str, ...] = tuple(SETS)) -> dict[str, Any]:
    """Every mode (fast path only; LLM only; both, as the assistant runs) on the labelled sets, per LLM
    (``model_ids``, or every installed one)."""
    cases = load_sets(sets)
    cases = cases[:limit] if limit else cases
    engines = Engines(config)
    model_ids = model_ids or installed_llms(engines.registry)
    report: dict[str, Any] = {"machine": {"platform": platform.platform(), "processor": platform.processor()},
                              "cases": len(cases), "turns": sum(len(c.turns) for c in cases), "runs": []}
    with scratch_vehicle("bench") as car:
        def fresh_car() -> None:  # the sets are written for a new car in every case
            control_over_bus(car.client, car.vehicle_id, overrides=default_state())

        def run(dialogue: Dialogue, label: str) -> dict[str, Any]:
            total, results = sum(len(c.turns) for c in cases), []
            for result in run_cases(cases, dialogue, fresh_car):
                results.append(result)
                progress(label, len(results), total)
            return summarize(results)

        if "fast" in modes:
            report["runs"].append({"mode": "fast", "model": None} | run(Dialogue(car), "fast"))
        for model_id in model_ids if {"llm", "combined"} & set(modes) else ():
            llm = engines.llm_for(config.llm.model_copy(update={"model": model_id, "path": None})).model
            for mode in ("llm", "combined"):
                if mode in modes:
                    fast_path = FastPath() if mode == "combined" else FastPath(enabled=False)
                    label = f"{mode} {model_id}"
                    report["runs"].append({"mode": mode, "model": model_id} |
                                          run(Dialogue(car, fast_path, llm), label))
    return report
