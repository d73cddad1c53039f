"""Fleet configuration against a real Mosquitto with TLS, passwords and per-vehicle ACLs: layering,
signatures, rejections, hot reload, offline convergence, staged rollout with automatic halt, rollback."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

from assistant.config import CarvoiceConfig, FleetSettings
from assistant.fleet.agent import ConfigAgent
from assistant.fleet.documents import (Rollout, SigningKey, fleet_topic, group_topic, new_document,
                                       public_key_text, status_topic, vehicle_topic)
from assistant.fleet.layers import effective
from assistant.fleet.operator import FleetOperator, RolloutError
from assistant.engines import Engines
from assistant.fleet.reload import HotReload
from assistant.fleet.simulator import SimulatedFleet
from intents.dialogue import Dialogue
from intents.llm import LlmSettings
from tests.helpers import CARVOICE, TEST_LLM, eventually, make_pki, readable_by_the_broker
from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings, TlsSettings

FLEET = "acme"
VEHICLES = [f"car-{n:04d}" for n in range(12)]
PASSWORD = "pw-{}"
ACL = f"""user operator
topic readwrite #

pattern readwrite vehicle/%u/#
pattern read fleet/{FLEET}/#
"""


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    """Mosquitto on TLS with a password per vehicle (user name = vehicle id) and the README's ACLs."""
    pki = tmp_path_factory.mktemp("fleet-pki")
    make_pki(pki)
    passwords = pki / "passwd"
    passwords.write_text("".join(f"{user}:{PASSWORD.format(user)}\n" for user in ["operator", *VEHICLES]))
    subprocess.run(["mosquitto_passwd", "-U", str(passwords)], check=True)
    (pki / "acl").write_text(ACL)
    readable_by_the_broker(pki)
    options = (f"allow_anonymous false\npassword_file {passwords}\nacl_file {pki / 'acl'}\n"
               f"cafile {pki / 'ca.crt'}\ncertfile {pki / 'server.crt'}\nkeyfile {pki / 'server.key'}")
    with MosquittoBroker(listener_options=options) as broker:
        yield broker, pki


def as_user(secure_broker, user: str) -> BusSettings:
    broker, pki = secure_broker
    return BusSettings(url=f"mqtts://127.0.0.1:{broker.port}", username=user, password=PASSWORD.format(user),
                       tls=TlsSettings(ca_file=pki / "ca.crt"), ack_timeout_s=5)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def operator(secure_broker, key):
    with BusClient(as_user(secure_broker, "operator")) as client:
        for topic in ["fleet/#", *(f"vehicle/{v}/config/#" for v in VEHICLES)]:
            clear_retained(client, topic)
        fleet_operator = FleetOperator(client, FLEET, key)
        yield fleet_operator
        fleet_operator.close()


def clear_retained(client: BusClient, topic_filter: str) -> None:
    found: queue.Queue[str] = queue.Queue()
    unsubscribe = client.subscribe(topic_filter, lambda message: found.put(message.topic) if message.payload else None)
    time.sleep(0.3)
    unsubscribe()
    while not found.empty():
        client.publish(found.get(), b"", retain=True)


def local_config(key: SigningKey, group: str | None = "berlin") -> CarvoiceConfig:
    return CarvoiceConfig(llm=LlmSettings(model=TEST_LLM), fleet=FleetSettings(
        id=FLEET, group=group, trusted_keys={key.key_id: public_key_text(key.public_key)}))


@pytest.fixture
def make_agent(secure_broker, key):
    started: list[tuple[BusClient, ConfigAgent]] = []

    def make(vehicle_id: str = VEHICLES[0], on_apply=None, state_file: Path | None = None,
             local: CarvoiceConfig | None = None) -> ConfigAgent:
        client = BusClient(as_user(secure_broker, vehicle_id)).connect()
        agent = ConfigAgent(client, vehicle_id, local or local_config(key), on_apply, state_file).start()
        started.append((client, agent))
        return agent

    yield make
    for client, agent in started:
        agent.stop()
        client.close()


