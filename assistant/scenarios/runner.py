"""Runs scenarios: one fresh simulated car per scenario, text steps through the dialogue, voice steps
through the live loop (endpointing, recognition, dialogue, synthesis), faults injected on the bus."""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.voice.audio import ASR_RATE, read_audio
from assistant.config import CarvoiceConfig
from assistant.engines import Engines
from assistant.voice.devices import NullOutput, RecordedInput
from assistant.voice.driver_voice import driver_speech
from assistant.voice.events import PipelineEvent
from assistant.voice.live import LiveAssistant, watch_push_to_talk_button
from assistant.voice.pipeline import VoicePipeline, VoiceTurn
from assistant.scenarios.schema import Approx, AudioEffects, Expect, Scenario, Step
from intents.dialogue import Dialogue, Turn
from intents.vehicle import BusVehicle
from vehicle_bus.brokers import EmbeddedBroker, MosquittoBroker, free_port
from vehicle_bus.client import BusClient
from vehicle_bus.protocol import Ack, ControlRequest, Faults, ack_topic, set_topic
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import PUSH_TO_TALK
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus

SESSION = "scenario"


@dataclass
class StepResult:
    number: int
    step: str
    heard: str | None = None
    reply: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    ignored: bool = False
    bus_error: str | None = None
    failures: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and not any(step.failures for step in self.steps)

    def failure_message(self) -> str:
        """What went wrong, with expected vs actual and the transcript of the turns so far."""
        lines = [f"scenario {self.scenario.name!r} ({self.scenario.source}) failed"]
        if self.error:
            lines.append(f"  error: {self.error}")
        for step in self.steps:
            for failure in step.failures:
                lines.append(f"  step {step.number} ({step.step}): {failure}")
        lines.append("  transcript:")
        for step in self.steps:
            said = f"heard {step.heard!r}" if step.heard is not None else step.step
            answer = "(ignored)" if step.ignored else repr(step.reply) if step.reply is not None else ""
            lines.append(f"    {step.number}. {said} -> {answer}".rstrip(" ->"))
            lines += [f"       {path}: {before!r} -> {after!r}" for path, (before,
                                                                           after) in step.changes.items()]
        return "\n".join(lines)


class ScenarioRunner:
    """Owns a broker (Mosquitto where installed, else embedded; or uses ``broker_url``) and the engines,
    loaded once and shared by every scenario."""

    def __init__(self, config: CarvoiceConfig, broker_url: str | None = None):
        self.config = config
        self.stack = ExitStack()
        self.broker: MosquittoBroker | None = None
        if broker_url:
            bus = BusSettings(url=broker_url)
        elif shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
            self.broker = self.stack.enter_context(MosquittoBroker())
            bus = BusSettings(url=self.broker.url)
        else:
            bus = BusSettings(embedded_port=free_port())
            self.stack.enter_context(EmbeddedBroker(bus.embedded_host, bus.embedded_port))
        self.bus = bus.model_copy(update={"ack_timeout_s": 2.0})
        self.client = self.stack.enter_context(BusClient(self.bus))
        self.engines = Engines(config)
        self.ecu_data = (Gazetteer(), MediaLibrary.load())

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> ScenarioRunner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run_all(self, scenarios: list[Scenario], parallel: int = 1, on_result=None) -> list[ScenarioResult]:
        """Scenarios that restart the broker run alone, after the others (which may run ``parallel`` at a
        time)."""
        numbered = list(enumerate(scenarios))
        results: dict[int, ScenarioResult] = {}

        def one(item: tuple[int, Scenario]) -> None:
            results[item[0]] = result = self.run(item[1])
            if on_result:
                on_result(result)

        with ThreadPoolExecutor(max(1, parallel)) as pool:
            list(pool.map(one, [item for item in numbered if not item[1].restarts_broker]))
        for item in numbered:
            if item[1].restarts_broker:
                one(item)
        return [results[i] for i in range(len(scenarios))]

    def run(self, scenario: Scenario) -> ScenarioResult:
        result = ScenarioResult(scenario)
        start = time.perf_counter()
        vehicle_id = f"scn-{uuid.uuid4().hex[:8]}"
        try:
            with SimulatedVehicle(vehicle_id, self.bus, default_ecus(*self.ecu_data), time_scale=0) as car:
                if scenario.vehicle.state:
                    self.client.control(vehicle_id, ControlRequest(set=scenario.vehicle.state))
                _ScenarioRun(self, scenario, car, result).run()
        except Exception as exc:  # a broken step or a dead broker fails this scenario, not the run
            result.error = f"{type(exc).__name__}: {exc}"
        finally:  # the shared client listens no more to a car that is gone
            self.client.forget_vehicle(vehicle_id)
        result.duration_s = time.perf_counter() - start
        return result


