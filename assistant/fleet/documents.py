"""Config documents: versioned, ed25519-signed partial configurations for one layer of a fleet.

Layers, lowest first: built-in defaults < the vehicle's local file < fleet < group < vehicle. A
document holds only the settings its layer sets; the effective config is the deep merge of all
layers, validated as one ``CarvoiceConfig``. Documents are retained on

* ``fleet/<fleet>/config`` (stable) and ``fleet/<fleet>/config/next`` (a rollout in progress,
  applied by the share of vehicles its ``rollout.percent`` names),
* ``fleet/<fleet>/groups/<group>/config``,
* ``vehicle/<vehicle>/config``,

and each vehicle reports on ``vehicle/<vehicle>/config/status``. A rollout is ended by a signed withdrawal
on the next topic, never by clearing it.

Trust: a vehicle's local ``fleet.trusted_keys`` are the root; stable fleet documents carry the fleet's key
changes (add public keys, revoke key ids), each signed by a key trusted after the changes before it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA = 2
"""The document format this build understands (2: key changes, withdrawals); newer documents are rejected."""
LOCAL_ONLY = ("bus", "vehicle", "fleet")
"""Settings a fleet document may not change: how this vehicle reaches the broker, who it is, its fleet and
root keys."""
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


class Signed(BaseModel):
    """A model signed by a fleet key: ``key_id`` names the key, ``signature`` covers every other field."""

    model_config = ConfigDict(extra="forbid")

    key_id: str = ""
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers: every field but the signature, sorted JSON."""
        body = self.model_dump(by_alias=True, exclude={"signature"}, mode="json")
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class KeyChange(Signed):
    """Keys the fleet starts (``add``: base64 public keys) and stops (``revoke``: key ids) trusting; number
    ``serial`` of the fleet's key changes, so none can be replayed elsewhere in the list."""

    fleet: str = Field(pattern=NAME)
    serial: int = Field(ge=1)
    add: list[str] = []
    revoke: list[str] = []

    @field_validator("add")
    @classmethod
    def _public_keys(cls, add: list[str]) -> list[str]:
        for text in add:
            key_id_of(text)
        return add


class ConfigDocument(Signed):
    schema_version: int = Field(SCHEMA, alias="schema", ge=1)
    fleet: str = Field(pattern=NAME)
    target: str = Field(pattern=r"^(fleet|group:[A-Za-z0-9_-]{1,64}|vehicle:[A-Za-z0-9_-]{1,64})$")
    version: int = Field(ge=1)
    issued: str
    config: dict[str, Any]
    rollout: Rollout | None = None
    withdrawn: bool = False
    """Withdraws the rollout of ``version`` (on the next topic; no config)."""
    keys: list[KeyChange] = []
    """The fleet's key changes so far, oldest first (stable fleet documents only)."""

    @field_validator("config")
    @classmethod
    def _no_local_settings(cls, config: dict[str, Any]) -> dict[str, Any]:
        if touched := [key for key in LOCAL_ONLY if key in config]:
            raise ValueError(f"{', '.join(touched)}: local settings of each vehicle, not fleet settings "
                             "(trusted keys change through key changes: carvoice fleet trust)")
        return config

    @model_validator(mode="after")
    def _kind(self) -> ConfigDocument:
        if self.withdrawn and (self.target != "fleet" or self.rollout or self.config or self.keys):
            raise ValueError("a withdrawal is a fleet document with no rollout, config or key changes")
        if self.keys and (self.target != "fleet" or self.rollout):
            raise ValueError("only stable fleet documents carry key changes")
        return self

    @property
    def layer(self) -> str:
        return self.target.partition(":")[0]

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
        return cls.validated(data)

    @classmethod
    def validated(cls, data: Any) -> ConfigDocument:
        """``data`` as a document; ``DocumentError`` with every problem if it is not a valid one."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: "
                                 f"{e['msg']}" for e in exc.errors())
            raise DocumentError(f"not a valid config document: {problems}") from None


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """The form vehicles keep in ``fleet.trusted_keys``: base64 of the raw 32-byte key."""
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)).decode()


def key_id_of(text: str) -> str:
    """The key id of a public key in ``public_key_text`` form."""
    try:
        return key_id(Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True)))
    except ValueError:
        raise DocumentError(f"{text[:60]!r} is not an ed25519 public key (base64 of 32 bytes)") from None


SignedModel = TypeVar("SignedModel", bound=Signed)


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
        path.write_bytes(self.private_key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        path.chmod(0o600)

    def sign(self, document: SignedModel) -> SignedModel:
        document = document.model_copy(update={"key_id": self.key_id, "signature": ""})
        signature = self.private_key.sign(document.signed_bytes())
        return document.model_copy(update={"signature": base64.b64encode(signature).decode()})


def new_document(fleet_id: str, target: str, version: int, config: dict[str, Any],
                 rollout: Rollout | None = None, withdrawn: bool = False,
                 keys: list[KeyChange] | None = None) -> ConfigDocument:
    return ConfigDocument.validated({"fleet": fleet_id, "target": target, "version": version,
                                     "config": config,
                                     "rollout": rollout, "withdrawn": withdrawn, "keys": keys or [],
                                     "issued": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def verify(document: Signed, trusted_keys: dict[str, str], holder: str = "this vehicle") -> None:
    """Raise ``DocumentError`` unless a key in ``trusted_keys`` signed exactly this document."""
    if not document.signature:
        raise DocumentError("the document is not signed")
    encoded = trusted_keys.get(document.key_id)
    if encoded is None:
        raise DocumentError(f"signed with key {document.key_id or '?'}, which {holder} does not trust")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))
        public_key.verify(base64.b64decode(document.signature), document.signed_bytes())
    except (InvalidSignature, ValueError) as exc:
        raise DocumentError(f"the signature does not match the document ({type(exc).__name__})") from None


def trusted_after(root: dict[str, str], changes: list[KeyChange], fleet_id: str) -> dict[str, str]:
    """The keys trusted after ``changes``, starting from ``root`` (key id -> public key). A change counts only
    if signed by a key trusted at that point (one signed by a key never trusted here, from before this
    vehicle's root, is skipped); a change that would leave no trusted key is refused."""
    trusted = dict(root)
    for serial, change in enumerate(changes, start=1):
        if change.fleet != fleet_id or change.serial != serial:
            raise DocumentError(f"key change {serial} is out of place (fleet "
                                f"{change.fleet}, serial {change.serial})")
        if change.key_id not in trusted:
            continue
        try:
            verify(change, trusted)
        except DocumentError as exc:
            raise DocumentError(f"key change {serial}: {exc}") from None
        after = {kid: key for kid, key in (trusted | {key_id_of(key): key for key in change.add}).items()
                 if kid not in change.revoke}
        if not after:
            raise DocumentError(f"key change {serial} would leave no trusted key (it revokes "
                                f"{', '.join(change.revoke)}); add the new key before revoking the last one")
        trusted = after
    return trusted


def in_rollout(vehicle_id: str, percent: float) -> bool:
    """Whether a vehicle is in the first ``percent`` of the fleet: a stable hash, the same on every
    machine."""
    bucket = int.from_bytes(hashlib.sha256(vehicle_id.encode()).digest()[:4], "big") % 10_000 / 100
    return bucket < percent

