"""Fleet trust against a real Mosquitto: status reports count for the vehicle their topic names, the operator
re-signs only what a trusted key signed, a withdrawal reaches vehicles that were off, saved documents are
checked again on start, and keys rotate (added, then revoked; never none left)."""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from pathlib import Path

import pytest

from assistant.config import CarvoiceConfig, FleetSettings
from assistant.fleet.agent import ConfigAgent
from assistant.fleet.documents import (DocumentError, KeyChange, Rollout, SigningKey, fleet_topic, history_topic,
                                       new_document, next_topic, public_key_text, status_topic, vehicle_topic)
from assistant.fleet.operator import FleetOperator
from tests.helpers import CARVOICE, eventually
from vehicle_bus.client import BusClient
from vehicle_bus.settings import BusSettings

NO_BROKER = BusSettings(url="mqtt://127.0.0.1:9")
"""Where a vehicle that starts offline looks for its broker."""


@pytest.fixture
def fleet_id() -> str:
    """A fleet of its own for each test, so the shared broker's retained documents of others do not matter."""
    return f"trust-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def operator(client, fleet_id, key):
    fleet_operator = FleetOperator(client, fleet_id, key)
    yield fleet_operator
    fleet_operator.close()


def trusting(fleet_id: str, *keys: SigningKey) -> CarvoiceConfig:
    """A vehicle's local file: its fleet, and the keys it trusts at first (the root)."""
    return CarvoiceConfig(fleet=FleetSettings(id=fleet_id, trusted_keys={k.key_id: public_key_text(k.public_key)
                                                                         for k in keys}))


@pytest.fixture
def make_agent(bus, fleet_id, key):
    """Config agents, each on its own connection; all stopped after the test."""
    started: list[ConfigAgent] = []

    def make(vehicle_id: str | None = None, state_file: Path | None = None) -> ConfigAgent:
        agent = ConfigAgent(BusClient(bus).connect(), vehicle_id or f"car-{uuid.uuid4().hex[:8]}",
                            trusting(fleet_id, key), state_file=state_file).start()
        started.append(agent)
        return agent

    yield make
    for agent in started:
        agent.stop()
        agent.client.close()


def applied(agent: ConfigAgent, fleet_version: int, idle_timeout_s: float) -> bool:
    return eventually(lambda: agent.versions()["fleet"] == fleet_version
                      and agent.config.dialogue.idle_timeout_s == idle_timeout_s, 10)


def rejected(agent: ConfigAgent, target: str, version: int, reason: str) -> bool:
    """Whether the agent reports rejecting that document, for that reason."""
    return eventually(lambda: agent.last_status.get("state") == "rejected" and agent.last_status["target"] == target
                      and agent.last_status["version"] == version and reason in " ".join(agent.last_status["errors"]),
                      10)


def test_a_status_report_counts_only_for_the_vehicle_its_topic_names(operator, make_agent, fleet_id, bus, caplog):
    caplog.set_level(logging.WARNING, logger="assistant.fleet.operator")
    victim = make_agent()
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    assert eventually(lambda: (operator.statuses.get(victim.vehicle_id, {}).get("applied") or {}).get("fleet") == 1,
                      10)
    attacker = f"car-{uuid.uuid4().hex[:8]}"
    forged = {"vehicle": victim.vehicle_id, "fleet": fleet_id, "state": "rejected", "version": 1, "target": "fleet",
              "errors": ["forged"], "applied": {"fleet": None, "group": None, "vehicle": None}}
    with BusClient(bus) as forger:  # on its own status topic: the only one the broker's ACL lets it write
        forger.publish(status_topic(attacker), json.dumps(forged), retain=True)
        forger.publish(status_topic(attacker), json.dumps(forged | {"vehicle": attacker}), retain=True)
        assert eventually(lambda: attacker in operator.statuses, 10)  # its own report, sent after the forged one
    assert operator.statuses[victim.vehicle_id]["state"] == "applied"
    assert f"claims to be from vehicle '{victim.vehicle_id}'" in caplog.text