class _ScenarioRun:
    """One scenario against one simulated car."""

    def __init__(self, runner: ScenarioRunner, scenario: Scenario, car: SimulatedVehicle,
                 result: ScenarioResult):
        self.runner, self.scenario, self.car, self.result = runner, scenario, car, result
        self.client = runner.client
        self.vehicle = BusVehicle(self.client, car.vehicle_id).start()
        self.dialogue = Dialogue(self.vehicle, llm=runner.engines.llm)
        self.faults = Faults()
        self.pressed = threading.Event()

    def run(self) -> None:
        """The steps, one after another; then the car's state and its button are not watched any more."""
        unsubscribe = watch_push_to_talk_button(self.client, self.car.vehicle_id, self.pressed.set)
        try:
            for number, step in enumerate(self.scenario.steps, start=1):
                outcome = StepResult(number, step.describe())
                self.result.steps.append(outcome)
                before = dict(self.car.state)
                getattr(self, f"_{step.kind}")(step, outcome)
                after = dict(self.car.state)
                outcome.changes = {p: (before.get(p), v) for p, v in after.items() if before.get(p) != v}
                if step.expect:
                    outcome.failures = check(step.expect, outcome, after)
        finally:
            unsubscribe()
            self.vehicle.mirror.stop()

    # -- steps -----------------------------------------------------------------------------------
    def _say(self, step: Step, outcome: StepResult) -> None:
        record_turn(outcome, self.dialogue.handle(step.say, SESSION))

    def _speak(self, step: Step, outcome: StepResult) -> None:
        audio, _voice = driver_speech(step.speak, self.runner.engines.synthesizer, step.voice)
        self._listen(apply_effects(audio, step.audio), outcome)

    def _play(self, step: Step, outcome: StepResult) -> None:
        folder = (self.scenario.source or Path(".")).parent
        path = step.play if step.play.is_absolute() else folder / step.play
        self._listen(apply_effects(read_audio(path), step.audio), outcome)

    def _listen(self, audio: np.ndarray, outcome: StepResult) -> None:
        engines = self.runner.engines
        events: list[PipelineEvent] = []
        turns: list[VoiceTurn] = []
        pipeline = VoicePipeline(engines.recognizer, self.dialogue, engines.synthesizer, events.append)
        lead = np.zeros(int(0.3 * ASR_RATE), np.float32)
        live = LiveAssistant(pipeline, RecordedInput(np.concatenate([lead, audio]), realtime=False),
                             NullOutput(), self.scenario.listen, SESSION, engines.vad(), turns.append)
        if self.pressed.is_set():
            self.pressed.clear()
            live.press()
        live.run()
        outcome.ignored = not turns
        outcome.heard = " ".join(t.transcript.text for t in turns) if turns else next(
            (e.data.get("text", "") for e in events if e.stage == "ignored"), "")
        for turn in turns:
            if turn.turn:
                record_turn(outcome, turn.turn)
            outcome.timings_ms.update(turn.timings_ms)
        outcome.reply = " ".join(t.reply for t in turns) if turns else None

    def _press(self, step: Step, outcome: StepResult) -> None:
        for down in (True, False):
            self.client.control(self.car.vehicle_id, ControlRequest(set={PUSH_TO_TALK: down}))
        if not self.pressed.wait(5):
            raise RuntimeError("the push-to-talk press did not arrive over the bus")

    def _wait(self, step: Step, outcome: StepResult) -> None:
        self.client.control(self.car.vehicle_id, ControlRequest(advance_s=step.wait))

    def _fault(self, step: Step, outcome: StepResult) -> None:
        fault = step.fault
        if fault.broker_restart:
            self._restart_broker()
        elif fault.malformed:
            path = fault.malformed.path
            ack = Ack.decode(self.client.exchange(set_topic(self.car.vehicle_id, path),
                                                  fault.malformed.payload,
                                                  ack_topic(self.car.vehicle_id, path)))
            outcome.bus_error = ack.reason
        else:
            update = {"silent": fault.silent} if fault.silent is not None else {"reject": fault.reject}
            self.faults = self.faults.model_copy(update=update)
            self.client.control(self.car.vehicle_id, ControlRequest(faults=self.faults))

    def _restart_broker(self) -> None:
        broker = self.runner.broker
        if broker is None:
            raise RuntimeError("a broker restart needs the runner's own broker (run without --broker)")
        broker.restart()
        deadline = time.monotonic() + 15
        while not (self.client.is_connected and self.car.client.is_connected):
            if time.monotonic() > deadline:
                raise RuntimeError("the clients did not reconnect within 15 s of the broker restart")
            time.sleep(0.05)