def settled(agent: ConfigAgent, condition, timeout_s: float = 10) -> bool:
    return eventually(lambda: condition(agent), timeout_s)


def test_layers_merge_in_order_and_say_where_each_value_came_from():
    config, sources = effective({"local": {"vehicle": {"id": "car7"}, "dialogue": {"idle_timeout_s": 10}},
                                 "fleet": {"dialogue": {"idle_timeout_s": 20}, "live": {"mode": "push_to_talk"}},
                                 "group": {"live": {"wake_phrase": "hello car"}},
                                 "vehicle": {"live": {"mode": "wake_phrase"}}})
    assert config.dialogue.idle_timeout_s == 20 and config.live.mode == "wake_phrase"
    assert config.live.wake_phrase == "hello car" and config.vehicle.id == "car7"
    assert sources["dialogue.idle_timeout_s"] == "fleet" and sources["live.mode"] == "vehicle"
    assert sources["live.wake_phrase"] == "group" and sources["vehicle.id"] == "local"
    assert sources["live.end_ms"] == "default"
    local = CarvoiceConfig.model_validate({"bus": {"url": "mqtt://broker:1883", "password": "s3cret"}})
    kept, _ = effective({"local": local.model_dump(exclude_defaults=True), "fleet": {"live": {"end_ms": 500}}})
    assert kept.bus.password.get_secret_value() == "s3cret"  # secrets survive the merge


def test_layered_documents_apply_and_status_is_reported(operator, make_agent):
    agent = make_agent()
    operator.push({"dialogue": {"idle_timeout_s": 20}, "live": {"mode": "push_to_talk"}}, "fleet")
    operator.push({"live": {"wake_phrase": "hello car"}}, "group:berlin")
    operator.push({"live": {"mode": "wake_phrase"}}, f"vehicle:{agent.vehicle_id}")
    assert settled(agent, lambda a: a.versions() == {"fleet": 1, "group": 1, "vehicle": 1}), agent.last_status
    assert agent.config.live.mode == "wake_phrase" and agent.config.live.wake_phrase == "hello car"
    assert agent.config.dialogue.idle_timeout_s == 20 and agent.sources["live.mode"] == "vehicle"
    statuses = operator.vehicles(settle_s=0.5)
    assert statuses[agent.vehicle_id]["state"] == "applied"
    assert statuses[agent.vehicle_id]["applied"] == {"fleet": 1, "group": 1, "vehicle": 1}


def publish_raw(operator: FleetOperator, topic: str, payload: bytes) -> None:
    operator.client.publish(topic, payload, retain=True)


@pytest.mark.parametrize("tamper, reason", [
    ("unsigned", "not signed"),
    ("other key", "does not trust"),
    ("edited after signing", "signature does not match"),
    ("too new", "newer than this vehicle understands"),
    ("not json", "not valid JSON"),
    ("invalid setting", "live.end_ms"),
    ("bus settings", "local settings of each vehicle"),
    ("wrong target", "arrived on this vehicle's fleet topic"),
])
def test_bad_documents_are_rejected_with_a_reason_and_never_applied(tamper, reason, operator, make_agent, key):
    agent = make_agent()
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    assert settled(agent, lambda a: a.versions()["fleet"] == 1)
    good = new_document(FLEET, "fleet", 2, {"dialogue": {"idle_timeout_s": 99}})
    payload = {
        "unsigned": lambda: good.encode(),
        "other key": lambda: SigningKey.generate().sign(good).encode(),
        "edited after signing": lambda: key.sign(good).model_copy(
            update={"config": {"dialogue": {"idle_timeout_s": 1}}}).encode(),
        "too new": lambda: json.dumps(json.loads(key.sign(good).encode()) | {"schema": 9}).encode(),
        "not json": lambda: b"{version: 2",
        "invalid setting": lambda: key.sign(good.model_copy(update={"config": {"live": {"end_ms": -5}}})).encode(),
        "bus settings": lambda: json.dumps(json.loads(key.sign(good).encode()) | {
            "config": {"bus": {"url": "mqtt://evil:1883"}}}).encode(),
        "wrong target": lambda: key.sign(good.model_copy(update={"target": "group:berlin"})).encode(),
    }[tamper]()
    publish_raw(operator, fleet_topic(FLEET), payload)
    assert settled(agent, lambda a: a.last_status.get("state") == "rejected"), agent.last_status
    assert reason in " ".join(agent.last_status["errors"])
    assert agent.config.dialogue.idle_timeout_s == 30 and agent.versions()["fleet"] == 1


