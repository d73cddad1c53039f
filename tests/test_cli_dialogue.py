"""`carvoice ask`, `chat` and `intents list` as a user runs them, against a simulated car on Mosquitto."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from intents.catalogue import CATALOGUE
from tests.helpers import CARVOICE



def carvoice(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CARVOICE, *args], capture_output=True, text=True, timeout=300, input=stdin,
                          env=os.environ | {"COLUMNS": "200"})


def test_ask_json_applies_and_reports(vehicle, mosquitto):
    result = carvoice("ask", "turn on the AC and set it to 20", "--json", "-b", mosquitto.url, "-v", vehicle.vehicle_id)
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert turn["path"] == "fast" and turn["reply"] == "Air conditioning on. Temperature set to 20 degrees for the front."
    assert [(a["name"], a["status"]) for a in turn["actions"]] == [("set_air_conditioning", "applied"),
                                                                    ("set_temperature", "applied")]
    assert vehicle.state["Vehicle.Cabin.HVAC.Station.Row1.Passenger.Temperature"] == 20.0


@pytest.mark.slow
def test_ask_out_of_domain_goes_to_the_llm_and_is_refused(vehicle, mosquitto, test_registry):
    result = carvoice("ask", "what's the capital of France", "--json", "-b", mosquitto.url, "-v", vehicle.vehicle_id)
    turn = json.loads(result.stdout)
    assert turn["path"] == "llm" and turn["actions"] == []
    assert turn["reply"] == "Sorry, I can only help with the car's climate, media and navigation."


def test_chat_keeps_context_between_lines(vehicle, mosquitto):
    result = carvoice("chat", "-b", mosquitto.url, "-v", vehicle.vehicle_id,
                      stdin="navigate\nRegensburg\nhow long until we arrive\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Where would you like to go?"
    assert lines[1].startswith("Navigating to Regensburg, DE:")
    assert lines[2].endswith("to Regensburg, DE.")


def test_ask_without_a_reachable_vehicle_is_a_clear_error(mosquitto):
    result = carvoice("ask", "louder", "-b", mosquitto.url, "-v", "nobody-here")
    assert result.returncode == 2 and "vehicle 'nobody-here' has not published its state" in result.stderr


def test_intents_list_covers_the_catalogue():
    listing = carvoice("intents", "list", "--markdown").stdout
    assert all(f"| `{name}` |" in listing for name in CATALOGUE)


def test_readme_intent_table_is_the_generated_one():
    from assistant.cli.intents import intents_markdown

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert intents_markdown() in readme, "README's intent table is stale: paste `carvoice intents list --markdown`"


def test_configured_places_are_destinations(vehicle, mosquitto, tmp_path):
    config = tmp_path / "carvoice.yaml"
    config.write_text("navigation:\n  places:\n    home: Augsburg\n    the gym: 48.15, 11.60\n")
    result = carvoice("ask", "take me home", "--json", "-c", str(config), "-b", mosquitto.url, "-v", vehicle.vehicle_id)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reply"].startswith("Navigating to home (Augsburg, DE): ")
    assert json.loads(vehicle.state["Vehicle.Private.Carvoice.Navigation.SavedPlaces"]) == {
        "home": "Augsburg", "the gym": "48.15, 11.60"}


def test_a_bad_place_name_in_the_config_is_a_clear_error(tmp_path):
    config = tmp_path / "carvoice.yaml"
    config.write_text("navigation:\n  places:\n    Home!: Augsburg\n")
    result = carvoice("ask", "take me home", "-c", str(config))
    assert result.returncode == 2 and "navigation.places" in result.stderr and "'Home!'" in result.stderr
