"""The vehicle's config agent: takes signed documents from the retained fleet, group and vehicle topics,
applies the effective config atomically (or keeps the running one and says why), and reports. It trusts
its local ``fleet.trusted_keys`` as the root, changed by the key changes of the stable fleet document."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import CarvoiceConfig
from assistant.fleet.documents import (ConfigDocument, DocumentError, fleet_topic, group_topic, in_rollout,
                                       next_topic, status_topic, trusted_after, vehicle_topic, verify)
from assistant.fleet.layers import LayerError, changed_settings, effective
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.protocol import now_iso

log = logging.getLogger(__name__)

Apply = Callable[[CarvoiceConfig, list[str]], None]
"""Called with the new effective config and the dotted settings that changed."""


class ConfigAgent:
    """One vehicle's view of its fleet's documents. ``local`` is the vehicle's own file: bus, identity,
    fleet id and group, and the keys it trusts at first."""

    def __init__(self, client: BusClient, vehicle_id: str, local: CarvoiceConfig,
                 on_apply: Apply | None = None, state_file: Path | None = None, report: bool = True):
        if not local.fleet.id:
            raise ValueError("fleet.id is not set: this vehicle is not managed by a fleet")
        self.client, self.vehicle_id, self.local = client, vehicle_id, local
        self.fleet_id, self.group = local.fleet.id, local.fleet.group
        self.on_apply = on_apply or (lambda config, changed: None)
        self.state_file, self.report = state_file, report
        self.rejections: list[str] = []
        self.root = dict(local.fleet.trusted_keys)
        self.documents: dict[str, ConfigDocument] = {}
        """Accepted documents by slot: fleet (stable), next (rollout), group, vehicle."""
        self.config, self.sources = effective(self._layers({}))
        self.last_status: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._unsubscribe: list[Callable[[], None]] = []
        self._restore()

    # -- lifecycle -----------------------------------------------------------------------------------
    def topics(self) -> dict[str, str]:
        """Topic by slot; the fleet topic first, so its key changes arrive before documents signed by new
        keys."""
        slots = {"fleet": fleet_topic(self.fleet_id), "next": next_topic(self.fleet_id),
                 "vehicle": vehicle_topic(self.vehicle_id)}
        if self.group:
            slots["group"] = group_topic(self.fleet_id, self.group)
        return slots

    def start(self) -> ConfigAgent:
        for slot, topic in self.topics().items():
            self._unsubscribe.append(self.client.subscribe(topic,
                                                           lambda m, slot=slot: self._receive(slot, m)))
        if not self.last_status:
            self._report(None, "applied", [])  # known to the operator from the start
        return self

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- documents -----------------------------------------------------------------------------------
    def _receive(self, slot: str, message: BusMessage) -> None:
        if not message.payload:
            return  # a cleared topic; only a signed withdrawal removes a layer
        with self._lock:
            try:
                document = self._accept(slot, ConfigDocument.decode(message.payload), self.documents)
            except DocumentError as exc:
                self._reject(message.payload, str(exc))
                return
            if document is None:
                return
            if document.withdrawn:  # back to the stable layer, on disk too
                self._apply({k: v for k, v in self.documents.items() if k != "next"}, None)
            else:
                self._apply(self.documents | {slot: document}, document)

    def _accept(self, slot: str, document: ConfigDocument,
                documents: dict[str, ConfigDocument]) -> ConfigDocument | None:
        """The document if it is new, genuine and meant for this slot, given the accepted ``documents``; None
        if it is one already seen (or withdraws no rollout this vehicle has)."""
        expected = {"fleet": "fleet", "next": "fleet", "group": f"group:{self.group}",
                    "vehicle": f"vehicle:{self.vehicle_id}"}[slot]
        if document.fleet != self.fleet_id or document.target != expected:
            raise DocumentError(f"document for {document.fleet}/{document.target} arrived on this vehicle's "
                                f"{slot} topic (expected {self.fleet_id}/{expected})")
        current = documents.get(slot)
        if slot == "fleet":
            known = current.keys if current else []
            if document.keys[:len(known)] != known:
                raise DocumentError("its key changes do not extend the ones this vehicle accepted")
            trusted = trusted_after(self.root, document.keys, self.fleet_id)
        else:
            trusted = self.trusted_keys(documents)
        verify(document, trusted)
        if (slot == "next") != (document.rollout is not None or document.withdrawn):
            raise DocumentError("rollout and withdrawal documents belong on the next topic, and only there")
        if current and document.version < current.version:
            raise DocumentError(f"version {document.version} is older than the applied {current.version}")
        if document.withdrawn and current is None:
            return None
        if current and document.version == current.version and document.rollout == current.rollout:
            return None  # the retained copy again, after a reconnect
        return document

    def trusted_keys(self, documents: dict[str, ConfigDocument] | None = None) -> dict[str, str]:
        """The keys documents must be signed by: the root, changed by the stable fleet document's key
        changes."""
        stable = (self.documents if documents is None else documents).get("fleet")
        return trusted_after(self.root, stable.keys if stable else [], self.fleet_id)

    def _fleet_layer(self, documents: dict[str, ConfigDocument]) -> ConfigDocument | None:
        stable, rollout = documents.get("fleet"), documents.get("next")
        if rollout and in_rollout(self.vehicle_id, rollout.rollout.percent) and (
                stable is None or rollout.version > stable.version):
            return rollout
        return stable

    def _layers(self, documents: dict[str, ConfigDocument]) -> dict[str, dict[str, Any]]:
        fleet = self._fleet_layer(documents)
        return {"local": self.local.model_dump(exclude_defaults=True),  # python mode: secrets stay real
                "fleet": fleet.config if fleet else {},
                "group": documents["group"].config if "group" in documents else {},
                "vehicle": documents["vehicle"].config if "vehicle" in documents else {}}

    def _apply(self, documents: dict[str, ConfigDocument], document: ConfigDocument | None) -> None:
        try:
            config, sources = effective(self._layers(documents))
        except LayerError as exc:
            self._report(document, "rejected", exc.problems)
            return
        changed = changed_settings(self.config, config)
        try:
            self.on_apply(config, changed)
        except Exception as exc:  # the running assistant refused it: keep the old config
            self._report(document, "rejected", [f"could not apply: {exc}"])
            return
        self.documents, self.config, self.sources = documents, config, sources
        self._save()
        self._report(document, "applied", [])
        log.info("%s: config applied (%s changed)", self.vehicle_id, ", ".join(changed) or "nothing")

    def _reject(self, payload: bytes, reason: str) -> None:
        log.warning("%s: config document rejected: %s", self.vehicle_id, reason)
        try:
            data = json.loads(payload)
            document = {"target": data.get("target"), "version": data.get("version")} if isinstance(data,
                                                                                                    dict) \
                else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            document = {}
        self._publish_status(document, "rejected", [reason])

    # -- reporting and persistence --------------------------------------------------------------------
    def versions(self) -> dict[str, int | None]:
        fleet = self._fleet_layer(self.documents)
        return {"fleet": fleet.version if fleet else None,
                "group": self.documents["group"].version if "group" in self.documents else None,
                "vehicle": self.documents["vehicle"].version if "vehicle" in self.documents else None}

    def _report(self, document: ConfigDocument | None, state: str, errors: list[str]) -> None:
        about = {"target": document.target, "version": document.version} if document else {}
        self._publish_status(about, state, errors)

    def _publish_status(self, document: dict[str, Any], state: str, errors: list[str]) -> None:
        if state == "rejected":
            self.rejections.append(f"{document.get('target') or '?'} version "
                                   f"{document.get('version') or '?'}: "
                                   f"{'; '.join(errors)}")
        self.last_status = {"vehicle": self.vehicle_id, "fleet": self.fleet_id, "group": self.group,
                            "version": document.get("version"), "target": document.get("target"),
                            "state": state, "errors": errors, "applied": self.versions(), "ts": now_iso()}
        if self.report:
            self.client.publish(status_topic(self.vehicle_id), json.dumps(self.last_status), retain=True)

    def _save(self) -> None:
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.state_file.with_suffix(".tmp")
            temporary.write_text(json.dumps({slot: doc.model_dump(by_alias=True, mode="json")
                                             for slot, doc in self.documents.items()}))
            temporary.replace(self.state_file)

    def _restore(self) -> None:
        """Start from the documents last applied, so an offline start runs the last good config; each is
        checked again (signature, target) as if it had just arrived, the fleet document first."""
        if not (self.state_file and self.state_file.exists()):
            return
        try:
            saved = {slot: ConfigDocument.model_validate(doc)
                     for slot, doc in json.loads(self.state_file.read_text()).items()}
        except (ValueError, AttributeError, OSError) as exc:
            log.warning("%s: ignoring unreadable saved config %s: %s", self.vehicle_id, self.state_file, exc)
            return
        documents: dict[str, ConfigDocument] = {}
        for slot in [slot for slot in self.topics() if slot in saved]:
            try:
                if self._accept(slot, saved[slot], documents):
                    documents[slot] = saved[slot]
            except DocumentError as exc:
                log.warning("%s: dropping the saved %s document: %s", self.vehicle_id, slot, exc)
                self.rejections.append(f"saved {slot} document: {exc}")
        try:
            self.config, self.sources = effective(self._layers(documents))
        except LayerError as exc:
            log.warning("%s: ignoring the saved config %s: %s", self.vehicle_id, self.state_file, exc)
            return
        self.documents = documents
