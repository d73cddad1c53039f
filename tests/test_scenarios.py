"""The scenario runner, its reports and its pytest plugin: a broken expectation fails readably, bad files
are refused with the reason, the HTML report renders in headless Chromium, JUnit XML is valid."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.scenarios.schema import ScenarioError, load_scenarios
from assistant.scenarios.report import write_html, write_junit
from assistant.scenarios.runner import ScenarioRunner
from tests.helpers import CARVOICE

LIBRARY = Path(__file__).parent / "scenarios"
PASSING = """
name: volume goes to 30
steps:
  - say: volume to 30
    expect: {state: {Vehicle.Cabin.Infotainment.Media.Volume: 30}}
"""
BROKEN = """
name: deliberately wrong expectation
steps:
  - say: set the temperature to 21 degrees
  - say: volume to 25
    expect:
      state: {Vehicle.Cabin.Infotainment.Media.Volume: 35}
      reply_contains: [loud]
"""

EVERY_BUS_STEP = """
name: a command, the button, time passing and a malformed message
steps:
  - say: volume to 30
    expect: {state: {Vehicle.Cabin.Infotainment.Media.Volume: 30}}
  - press: push_to_talk
  - wait: 60
  - fault: {malformed: {path: Vehicle.Cabin.Infotainment.Media.Volume, payload: "{not json"}}
    expect: {bus_error_contains: "not valid JSON"}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def runner():
    with ScenarioRunner(load_config()) as shared:
        yield shared


def test_the_library_has_at_least_fifty_scenarios_covering_every_kind_of_step():
    scenarios = [s for path in sorted(LIBRARY.glob("*.yaml")) for s in load_scenarios(path)]
    assert len(scenarios) >= 50
    kinds = {step.kind for scenario in scenarios for step in scenario.steps}
    assert kinds == {"say", "speak", "play", "press", "wait", "fault"}
    tags = {tag for scenario in scenarios for tag in scenario.tags}
    assert {"climate", "media", "navigation", "follow-up", "slot-filling", "refusal", "injection", "faults",
            "voice"} <= tags
    faults = {key for s in scenarios for step in s.steps if step.fault
              for key, value in step.fault.model_dump().items() if value not in (None, False)}
    assert faults == {"broker_restart", "silent", "reject", "malformed"}


def test_a_broken_expectation_fails_with_expected_actual_and_the_transcript(runner, tmp_path):
    result = runner.run(load_scenarios(write(tmp_path, "broken.yaml", BROKEN))[0])
    assert not result.passed
    message = result.failure_message()
    assert "step 2 (say 'volume to 25'): expected Vehicle.Cabin.Infotainment.Media.Volume = 35, got 25" in message
    assert "expected the reply to contain 'loud', got 'Volume 25.'" in message
    assert "1. say 'set the temperature to 21 degrees' -> 'Temperature set to 21 degrees for the front.'" in message
    assert "Vehicle.Cabin.Infotainment.Media.Volume: 30 -> 25" in message


def test_a_runner_listens_to_nothing_more_after_its_scenarios(mosquitto, tmp_path):
    scenarios = load_scenarios(write(tmp_path, "bus.yaml", EVERY_BUS_STEP)) * 3
    with ScenarioRunner(load_config(), broker_url=mosquitto.url) as runner:
        before = runner.client.subscriptions()
        results = runner.run_all(scenarios)
        assert [result.passed for result in results] == [True] * 3, results[0].failure_message()
        assert runner.client.subscriptions() == before


@pytest.mark.parametrize("text, problem", [
    ("name: x\nsteps: [{say: hi, speak: hi}]", "exactly one of say, speak, play, press, wait, fault; got say, speak"),
    ("name: x\nsteps: [{say: hi, expect: {state: {Vehicle.Warp.Drive: 9}}}]", "unknown signal 'Vehicle.Warp.Drive'"),
    ("name: x\nsteps: [{say: hi, expect: {state: {Vehicle.Speed: fast}}}]", "expects a number"),
    ("name: x\nsteps: [{fault: {silent: true, broker_restart: true}}]", "exactly one fault"),
    ("name: x\nsteps: [{say: hi}]\ncolour: red", "colour"),
    ("name: x\nsteps: []", "steps"),
    ("- just\n- a list", "a scenario is a mapping"),
    ("name: [unclosed", "cannot read scenario file"),
])
def test_bad_scenario_files_are_refused_with_the_reason(text, problem, tmp_path):
    with pytest.raises(ScenarioError, match=problem.replace("(", r"\(").replace(")", r"\)")) as error:
        load_scenarios(write(tmp_path, "bad.yaml", text))
    assert "bad.yaml" in str(error.value)


def test_sim_test_command_writes_junit_and_html_and_fails_on_a_failure(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    write(folder, "a.yaml", PASSING)
    write(folder, "b.yaml", BROKEN)
    junit, report = tmp_path / "junit.xml", tmp_path / "report.html"
    result = subprocess.run([CARVOICE, "sim", "test", str(folder), "--junit", str(junit), "--report", str(report),
                             "--parallel", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "1 passed, 1 failed" in result.stdout and "got 25" in result.stderr
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='deliberately wrong expectation']/failure")
    assert failure is not None and "got 25" in failure.get("message")



def test_errors_for_scripts_are_one_plain_line_however_long_the_path(tmp_path):
    missing = tmp_path / ("a-folder-name-long-enough-to-pass-any-terminal-width-" * 3) / "missing"
    bad = subprocess.run([CARVOICE, "sim", "test", str(missing)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [f"error: {missing} does not exist"]


def test_html_report_renders_in_headless_chromium(runner, tmp_path):
    chromium = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    assert chromium, "headless Chromium is missing: `make` installs the chromium-headless-shell package"
    results = [runner.run(load_scenarios(write(tmp_path, f"{n}.yaml", text))[0])
               for n, text in (("a", PASSING), ("b", BROKEN))]
    report = tmp_path / "report.html"
    write_html(results, report)
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]
    shot = tmp_path / "report.png"
    subprocess.run([*browser, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120,
                   check=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1280 and len(png) > 20_000
    dom = subprocess.run([*browser, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert "1 passed,\n1 failed</span> of 2" in dom or "1 passed, 1 failed" in dom.replace("\n", " ")
    assert dom.count('data-status="fail"') == 1 and dom.count('data-status="pass"') == 1
    assert 'id="latency"' in dom and "expected Vehicle.Cabin.Infotainment.Media.Volume = 35, got 25" in dom


def test_junit_marks_runner_errors_as_errors(runner, tmp_path):
    scenario = load_scenarios(write(tmp_path, "e.yaml", "name: plays a missing file\nsteps: [{play: nope.wav}]"))[0]
    result = runner.run(scenario)
    assert result.error and "nope.wav does not exist" in result.error
    write_junit([result], tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("errors") == "1" and suite.find("testcase/error") is not None


def test_pytest_collects_scenario_files_and_reports_failures_readably(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    write(folder, "suite.yaml", PASSING + "\n---\n" + BROKEN)
    report = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder),
                             f"--scenario-report={report}", "--rootdir", str(tmp_path)], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "expected Vehicle.Cabin.Infotainment.Media.Volume = 35, got 25" in result.stdout
    assert report.exists()