def record_turn(outcome: StepResult, turn: Turn) -> None:
    outcome.actions += [action.as_dict() for action in turn.actions]
    outcome.reply, outcome.path = turn.reply, turn.path
    outcome.timings_ms.update(turn.timings_ms)


def apply_effects(audio: np.ndarray, effects: AudioEffects | None) -> np.ndarray:
    if effects is None:
        return audio
    if effects.clip_gain:
        audio = np.clip(audio * effects.clip_gain, -1.0, 1.0)
    if effects.noise_snr_db is not None:
        power = float(np.mean(audio ** 2)) or 1e-6
        noise = np.random.default_rng(0).normal(0, np.sqrt(power / 10 ** (effects.noise_snr_db / 10)),
                                                len(audio))
        audio = np.clip(audio + noise, -1.0, 1.0)
    return audio.astype(np.float32)


def check(expect: Expect, outcome: StepResult, state: dict[str, Any]) -> list[str]:
    """Every way the step's outcome differs from what was expected, readably."""
    failures = []
    for path, wanted in expect.state.items():
        got = state.get(path)
        if isinstance(wanted, Approx):
            if not isinstance(got, (int, float)) or abs(got - wanted.approx) > wanted.tolerance:
                failures.append(f"expected {path} = {wanted.approx} ± {wanted.tolerance}, got {got!r}")
        elif got != wanted:
            failures.append(f"expected {path} = {wanted!r}, got {got!r}")
    if expect.actions is not None:
        got = [(a["name"], a["status"]) for a in outcome.actions]
        wanted_names = [(a.name, a.status) for a in expect.actions]
        matches = len(got) == len(wanted_names) and all(
            name == w_name and (w_status is None or status == w_status) and
            all(actual["args"].get(k) == v for k, v in wanted.args.items())
            for (name, status), (w_name, w_status), actual, wanted in zip(got, wanted_names, outcome.actions,
                                                                         expect.actions, strict=True))
        if not matches:
            failures.append("expected actions "
                            f"{[a.model_dump(exclude_defaults=True) for a in expect.actions]}, "
                            f"got {[{k: a[k] for k in ('name', 'status', 'args')} for a in outcome.actions]}")
    reply = outcome.reply or ""
    for text in expect.reply_contains:
        if text.lower() not in reply.lower():
            failures.append(f"expected the reply to contain {text!r}, got {reply!r}")
    if expect.reply_matches and not re.search(expect.reply_matches, reply, re.IGNORECASE):
        failures.append(f"expected the reply to match /{expect.reply_matches}/, got {reply!r}")
    if expect.heard_contains and expect.heard_contains.lower() not in (outcome.heard or "").lower():
        failures.append(f"expected to hear {expect.heard_contains!r}, heard {outcome.heard!r}")
    if expect.path and outcome.path != expect.path:
        failures.append(f"expected the {expect.path} path, got {outcome.path}")
    if expect.nothing_applied and outcome.changes:
        failures.append("expected nothing to change, but "
                        f"{', '.join(f'{p}: {b!r} -> {a!r}' for p, (b, a) in outcome.changes.items())}")
    if expect.ignored and not outcome.ignored:
        failures.append(f"expected the assistant to ignore this, but it answered {reply!r}")
    wanted_error = (expect.bus_error_contains or "").lower()
    if wanted_error and wanted_error not in (outcome.bus_error or "").lower():
        failures.append(f"expected the vehicle to reject the message with {expect.bus_error_contains!r}, "
                        f"got {outcome.bus_error!r}")
    return failures
