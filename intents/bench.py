"""The intent benchmark: accuracy (exact actions and arguments) and latency of each path on a labelled set.

The set (``data/bench.yaml``) has single sentences over every domain, multi-turn dialogues, and
requests the assistant must refuse (out of domain, unsafe, prompt injection). Each turn runs through
the real dialogue against a simulated car; a turn is correct when the actions it produced (whether
the car could apply them or not) equal the expected ones, arguments compared after validation.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from intents.catalogue import MissingArgument, Refusal, get_action
from intents.dialogue import Dialogue, Turn
from intents.llm import parse_calls
from intents.text import normalize

FILLERS = {"the", "some", "a", "music", "by", "please", "something", "songs"}


@dataclass(frozen=True)
class Case:
    """One scripted conversation: a single sentence, a dialogue, or a request to refuse."""

    kind: str
    turns: tuple[tuple[str, str], ...]


def load_cases(text: str | None = None) -> list[Case]:
    data = yaml.safe_load(text if text is not None else
                          resources.files("intents").joinpath("data/bench.yaml").read_text())
    cases = [Case("single", ((say, expected),)) for say, expected in data["single"]]
    cases += [Case("dialogue", tuple((say, expected) for say, expected in turns)) for turns in data["dialogues"]]
    cases += [Case("refusal", ((say, expected),)) for say, expected in data["refusals"]]
    return cases


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
    return [_canonical(a.name, a.args) for a in turn.actions]


@dataclass
class TurnResult:
    kind: str
    text: str
    path: str
    correct: bool
    understand_ms: float
    expected: list = field(default_factory=list)
    produced: list = field(default_factory=list)


def run_cases(cases: list[Case], dialogue: Dialogue) -> Iterator[TurnResult]:
    """Every turn of every case, each case in a session of its own."""
    for number, case in enumerate(cases):
        for say, expected_text in case.turns:
            turn = dialogue.handle(say, session_id=f"bench-{number}")
            expected, produced = expected_calls(expected_text), produced_calls(turn)
            understand_ms = turn.timings_ms.get("llm_ms", 0.0) + turn.timings_ms.get("fast_ms", 0.0)
            yield TurnResult(case.kind, say, turn.path, expected == produced, understand_ms, expected, produced)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(results: list[TurnResult]) -> dict[str, Any]:
    """Accuracy overall, by kind and by path; latency p50/p95 of understanding per path."""
    def accuracy(rows: list[TurnResult]) -> float | None:
        return round(sum(r.correct for r in rows) / len(rows), 4) if rows else None

    summary: dict[str, Any] = {"turns": len(results), "accuracy": accuracy(results)}
    summary["by_kind"] = {k: accuracy([r for r in results if r.kind == k]) for k in ("single", "dialogue", "refusal")}
    summary["by_path"] = {}
    for path in sorted({r.path for r in results}):
        rows = [r for r in results if r.path == path]
        latencies = [r.understand_ms for r in rows]
        summary["by_path"][path] = {"turns": len(rows), "accuracy": accuracy(rows),
                                    "p50_ms": round(percentile(latencies, 50), 2),
                                    "p95_ms": round(percentile(latencies, 95), 2)}
    summary["errors"] = [{"text": r.text, "path": r.path, "expected": r.expected, "produced": r.produced}
                         for r in results if not r.correct]
    return summary

