"""Config documents: versioned, ed25519-signed partial configurations for one layer of a fleet.

Layers, lowest first: built-in defaults < the vehicle's local file < fleet < group < vehicle. A
document holds only the settings its layer sets; the effective config is the deep merge of all
layers, validated as one ``CarvoiceConfig``. Documents are retained on

* ``fleet/<fleet>/config`` (stable) and ``fleet/<fleet>/config/next`` (a rollout in progress,
  applied by the share of vehicles its ``rollout.percent`` names),
* ``fleet/<fleet>/groups/<group>/config``,
* ``vehicle/<vehicle>/config``,

and each vehicle reports on ``vehicle/<vehicle>/config/status``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA = 1
"""The document format this build understands; newer documents are rejected as too new."""
LOCAL_ONLY = ("bus", "vehicle")
"""Settings a fleet document may not change: how this vehicle reaches the broker, and who it is."""
NAME = r"^[A-Za-z0-9_-]{1,64}$"


class DocumentError(ValueError):
    """A document that must not be applied: malformed, unsigned, wrongly signed, too new, misdirected."""


def fleet_topic(fleet_id: str) -> str:
    return f"fleet/{fleet_id}/config"


def next_topic(fleet_id: str) -> str:
    return f"fleet/{fleet_id}/config/next"


def group_topic(fleet_id: str, group: str) -> str:
    return f"fleet/{fleet_id}/groups/{group}/config"


def vehicle_topic(vehicle_id: str) -> str:
    return f"vehicle/{vehicle_id}/config"


def status_topic(vehicle_id: str) -> str:
    return f"vehicle/{vehicle_id}/config/status"


def history_topic(fleet_id: str, version: int) -> str:
    return f"fleet/{fleet_id}/config/history/{version}"


class Rollout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    percent: float = Field(ge=0, le=100)


class ConfigDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(SCHEMA, alias="schema", ge=1)
    fleet: str = Field(pattern=NAME)
    target: str = Field(pattern=r"^(fleet|group:[A-Za-z0-9_-]{1,64}|vehicle:[A-Za-z0-9_-]{1,64})$")
    version: int = Field(ge=1)
    issued: str
    config: dict[str, Any]
    rollout: Rollout | None = None
    key_id: str = ""
    signature: str = ""

    @field_validator("config")
    @classmethod
    def _no_local_settings(cls, config: dict[str, Any]) -> dict[str, Any]:
        if touched := [key for key in LOCAL_ONLY if key in config]:
            raise ValueError(f"{', '.join(touched)} are local settings of each vehicle, not fleet settings")
        return config

    @property
    def layer(self) -> str:
        return self.target.partition(":")[0]

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers: every field but the signature, sorted JSON."""
        body = self.model_dump(by_alias=True, exclude={"signature"}, mode="json")
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def decode(cls, payload: bytes) -> ConfigDocument:
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DocumentError(f"not valid JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("schema"), int) and data["schema"] > SCHEMA:
            raise DocumentError(f"document schema {data['schema']} is newer than this vehicle understands "
                                f"({SCHEMA}); update the vehicle first")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in exc.errors())
            raise DocumentError(f"not a valid config document: {problems}") from None


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """The form vehicles keep in ``fleet.trusted_keys``: base64 of the raw 32-byte key."""
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)).decode()


class SigningKey:
    """The fleet operator's ed25519 private key (a PEM file, readable by the operator only)."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise DocumentError(f"cannot read the fleet signing key {path}: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise DocumentError(f"{path} is not an ed25519 private key")
        return cls(key)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        path.chmod(0o600)

    def sign(self, document: ConfigDocument) -> ConfigDocument:
        document = document.model_copy(update={"key_id": self.key_id, "signature": ""})
        signature = self.private_key.sign(document.signed_bytes())
        return document.model_copy(update={"signature": base64.b64encode(signature).decode()})


def new_document(fleet_id: str, target: str, version: int, config: dict[str, Any],
                 rollout: Rollout | None = None) -> ConfigDocument:
    return ConfigDocument(fleet=fleet_id, target=target, version=version, config=config, rollout=rollout,
                          issued=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def verify(document: ConfigDocument, trusted_keys: dict[str, str]) -> None:
    """Raise ``DocumentError`` unless a trusted key signed exactly this document."""
    if not document.signature:
        raise DocumentError("the document is not signed")
    encoded = trusted_keys.get(document.key_id)
    if encoded is None:
        raise DocumentError(f"signed with key {document.key_id or '?'}, which this vehicle does not trust")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))
        public_key.verify(base64.b64decode(document.signature), document.signed_bytes())
    except (InvalidSignature, ValueError) as exc:
        raise DocumentError(f"the signature does not match the document ({type(exc).__name__})") from None


def in_rollout(vehicle_id: str, percent: float) -> bool:
    """Whether a vehicle is in the first ``percent`` of the fleet: a stable hash, the same on every machine."""
    bucket = int.from_bytes(hashlib.sha256(vehicle_id.encode()).digest()[:4], "big") % 10_000 / 100
    return bucket < percent

