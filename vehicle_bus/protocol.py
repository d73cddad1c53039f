"""The MQTT topic contract between the vehicle and its clients (public API).

* ``vehicle/<id>/vss/<VSS.Path>``: current value, retained, ``{"value": ..., "ts": "<ISO 8601>"}``
* ``vehicle/<id>/vss/<VSS.Path>/set``: set request,
  ``{"value": ..., "request_id": "<id>", "deadline": "<ISO 8601>"}``; the deadline is optional, a request
  arriving after it is refused; a request id is answered once per signal
* ``vehicle/<id>/vss/<VSS.Path>/ack``: exactly one answer per request,
  ``{"request_id", "status": "applied"|"rejected", "value", "reason"}``
* ``vehicle/<id>/status``: ``{"state": "online"|"offline", "ts"}``, retained (last will: offline)
* ``vehicle/<id>/sim/control``: simulator control, ``{"set": {path: value}, "advance_s": N}``; answered on
  ``.../sim/control/ack``

Over MQTT 5 a set request may also carry a response topic and correlation data; the ack is then
published there as well.

Payloads are at most ``MAX_PAYLOAD_BYTES``, nested at most ``MAX_NESTING`` levels, with integers of at
most ``MAX_INTEGER_DIGITS`` digits; others are rejected with that reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

_VEHICLE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_NESTING = 32
MAX_INTEGER_DIGITS = 1000  # far below Python's own limit on parsing integers (4300 digits)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class ProtocolError(ValueError):
    """A message that does not follow the topic contract."""


def check_vehicle_id(vehicle_id: str) -> str:
    """Vehicle ids are one topic level: letters, digits, '-' and '_' only."""
    if not _VEHICLE_ID.fullmatch(vehicle_id):
        raise ProtocolError(f"vehicle id {vehicle_id!r} must be 1-64 letters, digits, '-' or '_'")
    return vehicle_id


def value_topic(vehicle_id: str, path: str) -> str:
    return f"vehicle/{vehicle_id}/vss/{path}"


def set_topic(vehicle_id: str, path: str) -> str:
    return f"{value_topic(vehicle_id, path)}/set"


def ack_topic(vehicle_id: str, path: str) -> str:
    return f"{value_topic(vehicle_id, path)}/ack"


def status_topic(vehicle_id: str) -> str:
    return f"vehicle/{vehicle_id}/status"


def control_topic(vehicle_id: str) -> str:
    return f"vehicle/{vehicle_id}/sim/control"


def path_of(topic: str) -> str:
    """The VSS path in a ``vehicle/<id>/vss/<path>[/set|/ack]`` topic."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "vehicle" or parts[2] != "vss":
        raise ProtocolError(f"not a vehicle signal topic: {topic!r}")
    return parts[3]


def validation_problems(error: ValidationError) -> list[str]:
    """One readable line per problem pydantic found: ``field.path: message``."""
    return [f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in error.errors()]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_payload(payload: bytes | str) -> Any:
    """The JSON in a payload, within the limits on size, nesting and digits; raises :class:`ProtocolError`."""
    if isinstance(payload, str):
        payload = payload.encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload is {len(payload)} bytes, at most "
                            f"{MAX_PAYLOAD_BYTES} bytes are accepted")
    if _nesting(payload) > MAX_NESTING:
        raise ProtocolError(f"payload is nested more than {MAX_NESTING} levels deep")
    try:
        return json.loads(payload, parse_int=_integer)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"payload is not valid JSON ({exc})") from None


def _nesting(payload: bytes) -> int:
    """How deep the arrays and objects in a JSON text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b"", payload).translate(None, _NOT_A_BRACKET):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ProtocolError(f"payload has a number of {len(digits.lstrip('-'))} digits "
                            f"(at most {MAX_INTEGER_DIGITS})")
    return int(digits)


@dataclass(frozen=True)
class BusMessage:
    """One message as received (``response_topic`` and ``correlation_data``: MQTT 5 requests that ask for an
    answer there)."""

    topic: str
    payload: bytes
    response_topic: str | None = None
    correlation_data: bytes | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, payload: bytes | str):
        """Parse a payload, raising :class:`ProtocolError` with a readable reason."""
        data = _parse_payload(payload)
        if not isinstance(data, dict):
            raise ProtocolError(f"payload must be a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(validation_problems(exc))
            raise ProtocolError(f"payload does not match the contract: {problems}") from None


class SignalValue(_Message):
    """A signal's current value as the vehicle publishes it."""

    value: Any
    ts: str


class SetRequest(_Message):
    """A request to change an actuator."""

    value: Any
    request_id: str
    deadline: AwareDatetime | None = None
    """The vehicle refuses the request when it arrives later than this (none: no deadline, as older clients
    send)."""

    def expired(self) -> bool:
        return self.deadline is not None and self.deadline <= datetime.now(UTC)


class Ack(_Message):
    """The vehicle's one answer to a set request: what it applied, or why it refused."""

    request_id: str | None
    status: Literal["applied", "rejected"]
    value: Any = None
    reason: str | None = None


class VehicleStatus(_Message):
    state: Literal["online", "offline"]
    ts: str


class Faults(_Message):
    """Faults a simulated vehicle plays until told otherwise (for testing what the assistant does)."""

    silent: bool = False
    """The ECUs stop answering set requests: no ack, nothing applied."""
    reject: dict[str, str] = {}
    """VSS path -> reason: writes to these signals are rejected with that reason."""


class ControlRequest(_Message):
    """Simulator control: set any signal (sensors too, e.g. speed for a test), replace the active faults
    (``faults``; ``{}`` clears them), then advance time by ``advance_s``."""

    advance_s: float = 0.0
    set: dict[str, Any] = {}
    faults: Faults | None = None
    request_id: str | None = None


def request_id_of(payload: bytes) -> str | None:
    """Best-effort request id from a payload that failed validation, so the rejection can be matched."""
    try:
        data = _parse_payload(payload)
    except ProtocolError:
        return None
    request_id = data.get("request_id") if isinstance(data, dict) else None
    return request_id if isinstance(request_id, str) else None