@pytest.mark.parametrize("forgery", ["unsigned", "other key"])
@pytest.mark.parametrize("source", ["history", "rollout"])
def test_the_operator_re_signs_only_what_a_trusted_key_signed(source, forgery, operator, fleet_id, client):
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    operator.push({"dialogue": {"idle_timeout_s": 40}}, "fleet")
    planted = new_document(fleet_id, "fleet", 1 if source == "history" else 3, {"llm": {"enabled": False}},
                           Rollout(percent=10) if source == "rollout" else None)
    payload = planted.encode() if forgery == "unsigned" else SigningKey.generate().sign(planted).encode()
    topic = history_topic(fleet_id, 1) if source == "history" else next_topic(fleet_id)
    client.publish(topic, payload, retain=True)  # by anyone who can write that topic
    with pytest.raises(DocumentError, match=f"refusing to re-sign version {planted.version} from {topic}: "
                                            f"(the document is not signed|signed with key .* does not trust)"):
        if source == "history":
            operator.rollback()
        else:
            operator.rollout(None, 10, 0.05, wait_s=1, resume=True)
    stable = operator.retained(fleet_topic(fleet_id))
    assert stable.version == 2 and stable.config == {"dialogue": {"idle_timeout_s": 40}}


def test_a_rollout_withdrawn_while_a_vehicle_was_off_is_dropped_when_it_returns(operator, make_agent, fleet_id,
                                                                                key, tmp_path):
    state = tmp_path / "fleet-config.json"
    car = make_agent(state_file=state)
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    canary = key.sign(new_document(fleet_id, "fleet", 2, {"dialogue": {"idle_timeout_s": 45}}, Rollout(percent=100)))
    operator.client.publish(next_topic(fleet_id), canary.encode(), retain=True)  # a rollout in progress
    assert applied(car, 2, 45)
    car.stop()
    car.client.close()  # the car is switched off
    assert "withdrawn" in operator.rollback()
    operator.retained(next_topic(fleet_id))  # the broker has the withdrawal before the car comes back
    again = make_agent(car.vehicle_id, state_file=state)
    assert applied(again, 1, 30), again.last_status
    assert "next" not in json.loads(state.read_text())
    offline = ConfigAgent(BusClient(NO_BROKER), car.vehicle_id, trusting(fleet_id, key), state_file=state)
    assert offline.config.dialogue.idle_timeout_s == 30 and offline.versions()["fleet"] == 1


@pytest.mark.parametrize("tamper, reason", [
    ("edited on disk", "signature does not match"),
    ("other key", "does not trust"),
    ("for another vehicle", "arrived on this vehicle's vehicle topic"),
])
def test_saved_documents_are_checked_again_when_the_vehicle_starts(tamper, reason, fleet_id, key, tmp_path):
    stable = key.sign(new_document(fleet_id, "fleet", 1, {"dialogue": {"idle_timeout_s": 30}}))
    own = new_document(fleet_id, "vehicle:car-self", 1, {"dialogue": {"idle_timeout_s": 99}})
    planted = {
        "edited on disk": lambda: key.sign(own.model_copy(update={"config": {}})).model_copy(
            update={"config": own.config}),
        "other key": lambda: SigningKey.generate().sign(own),
        "for another vehicle": lambda: key.sign(own.model_copy(update={"target": "vehicle:car-other"})),
    }[tamper]()
    state = tmp_path / "fleet-config.json"
    state.write_text(json.dumps({slot: document.model_dump(by_alias=True, mode="json")
                                 for slot, document in {"fleet": stable, "vehicle": planted}.items()}))
    agent = ConfigAgent(BusClient(NO_BROKER), "car-self", trusting(fleet_id, key), state_file=state)
    assert agent.config.dialogue.idle_timeout_s == 30 and set(agent.documents) == {"fleet"}
    assert reason in agent.rejections[0]


