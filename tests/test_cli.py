"""The carvoice command as a user runs it: sim run / state / set / signals, demo, config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from assistant.config import ConfigError, load_config
from vehicle_bus.brokers import free_port
from vehicle_bus.signals import SIGNALS
from tests.helpers import CARVOICE

TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"


def carvoice(*args: str, check: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([CARVOICE, *args], capture_output=True, text=True, timeout=120,
                            env=os.environ | {"COLUMNS": "200"} | (env or {}))
    if check:
        assert result.returncode == 0, result.stderr
    return result


def wait_for_state(*args: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = carvoice("sim", "state", "--json", *args)
        if result.returncode == 0:
            return json.loads(result.stdout)
        time.sleep(0.5)
    raise AssertionError(f"vehicle never published its state: {result.stderr}")


@pytest.fixture
def running_sim(mosquitto, tmp_path):
    """`carvoice sim run` with two vehicles on the test Mosquitto, as a separate process."""
    process = subprocess.Popen([CARVOICE, "sim", "run", "-b", mosquitto.url, "-v", "cli-a", "-v", "cli-b",
                                "--state-dir", str(tmp_path), "--time-scale", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield mosquitto.url, tmp_path
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def test_state_json_prints_every_signal(running_sim):
    url, _ = running_sim
    state = wait_for_state("-b", url, "-v", "cli-a")
    assert state["vehicle"] == "cli-a"
    assert set(state["signals"]) == set(SIGNALS)
    assert state["signals"][TEMPERATURE]["value"] == 21.0


def test_set_applies_and_reports_rejections(running_sim):
    url, state_dir = running_sim
    wait_for_state("-b", url, "-v", "cli-b")
    applied = carvoice("sim", "set", TEMPERATURE, "23.5", "-b", url, "-v", "cli-b", check=True)
    assert f"applied {TEMPERATURE} = 23.5" in applied.stdout
    rejected = carvoice("sim", "set", TEMPERATURE, "40", "-b", url, "-v", "cli-b")
    assert rejected.returncode == 1
    assert "rejected" in rejected.stderr and "between 16 and 28 celsius" in rejected.stderr
    state = wait_for_state("-b", url, "-v", "cli-b")
    assert state["signals"][TEMPERATURE]["value"] == 23.5
    assert json.loads((state_dir / "cli-b.json").read_text())[TEMPERATURE] == 23.5
    assert wait_for_state("-b", url, "-v", "cli-a")["signals"][TEMPERATURE]["value"] == 21.0  # the other car


def test_sim_run_starts_the_embedded_broker_by_default(tmp_path):
    port = free_port()
    config = tmp_path / "carvoice.yaml"
    config.write_text(f"bus:\n  embedded_port: {port}\nvehicle:\n  id: embedded-car\n"
                      f"sim:\n  state_dir: {tmp_path}\n")
    process = subprocess.Popen([CARVOICE, "sim", "run", "-c", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        carvoice("sim", "set", "Vehicle.Cabin.HVAC.IsAirConditioningActive", "true", "-c", str(config))
        state = wait_for_state("-c", str(config))
        assert state["vehicle"] == "embedded-car"
        assert state["signals"]["Vehicle.Cabin.HVAC.IsAirConditioningActive"]["value"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert f"embedded broker at mqtt://127.0.0.1:{port}" in output


def test_state_of_a_vehicle_that_is_not_there(mosquitto):
    result = carvoice("sim", "state", "-b", mosquitto.url, "-v", "ghost")
    assert result.returncode == 2
    assert "vehicle 'ghost' has published no state" in result.stderr


def test_no_broker_is_a_clear_error():
    result = carvoice("sim", "state", "-b", f"mqtt://127.0.0.1:{free_port()}")
    assert result.returncode == 2 and "cannot connect to the MQTT broker" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("bus: [1, 2", "cannot read config file"),
    ("- just\n- a list\n", "must hold a mapping"),
    ("bus:\n  url: http://broker\n", "bus.url"),
    ("sim:\n  time_scale: -1\n", "sim.time_scale"),
    ("vehicle:\n  id: 'my car'\n", "vehicle.id"),
    ("colour: red\n", "colour: Extra inputs are not permitted"),
])
def test_broken_config_is_refused_with_the_field_named(tmp_path, content, message):
    config = tmp_path / "bad.yaml"
    config.write_text(content)
    result = carvoice("sim", "state", "-c", str(config))
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize("name, value, message", [
    ("CARVOICE_SIM__TIME_SCALE", "-1", "sim.time_scale"),
    ("CARVOICE_SIM__COLOUR", "red", "sim.colour: Extra inputs are not permitted"),
    ("CARVOICE_SIM__TIME_SCALE", "[1, 2", "CARVOICE_SIM__TIME_SCALE is not a readable value"),
])
def test_broken_environment_setting_is_refused_with_its_name(name, value, message):
    result = carvoice("sim", "state", env={name: value})
    assert result.returncode == 2 and message in result.stderr


def test_environment_settings_override_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "car.yaml"
    config.write_text("llm:\n  max_calls: 2\n  think_budget: 16\n")
    monkeypatch.setenv("CARVOICE_LLM__MAX_CALLS", "3")
    loaded = load_config(config)
    assert loaded.llm.max_calls == 3 and loaded.llm.think_budget == 16


def test_command_line_options_override_the_environment_and_unset_ones_leave_it(tmp_path):
    config = tmp_path / "car.yaml"
    config.write_text("vehicle:\n  id: car7\nsim:\n  time_scale: 2\n")
    loaded = load_config(config, {"vehicle.id": "car8", "sim.time_scale": None, "live.mode": "wake_phrase"},
                         environ={"CARVOICE_VEHICLE__ID": "car9", "CARVOICE_SIM__TICK_S": "0.5"})
    assert (loaded.vehicle.id, loaded.sim.time_scale, loaded.sim.tick_s, loaded.live.mode) == \
        ("car8", 2.0, 0.5, "wake_phrase")
    with pytest.raises(ConfigError, match="the command line"):
        load_config(config, {"sim.time_scale": 5000}, environ={})


def test_signals_listing_matches_the_table():
    markdown = carvoice("sim", "signals", "--markdown", check=True).stdout
    assert markdown.count("\n| `Vehicle.") == len(SIGNALS)


@pytest.mark.slow
def test_demo_speaks_a_drive_through_the_voice_pipeline(tmp_path, test_registry):
    result = carvoice("demo", "--out", str(tmp_path), check=True)
    assert "heard: 'set the temperature to 22 degrees" in result.stdout.lower().replace('"', "'")
    assert "assistant: Air conditioning on. Playing So What by Miles Davis." in result.stdout
    assert "Vehicle.Private.Carvoice.Navigation.RouteStatus 'IDLE' -> 'ACTIVE'" in result.stdout
    assert "assistant: I can set the temperature between 16 and 28 degrees." in result.stdout
    assert "assistant: Sorry, I can't control driving or safety systems." in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"turn-{n}.wav" for n in range(1, 8)]
