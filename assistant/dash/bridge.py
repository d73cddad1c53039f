"""From the MQTT bus to the dashboard: what the page shows, kept current from the project's topics.

One vehicle's cabin (``vehicle/<id>/vss/+``, ``vehicle/<id>/status``), its assistant's events
(``vehicle/<id>/assistant/events``), and the fleet: every vehicle's config report
(``vehicle/+/config/status``) and the fleets' stable and rollout documents (``fleet/+/config``,
``fleet/+/config/next``). Messages arrive on paho's network thread; the state is kept under a lock, and
what changed since the last :meth:`DashState.take` is handed over in one batch, so a thousand reports
arriving at once become one update for the page.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from assistant.voice.events import PipelineEvent, events_topic
from assistant.fleet.documents import ConfigDocument, DocumentError, in_rollout
from assistant.fleet.operator import STATUS_FILTER
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.protocol import ProtocolError, SignalValue, VehicleStatus, path_of, status_topic, value_topic
from vehicle_bus.signals import SIGNALS

MAX_EVENTS = 600
"""Assistant events kept for a page that connects later (about 100 turns)."""
MAX_ERRORS, MAX_TEXT = 5, 300
"""A vehicle report's errors as shown: at most this many, each cut to this many characters."""
FLEET_DOCUMENTS = ("fleet/+/config", "fleet/+/config/next")


class DashState:
    """What the dashboard shows; every change also goes into the batch :meth:`take` hands over."""

    def __init__(self, vehicle_id: str, on_change: Callable[[], None] | None = None):
        self.vehicle_id = vehicle_id
        self.on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self.signals: dict[str, Any] = {}
        self.online: bool | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._seq = 0
        self.vehicles: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, dict[str, Any]]] = {}
        """fleet id -> {"stable": summary, "next": summary}."""
        self.stages: dict[str, list[float]] = {}
        """fleet id -> the stages (percent) of its latest rollout seen so far."""
        self._stages_of: dict[str, int] = {}
        """fleet id -> the version those stages are of."""
        self._changed: dict[str, Any] = {}

    # -- what arrives ---------------------------------------------------------------------------------------
    def signal(self, path: str, value: Any) -> None:
        with self._lock:
            self.signals[path] = value
            self._changed.setdefault("signals", {})[path] = value
        self.on_change()

    def status(self, online: bool) -> None:
        with self._lock:
            self.online = self._changed["online"] = online
        self.on_change()

    def event(self, event: PipelineEvent) -> None:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **event.model_dump()}
            self.events.append(entry)
            self._changed.setdefault("events", []).append(entry)
        self.on_change()

    def report(self, vehicle_id: str, status: dict[str, Any]) -> None:
        errors = [str(e)[:MAX_TEXT] for e in (status.get("errors") or [])[:MAX_ERRORS]]
        applied = status.get("applied") if isinstance(status.get("applied"), dict) else {}
        row = {"vehicle": vehicle_id, "fleet": _text(status.get("fleet")),
               "group": _text(status.get("group")),
               "state": _text(status.get("state")), "target": _text(status.get("target")),
               "version": _number(status.get("version")), "errors": errors, "ts": _text(status.get("ts")),
               "applied": {layer: _number(applied.get(layer)) for layer in ("fleet", "group", "vehicle")}}
        with self._lock:
            self.vehicles[vehicle_id] = row
            self._changed.setdefault("vehicles", {})[vehicle_id] = row
            if row["fleet"]:
                self._changed.setdefault("fleets", set()).add(row["fleet"])
        self.on_change()

    def document(self, slot: str, document: ConfigDocument) -> None:
        summary = {"version": document.version, "issued": document.issued, "key_id": document.key_id,
                   "withdrawn": document.withdrawn,
                   "percent": document.rollout.percent if document.rollout else None}
        fleet = document.fleet
        with self._lock:
            self.documents.setdefault(fleet, {})[slot] = summary
            if slot == "next" and not document.withdrawn:
                if self._stages_of.get(fleet) != document.version:  # a new rollout: its stages start again
                    self._stages_of[fleet], self.stages[fleet] = document.version, []
                if summary["percent"] not in self.stages[fleet]:
                    self.stages[fleet].append(summary["percent"])
            self._changed.setdefault("fleets", set()).add(fleet)
        self.on_change()

    # -- what the page gets ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything, for a page that has just connected (``take`` afterwards hands over the changes)."""
        with self._lock:
            return {"type": "snapshot", "vehicle": self.vehicle_id, "online": self.online,
                    "signals": dict(self.signals), "units": {p: s.unit for p, s in SIGNALS.items() if s.unit},
                    "events": list(self.events), "vehicles": dict(self.vehicles),
                    "rollouts": {fleet: self._rollout(fleet) for fleet in self.documents}}

    def take(self) -> dict[str, Any] | None:
        """What changed since the last call, as one update (None: nothing)."""
        with self._lock:
            changed, self._changed = self._changed, {}
            if not changed:
                return None
            fleets = changed.pop("fleets", set())
            return {"type": "update", **changed,
                    "rollouts": {fleet: self._rollout(fleet) for fleet in fleets if fleet in self.documents}}

    def _rollout(self, fleet: str) -> dict[str, Any]:
        """A fleet's stable version and its latest rollout, with how far the vehicles in its stage are."""
        documents = self.documents.get(fleet, {})
        stable, latest = documents.get("stable"), documents.get("next")
        members = [row for row in self.vehicles.values() if row["fleet"] == fleet]
        summary: dict[str, Any] = {"fleet": fleet, "stable": stable["version"] if stable else None,
                                   "vehicles": len(members), "rollout": None}
        if latest:
            version = latest["version"]
            if not latest["withdrawn"]:
                outcome, percent = "in progress", latest["percent"]
            elif stable and stable["version"] >= version:
                outcome, percent = "completed", 100.0
            else:
                outcome, percent = "withdrawn", None
            cohort = [row for row in members if percent is not None and in_rollout(row["vehicle"], percent)]
            summary["rollout"] = {
                "version": version, "outcome": outcome, "percent": percent,
                "stages": list(self.stages.get(fleet, [])), "cohort": len(cohort),
                "applied": sum(1 for row in cohort if row["applied"]["fleet"] == version),
                "rejected": sum(1 for row in cohort
                                if row["state"] == "rejected" and row["version"] == version)}
        return summary


