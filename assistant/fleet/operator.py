"""The fleet operator's side: push signed documents, read the vehicles' reports, stage a rollout with a
canary and an automatic halt, roll back, and change the keys the fleet trusts. All state lives in retained
messages on the broker, so an interrupted rollout can be resumed or rolled back from any machine with the
signing key; what the operator reads back from the broker it re-signs only if a trusted key signed it."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.fleet.documents import (ConfigDocument, DocumentError, KeyChange, Rollout, SigningKey,
                                       fleet_topic,
                                       group_topic, history_topic, in_rollout, key_id_of, new_document,
                                       next_topic, public_key_text, trusted_after, vehicle_topic, verify)
from vehicle_bus.client import BusClient, BusMessage

log = logging.getLogger(__name__)
STATUS_FILTER = "vehicle/+/config/status"


class RolloutError(RuntimeError):
    """A rollout that cannot start or go on (another in progress, nothing to roll back to...)."""


@dataclass
class StageReport:
    percent: float
    vehicles: int
    applied: int
    rejected: int
    missing: int
    seconds: float

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.vehicles if self.vehicles else 0.0


@dataclass
class RolloutReport:
    version: int
    stages: list[StageReport] = field(default_factory=list)
    outcome: str = "in progress"
    """completed, halted (rolled back), or timed out (left in place: resume or roll back)."""
    seconds: float = 0.0


class FleetOperator:
    """``trusted_keys``: the vehicles' root keys (the operator's config ``fleet.trusted_keys``); the
    operator's own key is trusted too, and the fleet's key changes apply to both."""

    def __init__(self, client: BusClient, fleet_id: str, key: SigningKey | None = None,
                 trusted_keys: dict[str, str] | None = None):
        self.client, self.fleet_id, self.key = client, fleet_id, key
        self.root = dict(trusted_keys or {}) | ({key.key_id: public_key_text(key.public_key)} if key else {})
        self.statuses: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._unsubscribe = client.subscribe(STATUS_FILTER, self._on_status)

    def close(self) -> None:
        self._unsubscribe()

    def _on_status(self, message: BusMessage) -> None:
        """File a report under the vehicle its topic names (the broker lets a vehicle write only its own)."""
        vehicle_id = message.topic.split("/")[1]
        try:
            status = json.loads(message.payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        if not (isinstance(status, dict) and status.get("fleet") == self.fleet_id):
            return
        if status.get("vehicle") != vehicle_id:
            log.warning("ignored a status report on %s that claims to be from vehicle %r", message.topic,
                        status.get("vehicle"))
            return
        with self._changed:
            self.statuses[vehicle_id] = status
            self._changed.notify_all()

    # -- reading the broker's retained state ----------------------------------------------------------------
    def retained(self, topic: str, timeout_s: float = 1.0) -> ConfigDocument | None:
        """The document retained on ``topic`` (None if there is none)."""
        found: list[bytes] = []
        arrived = threading.Event()

        def keep(message: BusMessage) -> None:
            found.append(message.payload)
            arrived.set()

        unsubscribe = self.client.subscribe(topic, keep)
        arrived.wait(timeout_s)
        unsubscribe()
        return ConfigDocument.decode(found[0]) if found and found[0] else None

    def _fleet_state(self) -> tuple[ConfigDocument | None, ConfigDocument | None]:
        """The stable fleet document and the next topic's (a rollout in progress, or the last withdrawal)."""
        return self.retained(fleet_topic(self.fleet_id)), self.retained(next_topic(self.fleet_id))

    def trusted_keys(self, stable: ConfigDocument | None) -> dict[str, str]:
        """The keys the operator accepts signatures from: its root, changed by the fleet's key changes."""
        return trusted_after(self.root, stable.keys if stable else [], self.fleet_id)

    def _verified(self, document: ConfigDocument, topic: str,
                  stable: ConfigDocument | None) -> ConfigDocument:
        """``document``, read back from ``topic`` to be re-signed, if a trusted key signed it as this
        fleet's."""
        try:
            if document.fleet != self.fleet_id or document.target != "fleet" or document.withdrawn:
                raise DocumentError(f"it is a {document.fleet}/{document.target} document, not a "
                                    f"{self.fleet_id}/fleet config")
            verify(document, self.trusted_keys(stable), "the operator")
        except DocumentError as exc:
            raise DocumentError("refusing to re-sign version "
                                f"{document.version} from {topic}: {exc}") from None
        return document

    def topic_of(self, target: str) -> str:
        kind, _, name = target.partition(":")
        return {"fleet": fleet_topic(self.fleet_id), "group": group_topic(self.fleet_id, name),
                "vehicle": vehicle_topic(name)}[kind]

    def vehicles(self, settle_s: float = 1.0) -> dict[str, dict[str, Any]]:
        """Every vehicle of the fleet that has reported, with its last report (retained statuses)."""
        time.sleep(settle_s)
        with self._changed:
            return dict(self.statuses)

    # -- pushing ---------------------------------------------------------------------------------------------
    def _signed(self, document: ConfigDocument) -> ConfigDocument:
        if self.key is None:
            raise DocumentError("no signing key given (--key)")
        return self.key.sign(document)

    def _retain(self, topic: str, document: ConfigDocument, attempts: int = 3) -> ConfigDocument:
        """Publish ``document`` retained on ``topic`` and read it back, so it is on the broker when this
        returns (a closing connection can drop a publish still in flight; a broker drops one its ACL forbids).
        A broker that restarted meanwhile may have lost it: then it is published again."""
        for _attempt in range(attempts):
            connection = self.client.connections
            self.client.publish(topic, document.encode(), retain=True)
            if self.retained(topic, 5.0) == document:
                return document
            if self.client.is_connected and self.client.connections == connection:
                break  # the same connection throughout: the broker refused it
            log.warning("the broker lost the document on %s (it restarted); publishing it again", topic)
        raise RolloutError(f"the broker did not keep the document on {topic} (may this user "
                           "write it? is the broker up?)")

    def push(self, config: dict[str, Any], target: str) -> ConfigDocument:
        """A new version of ``target``'s layer, signed and retained."""
        if target == "fleet":
            stable, latest = self._idle()
            return self._publish_stable(config, stable, _next_version(stable, latest))
        topic = self.topic_of(target)
        current = self.retained(topic)
        return self._retain(topic, self._signed(new_document(self.fleet_id, target,
                                                             1 + (current.version if current else 0),
                                                             config)))

    def _idle(self) -> tuple[ConfigDocument | None, ConfigDocument | None]:
        """The fleet state, when no rollout is in progress."""
        stable, latest = self._fleet_state()
        if _in_progress(latest):
            raise RolloutError(f"a rollout of version {latest.version} is in progress; "
                               "resume it or roll it back")
        return stable, latest

    def _publish_stable(self, config: dict[str, Any], stable: ConfigDocument | None, version: int,
                        change: KeyChange | None = None) -> ConfigDocument:
        """Stable fleet ``version`` replacing ``stable``: ``config`` with the fleet's key changes (and
        ``change``), signed and retained; ``stable`` is kept in history."""
        keys = [*(stable.keys if stable else []), *([change] if change else [])]
        document = self._signed(new_document(self.fleet_id, "fleet", version, config, keys=keys))
        if stable:
            self._retain(history_topic(self.fleet_id, stable.version), stable)
        return self._retain(fleet_topic(self.fleet_id), document)

    def trust(self, add: list[str], revoke: list[str]) -> ConfigDocument:
        """A new stable fleet version, settings unchanged, whose key change (signed by this operator's key)
        starts trusting the public keys ``add`` and stops trusting the key ids ``revoke``."""
        if self.key is None:
            raise DocumentError("no signing key given (--key)")
        for key in add:
            key_id_of(key)  # a malformed key is refused here, with its text
        stable, latest = self._idle()
        known = stable.keys if stable else []
        trusted = self.trusted_keys(stable)
        if self.key.key_id not in trusted:
            raise DocumentError(f"the fleet does not trust key {self.key.key_id}; sign with one it trusts "
                                f"({', '.join(trusted)})")
        if self.key.key_id in revoke:  # so the fleet always keeps a key: the one signing this change
            raise DocumentError(f"key {self.key.key_id} cannot revoke itself: trust the new key first, then "
                                "revoke the old one with a change signed by the new one")
        if unknown := sorted(set(revoke) - trusted.keys()):
            raise DocumentError(f"cannot revoke {', '.join(unknown)}: the trusted keys are "
                                f"{', '.join(trusted)} "
                                "(the vehicles' root keys come from fleet.trusted_keys "
                                "in the operator's config)")
        change = self.key.sign(KeyChange(fleet=self.fleet_id, serial=len(known) + 1, add=add, revoke=revoke))
        return self._publish_stable(stable.config if stable else {}, stable, _next_version(stable, latest),
                                    change)

    # -- staged rollout --------------------------------------------------------------------------------------
    def rollout(self, config: dict[str, Any] | None, canary_percent: float, halt_on_reject: float,
                stages: tuple[float, ...] = (), wait_s: float = 60.0, resume: bool = False,
                progress: Callable[[StageReport], None] | None = None) -> RolloutReport:
        """Stage a fleet document: ``canary_percent`` of the vehicles first, then each of ``stages``
        (percent), then everyone. After each stage, wait until every vehicle in it has reported on this
        version; if more than ``halt_on_reject`` (a fraction) rejected it, withdraw it (the vehicles return to
        the stable version) and stop. ``resume`` continues the rollout left on the broker, if a trusted key
        signed it."""
        start = time.perf_counter()
        stable, latest = self._fleet_state()
        pending = latest if _in_progress(latest) else None
        if pending and not resume:
            raise RolloutError(f"a rollout of version {pending.version} is in progress: use --resume or "
                               "'carvoice fleet rollback'")
        if resume:
            if not pending:
                raise RolloutError("there is no rollout in progress to resume")
            pending = self._verified(pending, next_topic(self.fleet_id), stable)
            config, version, done = pending.config, pending.version, pending.rollout.percent
        else:
            if config is None:
                raise RolloutError("no config to roll out")
            version, done = _next_version(stable, latest), 0.0
        report = RolloutReport(version)
        plan = sorted({p for p in (canary_percent, *stages, 100.0) if p > done}
                      | ({done} if resume else set()))
        for percent in plan:
            connection = self.client.connections
            document = self._retain(next_topic(self.fleet_id), self._signed(
                new_document(self.fleet_id, "fleet", version, config, Rollout(percent=percent))))
            stage = self._await_stage(document, wait_s, connection)
            stage.seconds = time.perf_counter() - start
            report.stages.append(stage)
            if progress:
                progress(stage)
            if stage.reject_rate > halt_on_reject:
                self.withdraw(version)
                report.outcome = "halted"
                break
            if stage.missing:
                report.outcome = "timed out"
                break
        else:
            self._publish_stable(config, stable, version)
            self.withdraw(version)
            report.outcome = "completed"
        report.seconds = time.perf_counter() - start
        return report

    def _await_stage(self, document: ConfigDocument, wait_s: float, connection: int) -> StageReport:
        """Wait until every vehicle in the stage of ``document`` has reported on it (or ``wait_s`` passed). A
        broker that restarted since ``connection`` may have lost the document before every vehicle had it:
        it is retained again (vehicles that have it ignore it)."""
        version, percent = document.version, document.rollout.percent
        deadline = time.monotonic() + wait_s
        while True:
            with self._changed:
                cohort = [v for v in self.statuses if in_rollout(v, percent)]
                answered = {v: self.statuses[v] for v in cohort if _reported(self.statuses[v], version)}
                remaining = deadline - time.monotonic()
                if len(answered) == len(cohort) or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
            if self.client.connections != connection and self.client.is_connected:
                connection = self.client.connections
                log.warning("reconnected to the broker during the %g%% stage: retaining its document again",
                            percent)
                self._retain(next_topic(self.fleet_id), document)
        rejected = sum(1 for status in answered.values() if status["state"] == "rejected")
        return StageReport(percent, len(cohort), len(answered) - rejected, rejected,
                           len(cohort) - len(answered), 0)

    def withdraw(self, version: int) -> None:
        """End the rollout of ``version`` with a signed withdrawal, retained for vehicles that are offline;
        vehicles in it go back to the stable fleet document and forget the rollout."""
        self._retain(next_topic(self.fleet_id), self._signed(new_document(self.fleet_id, "fleet", version, {},
                                                                           withdrawn=True)))

    def rollback(self) -> str:
        """Abort a rollout in progress, or else re-issue the previous stable fleet document (if a trusted key
        signed it) as a new version."""
        stable, latest = self._fleet_state()
        if _in_progress(latest):
            self.withdraw(latest.version)
            return "rollout withdrawn; vehicles return to the stable version"
        if not stable or stable.version < 2:
            raise RolloutError("there is no earlier fleet version to roll back to")
        found = next(((topic, doc) for v in range(stable.version - 1, 0, -1)
                      if (doc := self.retained(topic := history_topic(self.fleet_id, v), 0.5))), None)
        if found is None:
            raise RolloutError(f"no history of the versions before {stable.version} on the broker")
        previous = self._verified(found[1], found[0], stable)
        document = self._publish_stable(previous.config, stable, _next_version(stable, latest))
        return f"version {document.version} re-issues version {previous.version}'s config"


def _next_version(stable: ConfigDocument | None, latest: ConfigDocument | None) -> int:
    """A fleet version never used before: not by the stable document, nor by a rollout (withdrawn or not)."""
    return 1 + max(document.version if document else 0 for document in (stable, latest))


def _in_progress(document: ConfigDocument | None) -> bool:
    """Whether the next topic's document is a rollout (not a withdrawal)."""
    return document is not None and not document.withdrawn


def _reported(status: dict[str, Any], version: int) -> bool:
    """Whether a vehicle's report is about this fleet version: it runs it, or it rejected it."""
    if status.get("state") == "rejected":
        return status.get("version") == version and status.get("target") == "fleet"
    return (status.get("applied") or {}).get("fleet") == version
