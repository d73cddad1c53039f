"""pytest plugin (registered as ``carvoice-scenarios``): scenario files in a folder named ``scenarios``
are collected as test items, so ``pytest tests/scenarios`` runs them; ``--scenario-report FILE`` writes
the HTML report of those that ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.scenarios.schema import Scenario, load_scenarios
from assistant.scenarios.runner import ScenarioResult, ScenarioRunner

RUNNER = pytest.StashKey[ScenarioRunner]()
RESULTS = pytest.StashKey[list[ScenarioResult]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scenario-report", type=Path, default=None,
                     help="write an HTML report of the scenarios")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parent.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        for scenario in load_scenarios(self.path):
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    def __init__(self, result: ScenarioResult):
        super().__init__(result.failure_message())
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        result = shared_runner(self.config).run(self.scenario)
        self.config.stash.setdefault(RESULTS, []).append(result)
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.result.failure_message()
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"scenario: {self.name}"


def shared_runner(config: pytest.Config) -> ScenarioRunner:
    """One runner (broker, engines) for the whole test session."""
    if RUNNER not in config.stash:
        from assistant.config import load_config

        runner = config.stash[RUNNER] = ScenarioRunner(load_config())
        config.add_cleanup(runner.close)
    return config.stash[RUNNER]


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = session.config.getoption("--scenario-report")
    if report and session.config.stash.get(RESULTS, None):
        from assistant.scenarios.report import write_html

        write_html(session.config.stash[RESULTS], report)