def test_hot_reload_switches_settings_at_once_and_the_llm_in_the_background(operator, make_agent, key, car, llm):
    dialogue = Dialogue(car, llm=llm)
    reload = HotReload(dialogue, Engines(local_config(key)).llm_for)
    agent = make_agent(on_apply=reload)
    operator.push({"dialogue": {"idle_timeout_s": 7}}, "fleet")
    assert settled(agent, lambda a: a.versions()["fleet"] == 1)
    assert dialogue.idle_timeout_s == 7 and dialogue.llm is llm
    operator.push({"dialogue": {"idle_timeout_s": 7}, "llm": {"max_calls": 2}}, "fleet")
    assert settled(agent, lambda a: a.versions()["fleet"] == 2)
    reload.loading.join(120)
    assert dialogue.llm is not llm and dialogue.llm.settings.max_calls == 2
    operator.push({"llm": {"enabled": False}}, "fleet")
    assert settled(agent, lambda a: a.versions()["fleet"] == 3)
    assert dialogue.llm is None and dialogue.idle_timeout_s == 60.0  # back to the default
    operator.push({"llm": {"model": "no-such-model"}}, "fleet")
    assert settled(agent, lambda a: a.last_status["state"] == "rejected")
    assert "no-such-model" in agent.last_status["errors"][0] and agent.versions()["fleet"] == 3


class SlowLoad:
    """The engine for LLM settings, checked as the real one is, whose load lasts until the test opens its gate."""

    def __init__(self, settings: LlmSettings):
        self.settings, self.checked = settings, Engines(CarvoiceConfig()).llm_for(settings)
        self.gate, self.started = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None

    def spec(self) -> None:
        self.checked.spec()

    def load(self) -> None:
        self.thread = threading.current_thread()
        self.started.set()
        assert self.gate.wait(60), "the test never let the load finish"

    def finish(self) -> None:
        """Let the load end, and wait until the reload has decided what to do with it."""
        self.gate.set()
        self.thread.join(60)


@pytest.mark.parametrize("later", [{"llm": {"enabled": False}}, {"llm": {"max_calls": 3}}],
                         ids=["llm-turned-off", "another-llm"])
def test_an_llm_load_that_finishes_after_a_later_change_is_discarded(later, operator, make_agent, car,
                                                                     test_registry):
    loads: list[SlowLoad] = []

    def slow_load(settings: LlmSettings) -> SlowLoad:
        loads.append(SlowLoad(settings))
        return loads[-1]

    dialogue = Dialogue(car)
    agent = make_agent(on_apply=HotReload(dialogue, slow_load))
    operator.push({"llm": {"max_calls": 2}}, "fleet")
    assert settled(agent, lambda a: a.versions()["fleet"] == 1) and loads[0].started.wait(10)
    operator.push(later, "fleet")  # applied while the first load is still running
    assert settled(agent, lambda a: a.versions()["fleet"] == 2)
    latest = None
    if len(loads) == 2:  # another model: its load is quick
        loads[1].finish()
        latest = loads[1]
    assert dialogue.llm is latest
    loads[0].finish()
    assert dialogue.llm is latest, "the load of an earlier config came back after a later change"
    assert (dialogue.llm.settings if dialogue.llm else None) == (agent.config.llm if agent.config.llm.enabled
                                                                 else None)  # the dialogue runs the applied config