def test_keys_rotate_end_to_end_and_a_revoked_key_signs_nothing_more(operator, make_agent, fleet_id, key, client,
                                                                     mosquitto, tmp_path):
    state = tmp_path / "fleet-config.json"
    car = make_agent(state_file=state)
    operator.push({"dialogue": {"idle_timeout_s": 30}}, "fleet")
    assert applied(car, 1, 30)
    new = SigningKey.generate()
    old_key_file, operator_config = tmp_path / "old.key", tmp_path / "operator.yaml"
    key.save(old_key_file)
    operator_config.write_text(f"bus: {{url: '{mosquitto.url}'}}\nfleet: {{id: {fleet_id}}}\n")
    added = subprocess.run([CARVOICE, "fleet", "trust", "--add", public_key_text(new.public_key), "--key",
                            str(old_key_file), "-c", str(operator_config)], capture_output=True, text=True, timeout=60)
    assert added.returncode == 0 and "fleet version 2" in added.stdout, added.stderr
    assert eventually(lambda: car.trusted_keys().keys() == {key.key_id, new.key_id}, 10), car.last_status
    successor = FleetOperator(client, fleet_id, new, trusting(fleet_id, key).fleet.trusted_keys)
    try:
        with pytest.raises(DocumentError, match="cannot revoke itself"):
            successor.trust([], [new.key_id])
        successor.trust([], [key.key_id])  # signed by the new key
        assert eventually(lambda: car.trusted_keys().keys() == {new.key_id}, 10)
        successor.push({"dialogue": {"idle_timeout_s": 45}}, "fleet")
        assert applied(car, 4, 45)
    finally:
        successor.close()
    newcomer = make_agent()  # off during the rotation, trusting the old key only: follows the changes
    assert applied(newcomer, 4, 45) and newcomer.trusted_keys().keys() == {new.key_id}

    with pytest.raises(DocumentError, match=f"the fleet does not trust key {key.key_id}"):
        operator.trust([public_key_text(SigningKey.generate().public_key)], [])
    client.publish(vehicle_topic(car.vehicle_id),
                   key.sign(new_document(fleet_id, f"vehicle:{car.vehicle_id}", 1, {"llm": {"enabled": False}}))
                   .encode(), retain=True)
    untrusted = f"signed with key {key.key_id}, which this vehicle does not trust"
    assert rejected(car, f"vehicle:{car.vehicle_id}", 1, untrusted)
    operator.push({"dialogue": {"idle_timeout_s": 5}}, "fleet")  # the old key, with the fleet's key changes
    assert rejected(car, "fleet", 5, untrusted)

    stable = operator.retained(history_topic(fleet_id, 4))
    emptied = new.sign(KeyChange(fleet=fleet_id, serial=3, revoke=[new.key_id]))
    client.publish(fleet_topic(fleet_id), new.sign(new_document(fleet_id, "fleet", 6, stable.config,
                                                                keys=[*stable.keys, emptied])).encode(), retain=True)
    assert rejected(car, "fleet", 6, "key change 3 would leave no trusted key")
    cleared = json.loads(new.sign(new_document(fleet_id, "fleet", 6, {})).encode()) | {
        "config": {"fleet": {"trusted_keys": {}}}}
    client.publish(fleet_topic(fleet_id), json.dumps(cleared), retain=True)
    assert rejected(car, "fleet", 6, "fleet: local settings of each vehicle")
    assert car.versions()["fleet"] == 4 and car.config.dialogue.idle_timeout_s == 45 and car.config.llm.enabled
    restarted = ConfigAgent(BusClient(NO_BROKER), car.vehicle_id, trusting(fleet_id, key), state_file=state)
    assert restarted.trusted_keys().keys() == {new.key_id} and restarted.config.dialogue.idle_timeout_s == 45
