"""`carvoice dash`: the dashboard in headless Chromium against a real Mosquitto and simulated cars.

The screenshots land in the test's folder; with CARVOICE_DOCS_SCREENSHOTS=1 they also replace docs/dash.png and
docs/dash-fleet.png (what the README shows)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from assistant.config import CarvoiceConfig, FleetSettings, VehicleSettings
from assistant.dash.server import DashServer, TypedTurns
from assistant.voice.events import BusEventSink
from assistant.fleet.agent import ConfigAgent
from assistant.fleet.documents import SigningKey, public_key_text
from assistant.fleet.operator import FleetOperator
from assistant.fleet.simulator import wait_until
from assistant.voice.live import watch_push_to_talk_button
from assistant.engines import Engines
from assistant.runtime import build_dialogue
from intents.vehicle import BusVehicle
from tests.browser import Browser
from vehicle_bus.brokers import free_port
from vehicle_bus.client import BusClient
from vehicle_bus.protocol import ControlRequest

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent.parent / "docs"
CARVOICE = str(Path(sys.executable).with_name("carvoice"))
DRIVER_TEMPERATURE = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
FLEET_SIZE = 1000
REFUSING = {f"fleet-{n:04d}" for n in range(7, FLEET_SIZE, 100)}
"""Vehicles that cannot run the rolled-out config (1%: under the rollout's 5% halt threshold)."""


def text_of(signal: str) -> str:
    return f"document.querySelector('[data-sig=\"{signal}\"]').textContent"


def keep_screenshot(browser: Browser, folder: Path, name: str) -> None:
    png = browser.screenshot(folder / name)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000, "the screenshot is not a picture of the page"
    if os.environ.get("CARVOICE_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(folder / name, DOCS / name)


@pytest.fixture
def car(make_vehicle, bus, client):
    return BusVehicle(client, make_vehicle(bus).vehicle_id).start()


@pytest.fixture
def dash(car, bus):
    """The dashboard of ``car`` with its dialogue built as `carvoice ask` builds it."""
    config = CarvoiceConfig(bus=bus, vehicle=VehicleSettings(id=car.vehicle_id))
    ask = TypedTurns(build_dialogue(Engines(config), car), BusEventSink(car.client, car.vehicle_id))
    with DashServer(bus, car.vehicle_id, ask, port=0) as server:
        yield server


@pytest.fixture
def browser(tmp_path):
    opened = Browser(tmp_path / "chromium")
    yield opened
    opened.close()


def type_filter(browser: Browser, text: str) -> None:
    browser.evaluate(f"(() => {{ const box = document.getElementById('fleet-filter'); box.value = {json.dumps(text)}; "
                     "box.dispatchEvent(new Event('input')); })()")


def open_dash(browser: Browser, url: str) -> None:
    browser.open(url)
    browser.wait_for("document.body && document.body.dataset.ready === '1' && document.body.dataset.live === '1'", 30)


def test_the_page_shows_the_cabin_and_follows_a_change_made_over_the_bus(dash, browser, car, client):
    open_dash(browser, dash.url)
    assert browser.evaluate("document.getElementById('vehicle').textContent") == car.vehicle_id
    assert browser.evaluate(text_of(DRIVER_TEMPERATURE)) == "21.0 °C"
    assert browser.evaluate("document.getElementById('online').textContent") == "online"
    assert browser.evaluate("document.querySelectorAll('#zones .zone').length") == 4
    assert browser.evaluate("!!document.getElementById('map-car')"), "the car is not on the map"

    client.set(car.vehicle_id, DRIVER_TEMPERATURE, 25.5)
    changed = time.perf_counter()
    browser.wait_for(f"{text_of(DRIVER_TEMPERATURE)} === '25.5 °C'", timeout_s=10)
    print(f"bus -> page: {1000 * (time.perf_counter() - changed):.0f} ms (includes one DevTools poll)")
    client.control(car.vehicle_id, ControlRequest(set={"Vehicle.Cabin.Infotainment.Media.Volume": 70}))
    browser.wait_for("document.getElementById('volume-bar').getAttribute('width') === '70'", timeout_s=10)


def test_a_typed_sentence_runs_through_the_dialogue_and_shows_as_a_turn_with_its_actions(dash, browser, car, client,
                                                                                         tmp_path):
    open_dash(browser, dash.url)
    for number, sentence in enumerate(("turn on the AC and set it to 20", "play some jazz", "navigate to Augsburg"),
                                      start=1):
        browser.evaluate(f"document.getElementById('ask-text').value = {json.dumps(sentence)}; "
                         "document.getElementById('ask-send').click()")
        browser.wait_for(f"document.querySelectorAll('#turns .turn').length === {number} && "  # newest first
                         "document.querySelector('#turns .turn .reply').textContent && "
                         "!document.getElementById('ask-send').disabled", timeout_s=30)
    newest_first = browser.evaluate("[...document.querySelectorAll('#turns .turn')].map(t => t.innerText)")
    first = newest_first[-1]
    assert "turn on the AC and set it to 20" in first
    assert "set_air_conditioning" in first and "set_temperature" in first and "applied" in first
    assert "Temperature set to 20 degrees" in first
    assert "typed" in first and "play_media" in newest_first[1] and "navigate_to" in newest_first[0]
    assert car.state()[DRIVER_TEMPERATURE] == 20.0  # the car really changed
    browser.wait_for(f"{text_of(DRIVER_TEMPERATURE)} === '20.0 °C'")
    assert browser.evaluate(text_of("Vehicle.Cabin.HVAC.IsAirConditioningActive")) == "on"
    assert "Augsburg" in browser.evaluate("document.getElementById('ask-result').textContent")
    stages = browser.evaluate("[...document.querySelectorAll('#latency tbody tr')].map(r => r.dataset.stage)")
    assert stages == ["transcript", "intent", "vehicle_ack"]  # typed: no recognition, no voice
    assert browser.evaluate("document.querySelectorAll('#turns .turn .stagebar rect').length") >= 9

    browser.wait_for("document.getElementById('map-dest') && "
                     "document.getElementById('route-destination').textContent.includes('Augsburg')")
    assert "min" in browser.evaluate("document.getElementById('route-eta').textContent")
    for _ in range(3):  # the car drives: its track grows on the map
        before = car.state()["Vehicle.CurrentLocation.Longitude"]
        client.control(car.vehicle_id, ControlRequest(advance_s=300))
        browser.wait_for(f"document.getElementById('map-car').getAttribute('cx') && "
                         f"!document.querySelector('#map text:last-of-type').textContent.endsWith('{before:.4f}')")
    assert browser.evaluate("document.querySelector('#map .trail').getAttribute('points').split(' ').length") >= 3
    browser.wait_for("document.getElementById('media-track').textContent.length > 0")
    keep_screenshot(browser, tmp_path, "dash.png")


def test_push_to_talk_presses_the_steering_wheel_button_over_the_bus(dash, browser, car, client):
    presses = []
    unsubscribe = watch_push_to_talk_button(client, car.vehicle_id, lambda: presses.append(time.time()))
    try:
        open_dash(browser, dash.url)
        browser.evaluate("document.getElementById('ptt').click()")
        browser.wait_for("document.getElementById('ask-result').textContent.includes('push-to-talk pressed')")
        assert wait_until(lambda: len(presses) == 1, 5)
        assert car.state()["Vehicle.Private.Carvoice.PushToTalk.IsPressed"] is False  # pressed, then let go
    finally:
        unsubscribe()


def test_the_fleet_view_renders_a_thousand_vehicles_their_rollout_and_filters(bus, browser, tmp_path):
    key = SigningKey.generate()
    trusted = {key.key_id: public_key_text(key.public_key)}
    ids = [f"fleet-{n:04d}" for n in range(FLEET_SIZE)]
    with BusClient(bus) as vehicles_client, BusClient(bus) as operator_client, \
            DashServer(bus, "fleet-0000", port=0) as server:
        operator = FleetOperator(operator_client, "dashfleet", key)

        def agent(vehicle_id: str) -> ConfigAgent:  # a simulated vehicle's config agent; all share one connection
            local = CarvoiceConfig(fleet=FleetSettings(id="dashfleet", group=f"g{int(vehicle_id[-1]) % 3}",
                                                       trusted_keys=trusted))

            def apply(config: CarvoiceConfig, changed: list[str]) -> None:
                if vehicle_id in REFUSING and config.dialogue.idle_timeout_s == 45:
                    raise RuntimeError("the assistant cannot run this config here")

            return ConfigAgent(vehicles_client, vehicle_id, local, apply).start()

        with ThreadPoolExecutor(8) as pool:
            agents = list(pool.map(agent, ids))
        try:
            assert wait_until(lambda: len(operator.statuses) == FLEET_SIZE, 60)
            operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
            report = operator.rollout({"dialogue": {"idle_timeout_s": 45}}, 10, 0.05, (50,), wait_s=60)
            assert report.outcome == "completed"

            browser.open(server.url + "#fleet")
            count = browser.wait_for(f"document.querySelectorAll('#fleet-rows tr').length === {FLEET_SIZE} && "
                                     "document.getElementById('fleet-count').textContent", timeout_s=120)
            assert count == f"{FLEET_SIZE} vehicles"
            rollout = browser.wait_for("document.querySelector('#rollouts [data-fleet=\"dashfleet\"]')?.innerText")
            assert "version 2" in rollout and "completed" in rollout and "stable v2" in rollout
            assert "10% → 50% → 100%" in rollout and f"{FLEET_SIZE} vehicles" in rollout
            assert f"{FLEET_SIZE - len(REFUSING)} applied" in rollout and f"{len(REFUSING)} rejected" in rollout
            versions = browser.evaluate("[...document.querySelectorAll('#fleet-rows tr td:nth-child(4)')]"
                                        ".map(cell => cell.textContent)")
            assert versions.count("2") == FLEET_SIZE - len(REFUSING) and versions.count("1") == len(REFUSING)

            type_filter(browser, "fleet-0042")
            browser.wait_for("document.querySelectorAll('#fleet-rows tr').length === 1")
            assert browser.evaluate("document.querySelector('#fleet-rows tr').dataset.vehicle") == "fleet-0042"
            assert browser.evaluate("document.getElementById('fleet-count').textContent") == \
                f"1 of {FLEET_SIZE} vehicles"
            type_filter(browser, "g1")
            browser.wait_for("document.querySelectorAll('#fleet-rows tr').length === 300")
            type_filter(browser, "cannot run")  # the errors are shown, and found
            browser.wait_for(f"document.querySelectorAll('#fleet-rows tr').length === {len(REFUSING)}")
            rejected = browser.evaluate("[...document.querySelectorAll('#fleet-rows tr')].map(row => row.innerText)")
            assert all("rejected fleet v2" in row and "could not apply" in row for row in rejected)
            type_filter(browser, "")
            browser.wait_for(f"document.querySelectorAll('#fleet-rows tr').length === {FLEET_SIZE}")
            type_filter(browser, "rejected")  # the screenshot: the vehicles that need a look
            browser.wait_for(f"document.querySelectorAll('#fleet-rows tr').length === {len(REFUSING)}")
            keep_screenshot(browser, tmp_path, "dash-fleet.png")
        finally:
            for each in agents:
                each.stop()
            operator.close()


def test_a_token_guards_the_page_its_files_and_the_websocket(bus, make_vehicle, browser):
    car = make_vehicle(bus)
    with DashServer(bus, car.vehicle_id, port=0, token="s3cret-token") as server:
        base = f"http://127.0.0.1:{server.port}"
        for path in ("/", "/static/dash.js", "/api/state"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=5)
            assert refused.value.code == 401
        with urllib.request.urlopen(base + "/?token=s3cret-token", timeout=5) as page:
            assert "carvoice dash" in page.read().decode()
            assert "carvoice_dash=s3cret-token" in page.headers["Set-Cookie"]
            assert "HttpOnly" in page.headers["Set-Cookie"]
        request = urllib.request.Request(base + "/api/state", headers={"Authorization": "Bearer s3cret-token"})
        with urllib.request.urlopen(request, timeout=5) as state:
            assert json.load(state)["vehicle"] == car.vehicle_id

        ws_url = f"ws://127.0.0.1:{server.port}/ws"
        for url, headers in ((ws_url, {}), (ws_url + "?token=wrong", {})):
            with pytest.raises(InvalidStatus) as refused:
                connect(url, additional_headers=headers, open_timeout=5)
            assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as refused:  # a page on another site cannot drive the car
            connect(ws_url + "?token=s3cret-token", origin="http://evil.example", open_timeout=5)
        assert refused.value.response.status_code == 403
        with connect(ws_url + "?token=s3cret-token", open_timeout=5) as ws:
            snapshot = json.loads(ws.recv(timeout=5))
            assert snapshot["type"] == "snapshot" and snapshot["vehicle"] == car.vehicle_id
            ws.send(json.dumps({"type": "ask", "id": 7, "text": "warmer"}))
            answer = next(message for message in map(json.loads, iter(lambda: ws.recv(timeout=5), None))
                          if message["type"] == "ask")  # the bus's updates may come first
            assert answer == {"type": "ask", "id": 7, "ok": False, "error": "this dashboard is read-only (no dialogue)"}

        open_dash(browser, f"{base}/?token=s3cret-token")  # the page, its files and its WebSocket get through
        assert browser.evaluate("location.search") == "", "the token stays in the address bar"
        assert browser.evaluate(text_of(DRIVER_TEMPERATURE)) == "21.0 °C"

    with DashServer(bus, car.vehicle_id, port=0) as local:  # no token: localhost only, by name too
        request = urllib.request.Request(f"http://127.0.0.1:{local.port}/", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 403
        with urllib.request.urlopen(f"http://localhost:{local.port}/", timeout=5) as page:
            assert page.status == 200


def test_dash_command_exposed_with_listen_prints_a_token_it_then_requires(bus, make_vehicle):
    car = make_vehicle(bus)
    port = free_port("127.0.0.2")
    command = subprocess.Popen([CARVOICE, "dash", "--listen", "127.0.0.2", "--port", str(port), "-b", bus.url,
                                "-v", car.vehicle_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = command.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.2:\d+/)\?token=([\w-]+)", line)
        assert found, f"no URL with a token in {line!r}; stderr: {command.stderr.read() if command.poll() else ''}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(found[1], timeout=5)
        assert refused.value.code == 401
        with urllib.request.urlopen(f"{found[1]}api/state?token={found[2]}", timeout=5) as state:
            assert json.load(state)["vehicle"] == car.vehicle_id
    finally:
        command.terminate()
        assert command.wait(20) == 0


def test_dash_with_the_embedded_defaults_shows_a_live_simulated_car(browser, tmp_path):
    """`carvoice dash` and nothing else: an embedded broker and a simulated car of its own, running in real time."""
    environment = os.environ | {"CARVOICE_BUS__EMBEDDED_PORT": str(free_port()), "CARVOICE_SIM__STATE_DIR": str(tmp_path)}
    port = free_port()
    command = subprocess.Popen([CARVOICE, "dash", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment)
    try:
        line = command.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line and "vehicle car1 on embedded broker" in line, \
            f"{line!r}; stderr: {command.stderr.read() if command.poll() is not None else ''}"
        open_dash(browser, f"http://127.0.0.1:{port}/")
        assert browser.evaluate("document.getElementById('vehicle').textContent") == "car1"
        assert browser.evaluate("document.getElementById('online').textContent") == "online"
        browser.evaluate("document.getElementById('ask-text').value = 'open my window'; "
                         "document.getElementById('ask-send').click()")
        browser.wait_for(f"{text_of('Vehicle.Cabin.Door.Row1.DriverSide.Window.Position')} === '100 % open'", 30)
    finally:
        command.terminate()
        assert command.wait(20) == 0