def test_an_offline_vehicle_converges_when_it_reconnects_and_keeps_its_config_offline(operator, make_agent,
                                                                                     tmp_path, key):
    state = tmp_path / "fleet-config.json"
    first = make_agent(state_file=state)
    operator.push({"dialogue": {"idle_timeout_s": 11}}, "fleet")
    assert settled(first, lambda a: a.versions()["fleet"] == 1)
    first.stop()
    first.client.close()
    operator.push({"dialogue": {"idle_timeout_s": 12}}, "fleet")  # while the car is off
    offline = ConfigAgent(BusClient(BusSettings(url="mqtt://127.0.0.1:9")), VEHICLES[0], local_config(key),
                          state_file=state)
    assert offline.config.dialogue.idle_timeout_s == 11  # the last config it applied, with no broker
    again = make_agent(state_file=state)
    assert settled(again, lambda a: a.versions()["fleet"] == 2)
    assert again.config.dialogue.idle_timeout_s == 12


def simulated_fleet(secure_broker, key, refusing: set[str] = frozenset()) -> SimulatedFleet:
    return SimulatedFleet(as_user(secure_broker, VEHICLES[0]), FLEET, {key.key_id: public_key_text(key.public_key)},
                          VEHICLES, credentials=lambda v: as_user(secure_broker, v),
                          refuses=lambda v, config: v in refusing and config.dialogue.idle_timeout_s == 45)


def test_staged_rollout_halts_on_rejections_and_the_canary_returns_to_stable(operator, secure_broker, key):
    refusing = set(VEHICLES[::2])
    with simulated_fleet(secure_broker, key, refusing).start() as fleet:
        operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
        assert eventually(lambda: set(fleet.versions().values()) == {1}, 20)
        assert eventually(lambda: len(operator.statuses) == len(VEHICLES), 10)
        report = operator.rollout({"dialogue": {"idle_timeout_s": 45}}, canary_percent=50, halt_on_reject=0.05,
                                  wait_s=20)
        assert report.outcome == "halted" and report.stages[0].rejected > 0
        assert eventually(lambda: set(fleet.versions().values()) == {1}, 20), fleet.versions()
        assert all(agent.config.dialogue.idle_timeout_s == 30 for agent in fleet.agents.values())


def test_rollout_completes_then_rolls_back_and_an_interrupted_one_resumes(operator, secure_broker, key):
    with simulated_fleet(secure_broker, key).start() as fleet:
        operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
        assert eventually(lambda: len(operator.statuses) == len(VEHICLES), 10)
        report = operator.rollout({"dialogue": {"idle_timeout_s": 45}}, 25, 0.05, (50,), wait_s=20)
        assert report.outcome == "completed" and [s.percent for s in report.stages] == [25, 50, 100]
        assert eventually(lambda: set(fleet.versions().values()) == {2}, 20)
        assert "re-issues version 1" in operator.rollback()
        assert eventually(lambda: set(fleet.versions().values()) == {3}, 20)
        assert all(agent.config.dialogue.idle_timeout_s == 30 for agent in fleet.agents.values())
        # an operator that died after its canary stage: the rollout waits on the broker
        canary = key.sign(new_document(FLEET, "fleet", 4, {"dialogue": {"idle_timeout_s": 50}}, Rollout(percent=25)))
        operator.client.publish(f"fleet/{FLEET}/config/next", canary.encode(), retain=True)
        with pytest.raises(RolloutError, match="in progress"):
            operator.push({"dialogue": {"idle_timeout_s": 1}}, "fleet")
        resumed = operator.rollout(None, 25, 0.05, wait_s=20, resume=True)
        assert resumed.outcome == "completed" and resumed.version == 4
        assert eventually(lambda: set(fleet.versions().values()) == {4}, 20)


