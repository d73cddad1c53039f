"""Multi-turn dialogue: sentence -> calls (fast path, else LLM) -> validated plan -> vehicle -> reply.

Per session it remembers the last request (for "warmer", "same for the passenger", "not this one"),
what that request changed (for "undo"), a question it asked ("Where would you like to go?") until
the next turn answers it, and a risky request waiting for a yes ("Open all the windows at 120 km/h?").
All of it expires after ``idle_timeout_s``. "Never mind" drops a pending question; it undoes nothing.

A reading from the LLM path is applied only when it is grounded in the words (see ``grounding``);
otherwise the driver is asked to say it another way.

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

from intents.actions import MissingArgument, Refusal
from intents.catalogue import CATALOGUE, get_action
from intents.planners import CLIMATE_ZONES, confirmation_question, destination_of
from intents.fastpath import AMOUNT_LISTS, SLOT_LISTS, Call, FastPath
from intents.follow_ups import PLACE_ARGS, arg_names
from intents.grounding import ground
from intents.text import normalize, with_digits
from intents.vehicle import Vehicle, VehicleError
from vehicle_bus.signals import MEDIA_ACTION, SELECTED_URI, fan_speed, station_temperature

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = "Sorry, I didn't catch that."
OUT_OF_DOMAIN = "Sorry, I can only help with the car's climate, media and navigation."
UNSAFE = "Sorry, I can't control driving or safety systems."
UNSURE = "Sorry, I'm not sure what you'd like me to do. Could you say it another way?"
DECLINED = "OK, I'll leave that as it is."
DISMISSED = "OK."
NO_ACTION = {"unsafe": (UNSAFE, "fast"), "empty": (NOT_UNDERSTOOD, "none"), "none": (OUT_OF_DOMAIN, "none"),
             "llm": (OUT_OF_DOMAIN, "llm"), "unsure": (UNSURE, "llm"), "dismissed": (DISMISSED, "fast")}
"""Why no action was taken -> (reply, path reported)."""
INVERSE_WRITES = {(MEDIA_ACTION, "SKIP_FORWARD"): "SKIP_BACKWARD",
                  (MEDIA_ACTION, "SKIP_BACKWARD"): "SKIP_FORWARD"}
"""Writes whose undo is another command rather than the previous value."""
NUMBER_ANSWER = re.compile(r"(?:(?:to|at|make it|set it to|about|around)\s+)?(?P<n>-?\d+(?:\.\d+)?)\s*"
                           r"(?:degrees?|percent|fahrenheit|celsius|c|f)?(?:\s+degrees?)?(?:\s+please)?")
NOT_A_PLACE = re.compile(r"^(?:what|how|why|who|when|which|is|are|do|does|can|could|should|would|tell|turn|set|play|"
                         r"make|open|close|i|it|no|yes)\b")
"""Answers to "Where would you like to go?" that are not a place."""
ANSWER_FRAME = re.compile(r"^(?:(?:call|name|save|store) (?:it|this|that|the place)(?: as)?|as|it is|make it)\s+")
"""The frame around an answer to "What should I call it?" ("call it gym"): not part of the name."""
POINTER = re.compile(r"\b(?:there|that|it|that place|this place)\b")


def _is_undo(fast_path: FastPath, text: str) -> bool:
    return fast_path.parse(text) == [Call("undo")]


class IntentModel(Protocol):
    """The slow path: anything that turns a sentence into catalogue calls ([] = not a car request)."""

    def parse(self, text: str, previous: Call | None) -> list[Call]: ...


@dataclass
class ActionResult:
    name: str
    args: dict[str, Any]
    status: Literal["applied", "rejected", "asked", "answered", "declined"]
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
    unconfirmed: list[Call] = field(default_factory=list)
    """A risky request waiting for the driver's yes."""
    active_at: float = 0.0

    def forget(self) -> None:
        self.last_call, self.undo, self.pending, self.pending_arg, self.unconfirmed = None, [], None, None, []


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
        calls, path, confirmed = self._understand(text, session, timings)
        if calls is None:
            reply, path = NO_ACTION[path]
            turn = Turn(text, [], reply, path, timings)
        else:
            vehicle_started = time.perf_counter()
            results = self._carry_out(calls, session, confirmed)
            timings["vehicle_ms"] = (time.perf_counter() - vehicle_started) * 1000
            turn = Turn(text, results, " ".join(r.result for r in results if r.result), path, timings)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return turn

    # -- understanding ---------------------------------------------------------------------------
    def _understand(self, text: str, session: Session, timings: dict[str, float]
                    ) -> tuple[list[Call] | None, str, bool]:
        """(calls, path, whether the driver just confirmed them); calls ``None`` when nothing is to be done."""
        started = time.perf_counter()
        words = normalize(text)
        if not re.search(r"[a-z0-9]", words):
            return None, "empty", False
        if self.fast_path.is_unsafe(text):
            return None, "unsafe", False
        act = self.fast_path.dialogue_act(text) if session.unconfirmed or session.pending else None
        unconfirmed, session.unconfirmed = session.unconfirmed, []
        if unconfirmed and act == "confirm":
            return unconfirmed, "fast", True
        if act in ("dismiss", "deny") or (session.pending and act is None and _is_undo(self.fast_path, text)):
            session.pending = session.pending_arg = None
            return None, "dismissed", False
        calls = self.fast_path.parse(text, session.pending or session.last_call, answering=bool(session.pending))
        if session.pending and (calls is None or calls == [Call(session.pending.name)]):
            filled = self._fill(session.pending, session.pending_arg, text)
            calls = [filled] if filled else calls
        timings["fast_ms"] = (time.perf_counter() - started) * 1000
        if calls is not None:
            return self._resolved(calls, session, words), "fast", False
        if self.llm is None:
            return None, "none", False
        started = time.perf_counter()
        context = session.pending or session.last_call
        calls = self.llm.parse(text, context)
        timings["llm_ms"] = (time.perf_counter() - started) * 1000
        if not calls:
            return None, "llm", False
        if not all(CATALOGUE[c.name].is_plausible_for(words) for c in calls if c.name in CATALOGUE):
            log.info("LLM read %r as %s, but the sentence has no word of that domain: not acting", text, calls)
            return None, "llm", False
        grounded = ground(calls, text, self.fast_path)
        if grounded is None:
            log.info("LLM read %r as %s, which the words do not support: asking again", text, calls)
            return None, "unsure", False
        return self._resolved(grounded, session, words), "llm", False

    def _fill(self, call: Call, arg_name: str, text: str) -> Call | None:
        """The pending call with its missing argument taken from the driver's answer, if it is one."""
        arg = get_action(call.name).arg(arg_name)
        words = normalize(text)
        value: Any = None
        if arg.name in SLOT_LISTS or call.name in AMOUNT_LISTS:
            value = self.fast_path.slot_value(SLOT_LISTS.get(arg.name) or AMOUNT_LISTS[call.name], words)
        if value is None and arg.name == "position":
            value = 100 if re.fullmatch(r"open(?: it)?", words) else 0 if re.fullmatch(r"close(?: it)?", words) else None
        if value is not None:
            pass
        elif arg.type in ("number", "integer"):
            if number := NUMBER_ANSWER.fullmatch(with_digits(words)):
                value = float(number["n"])
        elif arg.type == "text" and not NOT_A_PLACE.match(words):
            value = destination_of(words) if arg.name == "destination" else ANSWER_FRAME.sub("", words)
        elif arg.type == "boolean":
            act = self.fast_path.dialogue_act(text)
            value = {"confirm": True, "deny": False}.get(act or "")
        if value is None:
            return None
        extra = {"unit": "fahrenheit"} if "fahrenheit" in words and arg.name == "value" else {}
        args = {**call.args, **value} if isinstance(value, dict) else {**call.args, arg_name: value}
        return Call(call.name, {**args, **extra})

    def _resolved(self, calls: list[Call], session: Session, words: str) -> list[Call]:
        """ "Same for the passenger": the request before it (in the same sentence, else the last turn's) for
        another place; "let's go there": the place the last turn named."""
        resolved: list[Call] = []
        for call in calls:
            before = next((c for c in reversed(resolved) if not c.declined), None)
            call = _pointed(call, before or session.last_call, words)
            resolved.append(self._same_for(call, before or session.last_call, applied=before is None))
        return resolved

    def _same_for(self, call: Call, previous: Call | None, applied: bool) -> Call:
        """``previous`` for the place ``call`` names; a change already ``applied`` is copied as the value it left."""
        if call.name != "same_for" or previous is None:
            return call
        place = call.args["place"]
        key = next(k for k in PLACE_ARGS if k in previous.args or k in arg_names(previous.name))
        if key == "zone":
            place = {"rear_left": "rear", "rear_right": "rear"}.get(place, place)
            if place not in CLIMATE_ZONES:
                return Call(previous.name, {**previous.args, key: "front"})
        copied = {"change_temperature": ("set_temperature", "value", station_temperature),
                  "change_fan_speed": ("set_fan_speed", "level", fan_speed)}
        if previous.name in copied and applied:  # copy the value the change left, rather than change again
            name, arg, signal_of = copied[previous.name]
            station = CLIMATE_ZONES[previous.args.get("zone", "front")][0]
            value = self.vehicle.state()[signal_of(station)]
            return Call(name, {arg: value, "zone": place})
        return Call(previous.name, {**previous.args, key: place})

    # -- acting ----------------------------------------------------------------------------------
    def _carry_out(self, calls: list[Call], session: Session, confirmed: bool = False) -> list[ActionResult]:
        session.pending = session.pending_arg = None
        state = self.vehicle.state()
        prepared, declined = [], []
        for call in calls:  # validate and plan everything before the car is touched
            if call.declined:
                declined.append(ActionResult(call.name, call.args, "declined", DECLINED))
                continue
            try:
                action = get_action(call.name)
                args = action.validate(call.args)
                plan = self._undo_plan(session) if action.name == "undo" else action.plan(args, state)
            except MissingArgument as missing:
                session.pending, session.pending_arg = call, missing.argument
                return [ActionResult(call.name, call.args, "asked", missing.question)]
            except Refusal as refusal:
                return _all_rejected(calls, call, refusal.reason)
            prepared.append((call, action, args, plan))
            question = None if confirmed else confirmation_question(action.name, args, plan, state)
            if question:
                session.unconfirmed = [Call(c.name, c.args) for c in calls if not c.declined]
                return [ActionResult(call.name, args, "asked", question)]
        results, done = [], []
        for call, action, args, plan in prepared:
            try:
                done += self._apply(plan)
            except VehicleError as exc:
                self._roll_back(done)
                return _all_rejected(calls, call, f"Sorry, {exc.reason}.")
            if action.name == "undo":
                done = []
            after = self.vehicle.state()
            status = "answered" if action.kind == "question" else "applied"
            results.append(ActionResult(call.name, args, status, action.reply(args, after)))
            session.last_call = Call(call.name, args)  # a place looked up is "there" next; "and in here?" asks again
        if any(r.name != "undo" and CATALOGUE[r.name].kind == "command" for r in results):
            session.undo = done
        elif any(r.name == "undo" for r in results):
            session.undo = []
        return results + declined

    def _apply(self, plan: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """Send each write; returns (path, previous value) for what changed, to undo or roll back."""
        done, state = [], self.vehicle.state()
        for path, value in plan:
            before = state[path]
            try:
                self.vehicle.set(path, value)
            except VehicleError:
                self._roll_back(done)
                raise
            undo_value = INVERSE_WRITES.get((path, value), before)
            if path == SELECTED_URI and not before:
                path, undo_value = MEDIA_ACTION, "STOP"  # nothing was selected before
            done.append((path, undo_value))
        return done

    def _roll_back(self, done: list[tuple[str, Any]]) -> None:
        for path, before in reversed(done):
            try:
                self.vehicle.set(path, before)
            except VehicleError:
                continue

    @staticmethod
    def _undo_plan(session: Session) -> list[tuple[str, Any]]:
        if not session.undo:
            raise Refusal("There is nothing to undo.")
        return list(reversed(session.undo))


def _pointed(call: Call, previous: Call | None, words: str) -> Call:
    """A request for a place that says only "there" or "that" ("let's go there then", "how long will that take"):
    the place of the request before it; the time to where the car is already going is its ETA."""
    if (previous is None or "destination" in call.args or "destination" not in previous.args
            or "destination" not in {a.name for a in CATALOGUE[call.name].args} or not POINTER.search(words)):
        return call
    if call.name == "ask_travel_time" and previous.name == "navigate_to":
        return Call("ask_eta")
    return Call(call.name, {**call.args, "destination": previous.args["destination"]})


def _all_rejected(calls: list[Call], refused: Call, reason: str) -> list[ActionResult]:
    """Every call of a sentence one of which was refused: none is applied, the refused one says why."""
    return [ActionResult(c.name, c.args, "rejected", reason if c is refused else "") for c in calls if not c.declined]