class BusBridge:
    """Subscribes a :class:`DashState` to the bus; :meth:`stop` unsubscribes."""

    def __init__(self, client: BusClient, state: DashState):
        self.client, self.state = client, state
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> BusBridge:
        vehicle_id = self.state.vehicle_id
        for topic_filter, handler in ((value_topic(vehicle_id, "+"), self._on_value),
                                      (status_topic(vehicle_id), self._on_status),
                                      (events_topic(vehicle_id), self._on_event),
                                      (STATUS_FILTER, self._on_report),
                                      *((topic, self._on_document) for topic in FLEET_DOCUMENTS)):
            self._unsubscribe.append(self.client.subscribe(topic_filter, handler))
        return self

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _on_value(self, message: BusMessage) -> None:
        path = path_of(message.topic)
        if path in SIGNALS:
            try:
                self.state.signal(path, SignalValue.decode(message.payload).value)
            except ProtocolError:
                pass

    def _on_status(self, message: BusMessage) -> None:
        try:
            self.state.status(VehicleStatus.decode(message.payload).state == "online")
        except ProtocolError:
            pass

    def _on_event(self, message: BusMessage) -> None:
        try:
            self.state.event(PipelineEvent.model_validate_json(message.payload))
        except ValidationError:
            pass

    def _on_report(self, message: BusMessage) -> None:
        """A vehicle's config report, filed under the vehicle its topic names (as the operator does)."""
        vehicle_id = message.topic.split("/")[1]
        try:
            status = json.loads(message.payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        if isinstance(status, dict) and status.get("vehicle") == vehicle_id:
            self.state.report(vehicle_id, status)

    def _on_document(self, message: BusMessage) -> None:
        if not message.payload:
            return
        try:
            document = ConfigDocument.decode(message.payload)
        except DocumentError:
            return
        if document.target == "fleet":
            self.state.document("next" if message.topic.endswith("/next") else "stable", document)


def _text(value: Any) -> str | None:
    return str(value)[:MAX_TEXT] if value is not None else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