def test_a_vehicle_cannot_write_another_vehicles_or_the_fleets_topics(operator, secure_broker, make_agent, key):
    victim = make_agent(VEHICLES[1])
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    assert settled(victim, lambda a: a.versions()["fleet"] == 1)
    seen: queue.Queue[str] = queue.Queue()
    operator.client.subscribe(f"vehicle/{VEHICLES[1]}/#", lambda message: seen.put(message.topic))
    time.sleep(0.5)
    while not seen.empty():
        seen.get()
    forged = key.sign(new_document(FLEET, f"vehicle:{VEHICLES[1]}", 1, {"llm": {"enabled": False}}))
    with BusClient(as_user(secure_broker, VEHICLES[2])) as attacker:
        attacker.publish(vehicle_topic(VEHICLES[1]), forged.encode(), retain=True)
        attacker.publish(status_topic(VEHICLES[1]), b'{"fleet": "acme", "vehicle": "car-0001", "state": "x"}')
        attacker.publish(fleet_topic(FLEET), forged.encode(), retain=True)
        attacker.publish(group_topic(FLEET, "berlin"), forged.encode(), retain=True)
        time.sleep(1.0)
    assert seen.empty(), f"the broker let another vehicle write {seen.get()}"
    assert victim.config.llm.enabled and victim.versions() == {"fleet": 1, "group": None, "vehicle": None}
    assert operator.retained(fleet_topic(FLEET)).version == 1


def test_fleet_commands_sign_push_show_and_report(operator, make_agent, secure_broker, tmp_path):
    broker, pki = secure_broker
    key_file = tmp_path / "fleet.key"
    made = subprocess.run([CARVOICE, "fleet", "keygen", "--out", str(key_file)], capture_output=True, text=True)
    assert made.returncode == 0 and oct(key_file.stat().st_mode)[-3:] == "600"
    signing = SigningKey.load(key_file)
    agent = make_agent(local=local_config(signing))
    operator_config = tmp_path / "operator.yaml"
    operator_config.write_text(f"bus: {{url: 'mqtts://127.0.0.1:{broker.port}', username: operator, password: "
                               f"'{PASSWORD.format('operator')}', tls: {{ca_file: '{pki / 'ca.crt'}'}}}}\n"
                               f"fleet: {{id: {FLEET}}}\n")
    settings = tmp_path / "quiet.yaml"
    settings.write_text("live: {mode: push_to_talk}\n")
    pushed = subprocess.run([CARVOICE, "fleet", "push", str(settings), "--target", "group:berlin", "--key",
                             str(key_file), "-c", str(operator_config)], capture_output=True, text=True, timeout=60)
    assert pushed.returncode == 0 and "group:berlin version 1" in pushed.stdout, pushed.stderr
    assert settled(agent, lambda a: a.config.live.mode == "push_to_talk")
    status = subprocess.run([CARVOICE, "fleet", "status", "--json", "-c", str(operator_config)], capture_output=True,
                            text=True, timeout=60)
    assert json.loads(status.stdout)[agent.vehicle_id]["applied"]["group"] == 1
    vehicle_config = tmp_path / "car.yaml"
    vehicle_config.write_text(operator_config.read_text().replace("username: operator", f"username: {VEHICLES[0]}")
                              .replace(PASSWORD.format("operator"), PASSWORD.format(VEHICLES[0]))
                              .replace(f"fleet: {{id: {FLEET}}}", f"fleet: {{id: {FLEET}, group: berlin, trusted_keys: "
                                       f"{{{signing.key_id}: '{public_key_text(signing.public_key)}'}}}}\n"
                                       f"vehicle: {{id: {VEHICLES[0]}}}"))
    shown = subprocess.run([CARVOICE, "config", "show", "--effective", "--json", "-c", str(vehicle_config)],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    settings_shown = json.loads(shown.stdout)["settings"]
    assert settings_shown["live.mode"] == {"value": "push_to_talk", "source": "group"}
    assert settings_shown["fleet.group"]["source"] == "local" and settings_shown["live.end_ms"]["source"] == "default"
    bad = subprocess.run([CARVOICE, "fleet", "push", str(settings), "--target", "galaxy", "--key", str(key_file),
                          "-c", str(operator_config)], capture_output=True, text=True)
    assert bad.returncode == 2 and "use fleet, group:NAME or vehicle:ID" in bad.stderr
