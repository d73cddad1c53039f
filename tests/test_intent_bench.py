"""The labelled intent set and its scoring."""

from __future__ import annotations

import json
import subprocess

from assistant.bench.intents import load_cases, run_cases, summarize
from intents.actions import MissingArgument
from intents.catalogue import CATALOGUE, get_action
from intents.dialogue import Dialogue
from intents.llm import parse_calls
from tests.helpers import CARVOICE



def test_the_set_covers_every_domain_dialogues_and_refusals():
    cases = load_cases()
    singles = [c for c in cases if c.kind == "single"]
    dialogues = [c for c in cases if c.kind == "dialogue"]
    refusals = [c for c in cases if c.kind == "refusal"]
    assert len(singles) >= 200 and len(dialogues) >= 20 and len(refusals) >= 30
    assert all(len(d.turns) >= 2 for d in dialogues)
    expected = {c.name for case in cases for _, text in case.turns for c in parse_calls(text)}
    assert {a.domain for name, a in CATALOGUE.items() if name in expected} == \
        {"climate", "media", "navigation", "info", "dialogue"}
    assert all(parse_calls(text) == [] for case in refusals for _, text in case.turns)


def test_every_expected_call_is_a_valid_catalogue_call():
    for case in load_cases():
        for _said, text in case.turns:
            for call in parse_calls(text):
                try:
                    get_action(call.name).validate(call.args)
                except MissingArgument:
                    pass  # expected: the assistant asks for it


def test_scoring_catches_a_wrong_expectation(car):
    cases = load_cases('single: [["set the temperature to 21", "set_temperature(value=22)"], '
                       '["louder", "change_volume(delta=10)"]]\ndialogues: []\nrefusals: []\n')
    results = list(run_cases(cases, Dialogue(car)))
    summary = summarize(results)
    assert summary["accuracy"] == 0.5
    assert summary["errors"][0]["text"] == "set the temperature to 21"
    assert summary["by_path"]["fast"]["turns"] == 2


def test_bench_command_reports_the_fast_path():
    result = subprocess.run([CARVOICE, "bench", "intents", "--modes", "fast", "--limit", "40", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [run] = report["runs"]
    assert run["mode"] == "fast" and report["cases"] == 40
    assert run["accuracy"] >= 0.9 and run["by_path"]["fast"]["p50_ms"] > 0
    bad = subprocess.run([CARVOICE, "bench", "intents", "--modes", "slow"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown mode(s) slow" in bad.stderr
