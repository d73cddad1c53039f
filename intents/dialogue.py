"""Multi-turn dialogue: sentence -> calls (fast path, else LLM) -> validated plan -> vehicle -> reply.

Per session it remembers the last request (for "warmer", "same for the passenger", "not this one"),
what that request changed (for "undo"), and a question it asked ("Where would you like to go?")
until the next turn answers it. All of it expires after ``idle_timeout_s``.

Every call is validated and planned before anything is sent; if one call of a sentence is refused,
none is applied. If the vehicle rejects a write midway, the writes already made are rolled back.
Replies are built from the vehicle's state after its acks, never from what a model claimed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from intents.catalogue import CATALOGUE, MissingArgument, Refusal, destination_of, get_action
from intents.fastpath import SOURCE_WORDS, Call, FastPath, seat_place
from intents.text import normalize, with_digits
from intents.vehicle import Vehicle
from vehicle_bus.client import BusError, SetRejected

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = "Sorry, I didn't catch that."
OUT_OF_DOMAIN = "Sorry, I can only help with the car's climate, media and navigation."
UNSAFE = "Sorry, I can't control driving or safety systems."
NO_ACTION = {"unsafe": (UNSAFE, "fast"), "empty": (NOT_UNDERSTOOD, "none"), "none": (OUT_OF_DOMAIN, "none"),
             "llm": (OUT_OF_DOMAIN, "llm")}
"""Why no action was taken -> (reply, path reported)."""
INVERSE_WRITES = {("Vehicle.Cabin.Infotainment.Media.Action", "SKIP_FORWARD"): "SKIP_BACKWARD",
                  ("Vehicle.Cabin.Infotainment.Media.Action", "SKIP_BACKWARD"): "SKIP_FORWARD"}
"""Writes whose undo is another command rather than the previous value."""
DIRECTIONS = {"feet": "DOWN", "floor": "DOWN", "face": "MIDDLE", "body": "MIDDLE", "windscreen": "UP",
              "windshield": "UP", "up": "UP", "middle": "MIDDLE", "down": "DOWN"}


class IntentModel(Protocol):
    """The slow path: anything that turns a sentence into catalogue calls ([] = not a car request)."""

    def parse(self, text: str, previous: Call | None) -> list[Call]: ...


@dataclass
class ActionResult:
    name: str
    args: dict[str, Any]
    status: Literal["applied", "rejected", "asked", "answered"]
    result: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": self.args, "status": self.status, "result": self.result}


@dataclass
class Turn:
    text: str
    actions: list[ActionResult]
    reply: str
    path: Literal["fast", "llm", "none"]
    timings_ms: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "actions": [a.as_dict() for a in self.actions], "reply": self.reply,
                "path": self.path, "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()}}


@dataclass
class Session:
    last_call: Call | None = None
    undo: list[tuple[str, Any]] = field(default_factory=list)
    pending: Call | None = None
    pending_arg: str | None = None
    active_at: float = 0.0

    def forget(self) -> None:
        self.last_call, self.undo, self.pending, self.pending_arg = None, [], None, None


class Dialogue:
    """Handles the turns of many sessions against one vehicle."""

    def __init__(self, vehicle: Vehicle, fast_path: FastPath | None = None, llm: IntentModel | None = None,
                 idle_timeout_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.vehicle, self.fast_path, self.llm = vehicle, fast_path or FastPath(), llm
        self.idle_timeout_s, self.clock = idle_timeout_s, clock
        self.sessions: dict[str, Session] = {}

    def session(self, session_id: str) -> Session:
        session = self.sessions.setdefault(session_id, Session())
        now = self.clock()
        if now - session.active_at > self.idle_timeout_s:
            session.forget()
        session.active_at = now
        return session

    def handle(self, text: str, session_id: str = "default") -> Turn:
        started = time.perf_counter()
        session = self.session(session_id)
        timings: dict[str, float] = {}
        calls, path = self._understand(text, session, timings)
        if calls is None:
            reply, path = NO_ACTION[path]
            turn = Turn(text, [], reply, path, timings)
        else:
            vehicle_started = time.perf_counter()
            results = self._carry_out(calls, session)
            timings["vehicle_ms"] = (time.perf_counter() - vehicle_started) * 1000
            turn = Turn(text, results, " ".join(r.result for r in results), path, timings)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return turn

    # -- understanding ---------------------------------------------------------------------------
    def _understand(self, text: str, session: Session, timings: dict[str, float]) -> tuple[list[Call] | None, str]:
        started = time.perf_counter()
        words = normalize(text)
        if not re.search(r"[a-z0-9]", words):
            return None, "empty"
        if self.fast_path.is_unsafe(text):
            return None, "unsafe"
        calls = self.fast_path.parse(text, session.last_call)
        if session.pending and (calls is None or calls == [Call(session.pending.name)]):
            filled = self._fill(session.pending, session.pending_arg, text)
            calls = [filled] if filled else calls
        timings["fast_ms"] = (time.perf_counter() - started) * 1000
        if calls is not None:
            return calls, "fast"
        if self.llm is None:
            return None, "none"
        started = time.perf_counter()
        calls = self.llm.parse(text, session.last_call)
        timings["llm_ms"] = (time.perf_counter() - started) * 1000
        if not all(CATALOGUE[c.name].is_plausible_for(words) for c in calls if c.name in CATALOGUE):
            log.info("LLM read %r as %s, but the sentence has no word of that domain: not acting", text, calls)
            return None, "llm"
        return (calls or None), "llm"

    @staticmethod
    def _fill(call: Call, arg_name: str, text: str) -> Call | None:
        """The pending call with its missing argument taken from the driver's answer, if it holds one."""
        arg = get_action(call.name).arg(arg_name)
        words = normalize(text)
        value: Any = None
        if arg.type in ("number", "integer"):
            if number := re.search(r"-?\d+(?:\.\d+)?", with_digits(words)):
                value = float(number.group())
        elif arg.type == "text":
            value = destination_of(words) if arg.name == "destination" else words
        elif arg.type == "boolean":
            value = True if re.search(r"\b(?:yes|on|open)\b", words) else False if re.search(r"\b(?:no|off)\b", words) else None
        elif arg.name == "source":
            value = next((s for pattern, s in SOURCE_WORDS if re.search(pattern, words)), None)
        elif arg.name == "direction":
            value = next((d for w, d in DIRECTIONS.items() if re.search(rf"\b{w}\b", words)), None)
        else:
            value = seat_place(words)
        if value is None:
            return None
        extra = {"unit": "fahrenheit"} if "fahrenheit" in words and "unit" in {a.name for a in get_action(call.name).args} else {}
        return Call(call.name, {**call.args, arg_name: value, **extra})

    # -- acting ----------------------------------------------------------------------------------
    def _carry_out(self, calls: list[Call], session: Session) -> list[ActionResult]:
        session.pending = session.pending_arg = None
        state = self.vehicle.state()
        prepared = []
        for call in calls:  # validate and plan everything before the car is touched
            try:
                action = get_action(call.name)
                args = action.validate(call.args)
                plan = self._undo_plan(session) if action.name == "undo" else action.plan(args, state)
            except MissingArgument as missing:
                session.pending, session.pending_arg = call, missing.argument
                return [ActionResult(call.name, call.args, "asked", missing.question)]
            except Refusal as refusal:
                return [ActionResult(call.name, call.args, "rejected", refusal.reason)]
            prepared.append((call, action, args, plan))
        results, done = [], []
        for call, action, args, plan in prepared:
            try:
                done += self._apply(plan)
            except (SetRejected, BusError) as exc:
                self._roll_back(done)
                reason = exc.reason if isinstance(exc, SetRejected) else "the car did not answer"
                return [ActionResult(call.name, args, "rejected", f"Sorry, {reason}.")]
            if action.name == "undo":
                done = []
            after = self.vehicle.state()
            status = "answered" if action.kind == "question" else "applied"
            results.append(ActionResult(call.name, args, status, action.reply(args, after)))
            if action.kind == "command":
                session.last_call = Call(call.name, args)
        if any(r.name != "undo" and CATALOGUE[r.name].kind == "command" for r in results):
            session.undo = done
        elif any(r.name == "undo" for r in results):
            session.undo = []
        return results

    def _apply(self, plan: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """Send each write; returns (path, previous value) for what changed, to undo or roll back."""
        done, state = [], self.vehicle.state()
        for path, value in plan:
            before = state[path]
            try:
                self.vehicle.set(path, value)
            except (SetRejected, BusError):
                self._roll_back(done)
                raise
            undo_value = INVERSE_WRITES.get((path, value), before)
            if path == "Vehicle.Cabin.Infotainment.Media.SelectedURI" and not before:
                path, undo_value = "Vehicle.Cabin.Infotainment.Media.Action", "STOP"  # nothing was selected before
            done.append((path, undo_value))
        return done

    def _roll_back(self, done: list[tuple[str, Any]]) -> None:
        for path, before in reversed(done):
            try:
                self.vehicle.set(path, before)
            except (SetRejected, BusError):
                continue

    @staticmethod
    def _undo_plan(session: Session) -> list[tuple[str, Any]]:
        if not session.undo:
            raise Refusal("There is nothing to undo.")
        return list(reversed(session.undo))
