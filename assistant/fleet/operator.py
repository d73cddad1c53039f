"""The fleet operator's side: push signed documents, read the vehicles' reports, stage a rollout with a
canary and an automatic halt, and roll back. All state lives in retained messages on the broker, so
an interrupted rollout can be resumed or rolled back from any machine with the signing key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.fleet.documents import (ConfigDocument, DocumentError, Rollout, SigningKey, fleet_topic, group_topic,
                                       history_topic, in_rollout, new_document, next_topic, vehicle_topic)
from vehicle_bus.client import BusClient, BusMessage

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
    def __init__(self, client: BusClient, fleet_id: str, key: SigningKey | None = None):
        self.client, self.fleet_id, self.key = client, fleet_id, key
        self.statuses: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._unsubscribe = client.subscribe(STATUS_FILTER, self._on_status)

    def close(self) -> None:
        self._unsubscribe()

    def _on_status(self, message: BusMessage) -> None:
        try:
            status = json.loads(message.payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        if isinstance(status, dict) and status.get("fleet") == self.fleet_id:
            with self._changed:
                self.statuses[status["vehicle"]] = status
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

    def topic_of(self, target: str) -> str:
        kind, _, name = target.partition(":")
        return {"fleet": fleet_topic(self.fleet_id), "group": group_topic(self.fleet_id, name),
                "vehicle": vehicle_topic(name)}[kind]

    def vehicles(self, settle_s: float = 1.0) -> dict[str, dict[str, Any]]:
        """Every vehicle of the fleet that has reported, with its last report (retained statuses)."""
        time.sleep(settle_s)
        with self._changed:
            return dict(self.statuses)

    # -- pushing ----------------------------------------------------------------------------------------------
    def _signed(self, document: ConfigDocument) -> ConfigDocument:
        if self.key is None:
            raise DocumentError("no signing key given (--key)")
        return self.key.sign(document)

    def push(self, config: dict[str, Any], target: str) -> ConfigDocument:
        """A new version of ``target``'s layer, signed and retained."""
        topic = self.topic_of(target)
        current = self.retained(topic)
        pending = self.retained(next_topic(self.fleet_id)) if target == "fleet" else None
        if pending:
            raise RolloutError(f"a rollout of version {pending.version} is in progress; resume it or roll it back")
        version = 1 + (current.version if current else 0)
        document = self._signed(new_document(self.fleet_id, target, version, config))
        if target == "fleet" and current:
            self.client.publish(history_topic(self.fleet_id, current.version), current.encode(), retain=True)
        self.client.publish(topic, document.encode(), retain=True)
        return document

    # -- staged rollout ---------------------------------------------------------------------------------------
    def rollout(self, config: dict[str, Any] | None, canary_percent: float, halt_on_reject: float,
                stages: tuple[float, ...] = (), wait_s: float = 60.0, resume: bool = False,
                progress: Callable[[StageReport], None] | None = None) -> RolloutReport:
        """Stage a fleet document: ``canary_percent`` of the vehicles first, then each of ``stages`` (percent),
        then everyone. After each stage, wait until every vehicle in it has reported on this version; if
        more than ``halt_on_reject`` (a fraction) rejected it, withdraw it (the vehicles return to the
        stable version) and stop. ``resume`` continues the rollout left on the broker."""
        start = time.perf_counter()
        stable, pending = self.retained(fleet_topic(self.fleet_id)), self.retained(next_topic(self.fleet_id))
        if pending and not resume:
            raise RolloutError(f"a rollout of version {pending.version} is in progress: use --resume or "
                               "'carvoice fleet rollback'")
        if resume:
            if not pending:
                raise RolloutError("there is no rollout in progress to resume")
            config, version, done = pending.config, pending.version, pending.rollout.percent
        else:
            if config is None:
                raise RolloutError("no config to roll out")
            version, done = 1 + (stable.version if stable else 0), 0.0
        report = RolloutReport(version)
        plan = sorted({p for p in (canary_percent, *stages, 100.0) if p > done} | ({done} if resume else set()))
        for percent in plan:
            document = self._signed(new_document(self.fleet_id, "fleet", version, config, Rollout(percent=percent)))
            self.client.publish(next_topic(self.fleet_id), document.encode(), retain=True)
            stage = self._await_stage(version, percent, wait_s)
            stage.seconds = time.perf_counter() - start
            report.stages.append(stage)
            if progress:
                progress(stage)
            if stage.reject_rate > halt_on_reject:
                self.withdraw()
                report.outcome = "halted"
                break
            if stage.missing:
                report.outcome = "timed out"
                break
        else:
            final = self._signed(new_document(self.fleet_id, "fleet", version, config))
            if stable:
                self.client.publish(history_topic(self.fleet_id, stable.version), stable.encode(), retain=True)
            self.client.publish(fleet_topic(self.fleet_id), final.encode(), retain=True)
            self.withdraw()
            report.outcome = "completed"
        report.seconds = time.perf_counter() - start
        return report

    def _await_stage(self, version: int, percent: float, wait_s: float) -> StageReport:
        deadline = time.monotonic() + wait_s
        with self._changed:
            while True:
                cohort = [v for v in self.statuses if in_rollout(v, percent)]
                answered = {v: self.statuses[v] for v in cohort if _reported(self.statuses[v], version)}
                remaining = deadline - time.monotonic()
                if len(answered) == len(cohort) or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
        rejected = sum(1 for status in answered.values() if status["state"] == "rejected")
        return StageReport(percent, len(cohort), len(answered) - rejected, rejected, len(cohort) - len(answered), 0)

    def withdraw(self) -> None:
        """Clear the rollout in progress; vehicles in it go back to the stable fleet document."""
        self.client.publish(next_topic(self.fleet_id), b"", retain=True)

    def rollback(self) -> str:
        """Abort a rollout in progress, or else re-issue the previous stable fleet document as a new version."""
        if self.retained(next_topic(self.fleet_id)):
            self.withdraw()
            return "rollout withdrawn; vehicles return to the stable version"
        stable = self.retained(fleet_topic(self.fleet_id))
        if not stable or stable.version < 2:
            raise RolloutError("there is no earlier fleet version to roll back to")
        previous = next((doc for v in range(stable.version - 1, 0, -1)
                         if (doc := self.retained(history_topic(self.fleet_id, v), 0.5))), None)
        if previous is None:
            raise RolloutError(f"no history of the versions before {stable.version} on the broker")
        document = self._signed(new_document(self.fleet_id, "fleet", stable.version + 1, previous.config))
        self.client.publish(history_topic(self.fleet_id, stable.version), stable.encode(), retain=True)
        self.client.publish(fleet_topic(self.fleet_id), document.encode(), retain=True)
        return f"version {document.version} re-issues version {previous.version}'s config"


def _reported(status: dict[str, Any], version: int) -> bool:
    """Whether a vehicle's report is about this fleet version: it runs it, or it rejected it."""
    if status.get("state") == "rejected":
        return status.get("version") == version and status.get("target") == "fleet"
    return (status.get("applied") or {}).get("fleet") == version
