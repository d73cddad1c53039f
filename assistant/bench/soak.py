"""The soak benchmark, ``carvoice bench soak``: simulated vehicles on a Mosquitto of its own, a mixed
stream of set requests and spoken-text turns for minutes on end; every ``restart_every_s`` the broker is
stopped, kept down for ``downtime_s`` and started again on the same port (no persistence: retained
values and sessions are gone, the vehicles publish theirs again).

Each vehicle gets two streams, each in a thread of its own:

* **set requests** from a remote client (one MQTT connection shared by all vehicles, as a fleet backend
  would have) through ``BusClient.set``, one at a time per vehicle: a random signal of ``DIRECT_SIGNALS``
  set to a value within its range and different from the last one asked for. Each request carries a
  unique request id (``BusClient`` makes one per call) and a deadline ``ack_timeout_s`` ahead.
* **spoken-text turns** (``SENTENCES``, fast path only, the LLM is off) through the vehicle's own
  ``Dialogue``, on a connection of its own, as the assistant in the car talks to it. They change the
  front climate, which the set requests never touch.

Each vehicle (``WatchedVehicle``) records, where it carries out a request, the request id, whether it
applied it and when: that record is the per-request marker the checks below read. A re-sent request the
vehicle answers again from its memory of answered requests is received but not carried out again.

Every request of the first stream ends in exactly one of these, as its caller saw it:

* **acked**: an ack came back, ``applied`` or ``rejected`` (with the vehicle's reason). Its ack latency
  is the time from calling ``set`` to its return, broker restarts included.
* **failed, reported**: ``set`` raised ``AckTimeout`` (or another ``BusError``) to its caller, who was told
  the car did not answer, typically while the broker was down. Such a request must never be applied
  after that; one the vehicle applied *before* its deadline, whose ack was lost with the broker, is
  counted as ``failed_reported_applied_in_time`` (what ``AckTimeout`` tells its caller is possible).

Requests are **lost** when one of these happened, all must be 0:

* a request whose ``set`` call had not returned when the run ended (the caller never learned an outcome),
* a request acked ``applied`` that the vehicle has no record of applying,
* the last request a vehicle applied to a signal whose value the car does not show afterwards (read
  over the bus, from its retained value topics, once the run is over and every connection is back).

Requests are **duplicated** when a vehicle applied the same request id more than once, counted over
every set request the vehicles received (the dialogue's included). **Applied late** counts requests the
vehicle applied after their deadline, or, for the first stream, after their caller was told they
failed. The run fails when lost, duplicated or applied late is above 0, or a turn got no reply.

RSS is this process's (vehicles, clients, dialogues and the soak's own ledger, which grows by a
request id per request applied), counted from ``RSS_WARMUP_S`` into the run to its end.
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.bench.stats import Progress, percentiles
from assistant.fleet.simulator import memory_mb, wait_until
from intents.dialogue import Dialogue
from intents.vehicle import BusVehicle
from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.errors import AckTimeout, BusError, SetRejected
from vehicle_bus.protocol import Ack, SetRequest
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import (HVAC_STATIONS, NAVIGATION_VOLUME, SEAT_POSITIONS, SIGNALS, fan_speed,
                                  get_signal, seat_heating, station_temperature)
from vehicle_bus.sim.gazetteer import Gazetteer
from vehicle_bus.sim.media_library import MediaLibrary
from vehicle_bus.sim.vehicle import SimulatedVehicle, default_ecus

REAR_STATIONS = tuple(station for station in HVAC_STATIONS if station.startswith("Row2."))
DIRECT_SIGNALS = (*map(station_temperature, REAR_STATIONS), *map(fan_speed, REAR_STATIONS),
                  *map(seat_heating, SEAT_POSITIONS), NAVIGATION_VOLUME)
"""What the set-request stream writes: signals no other signal depends on and the dialogue leaves alone."""
SENTENCES = ("set the temperature to {t}", "turn the fan up", "make it warmer", "set the fan to {p} percent",
             "turn the fan down", "make it a bit cooler", "what is the temperature",
             "turn on the air conditioning", "undo that", "turn off the AC")
"""What the drivers say (the fast path reads all of them); ``{t}`` is 17-27 degrees, ``{p}`` 10-90 percent."""
REQUEST_PAUSE_S = 0.1
"""Pause of each vehicle's set-request stream after each answer."""
TURN_PAUSE_S = 1.0
"""Pause of each vehicle's driver after each reply."""
SETTLE_S = 2.0
"""After the streams stop and every connection is back: time for anything still queued to arrive."""
RSS_WARMUP_S = 10.0
"""RSS growth is counted from this far into the run: the first requests and turns of every thread take memory
once (allocator arenas, buffers), which is not growth."""
RSS_SAMPLE_EVERY_S = 30.0
MOST_COMMON_REPLIES = 12


@dataclass
class Ledger:
    """What the vehicles did with set requests, by request id (ids are unique across signals and vehicles)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    received: int = 0
    carried_out: int = 0
    applied_at: dict[str, float] = field(default_factory=dict)
    """Request id -> when (monotonic) the vehicle first applied it."""
    twice: set[str] = field(default_factory=set)
    after_deadline: set[str] = field(default_factory=set)
    last_applied: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(vehicle, signal) -> the value the vehicle last applied to it."""

    def size_mb(self) -> float:
        """Roughly what the ledger itself takes: it grows with every request applied."""
        entries = sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in self.applied_at.items())
        size = sys.getsizeof(self.applied_at) + entries
        return round(size / 2**20, 1)

    def record(self, vehicle_id: str, path: str, request: SetRequest, ack: Ack, started: datetime) -> None:
        with self.lock:
            self.carried_out += 1
            if ack.status != "applied":
                return
            if request.request_id in self.applied_at:
                self.twice.add(request.request_id)
            else:
                self.applied_at[request.request_id] = time.monotonic()
            if request.deadline is not None and started > request.deadline:
                self.after_deadline.add(request.request_id)
            self.last_applied[(vehicle_id, path)] = ack.value


class WatchedVehicle(SimulatedVehicle):
    """A simulated vehicle that tells the ledger every set request it receives and each one it carries out."""

    def __init__(self, *args: Any, ledger: Ledger, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.ledger = ledger

    def _handle_set(self, message: BusMessage) -> None:
        with self.ledger.lock:
            self.ledger.received += 1
        super()._handle_set(message)

    def _carry_out(self, path: str, request: SetRequest) -> Ack:
        started = datetime.now(UTC)
        ack = super()._carry_out(path, request)
        self.ledger.record(self.vehicle_id, path, request, ack, started)
        return ack


@dataclass
class Outcomes:
    """What the callers of the set-request stream were told."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    applied: int = 0
    rejected: Counter = field(default_factory=Counter)
    failed_at: dict[str, float] = field(default_factory=dict)
    """Request id -> when (monotonic) its caller was told it failed."""
    failed_without_id: Counter = field(default_factory=Counter)
    acked_not_applied: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def acked(self) -> int:
        return self.applied + sum(self.rejected.values())

    @property
    def failed(self) -> int:
        return len(self.failed_at) + sum(self.failed_without_id.values())


def _value_for(path: str, rng: random.Random, last: Any) -> Any:
    """A value within the signal's range, other than ``last``."""
    signal = get_signal(path)
    low, high = (int(bound) for bound in signal.bounds)
    while True:
        value = rng.randint(low * 2, high * 2) / 2 if signal.datatype == "float" else rng.randint(low, high)
        if value != last:
            return value


def _send_requests(client: BusClient, vehicle_id: str, rng: random.Random, ledger: Ledger, outcomes: Outcomes,
                   stop: threading.Event) -> None:
    last: dict[str, Any] = {}
    while not stop.is_set():
        path = rng.choice(DIRECT_SIGNALS)
        value = last[path] = _value_for(path, rng, last.get(path))
        with outcomes.lock:
            outcomes.sent += 1
        started = time.perf_counter()
        try:
            ack = client.set(vehicle_id, path, value)
        except SetRejected as exc:
            with outcomes.lock:
                outcomes.rejected[exc.reason] += 1
                outcomes.latencies_ms.append((time.perf_counter() - started) * 1000)
        except AckTimeout as exc:
            with outcomes.lock:
                outcomes.failed_at[exc.request_id] = time.monotonic()
        except BusError as exc:
            with outcomes.lock:
                outcomes.failed_without_id[str(exc)] += 1
        else:
            with ledger.lock:  # the vehicle records an application before it sends the ack
                known = ack.request_id in ledger.applied_at
            with outcomes.lock:
                outcomes.applied += 1
                outcomes.acked_not_applied += not known
                outcomes.latencies_ms.append((time.perf_counter() - started) * 1000)
        stop.wait(REQUEST_PAUSE_S)


@dataclass
class Turns:
    """What the drivers were told: each reply (an empty one counts as none), each action's status, and
    why a turn got no reply at all."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    replies: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    unanswered: Counter = field(default_factory=Counter)

    @property
    def spoken(self) -> int:
        return sum(self.replies.values()) + sum(self.unanswered.values())

    @property
    def without_reply(self) -> int:
        return self.replies[""] + sum(self.unanswered.values())


def _speak(dialogue: Dialogue, rng: random.Random, turns: Turns, stop: threading.Event) -> None:
    while not stop.is_set():
        text = rng.choice(SENTENCES).format(t=rng.randint(17, 27), p=rng.randint(1, 9) * 10)
        try:
            turn = dialogue.handle(text, session_id="driver")
        except Exception as exc:  # a turn without a reply
            with turns.lock:
                turns.unanswered[f"{type(exc).__name__}: {exc}"] += 1
        else:
            with turns.lock:
                turns.replies[turn.reply.strip()] += 1
                turns.statuses.update([a.status for a in turn.actions] or [f"no action ({turn.path})"])
        stop.wait(TURN_PAUSE_S)


def run_soak(minutes: float, vehicles: int = 10, restart_every_s: float = 60.0, downtime_s: float = 3.0,
             ack_timeout_s: float = 5.0, progress: Progress | None = None, seed: int = 0) -> dict[str, Any]:
    """Run the soak and return its report (see the module docstring for what each count means)."""
    return Soak(vehicles, restart_every_s, downtime_s, ack_timeout_s, seed).run(minutes * 60, progress)


class Soak:
    """One run: its vehicles, what the callers were told, what the vehicles did, and the memory samples."""

    def __init__(self, vehicles: int, restart_every_s: float, downtime_s: float, ack_timeout_s: float,
                 seed: int):
        self.ids = [f"soak-{n:02d}" for n in range(vehicles)]
        self.restart_every_s, self.downtime_s, self.ack_timeout_s, self.seed = (restart_every_s, downtime_s,
                                                                                ack_timeout_s, seed)
        self.ledger, self.outcomes, self.turns = Ledger(), Outcomes(), Turns()
        self.rss: list[dict[str, float]] = []
        self.restarts = 0
        self.stop = threading.Event()

    def run(self, duration_s: float, progress: Progress | None) -> dict[str, Any]:
        gazetteer, library = Gazetteer(), MediaLibrary.load()
        with ExitStack() as running:
            broker = running.enter_context(MosquittoBroker())
            state_dir = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="carvoice-soak-")))
            settings = BusSettings(url=broker.url, ack_timeout_s=self.ack_timeout_s)
            running.callback(self.stop.set)
            cars = [running.enter_context(WatchedVehicle(vid, settings, default_ecus(gazetteer, library),
                                                         state_dir / f"{vid}.json", time_scale=0,
                                                         ledger=self.ledger))
                    for vid in self.ids]
            remote = running.enter_context(BusClient(settings, client_id="carvoice-soak-remote"))
            assistants = [running.enter_context(BusClient(settings,
                                                          client_id=f"carvoice-soak-assistant-{vid}"))
                          for vid in self.ids]
            senders, drivers = self._start_streams(remote, assistants)
            started = time.monotonic()
            self._run_restarting(broker, started, duration_s,
                                 progress or (lambda description, done, total: None))
            self.stop.set()
            for worker in senders + drivers:
                worker.join(timeout=2 * self.ack_timeout_s + 30)
            unfinished = sum(worker.is_alive() for worker in senders)
            if stuck := sum(worker.is_alive() for worker in drivers):
                self.turns.unanswered["still waiting for its reply at the end"] += stuck
            elapsed_s = time.monotonic() - started
            clients = [car.client for car in cars] + [remote, *assistants]
            reconnected = wait_until(lambda: all(client.is_connected for client in clients), 30)
            time.sleep(SETTLE_S)
            self.rss.append({"at_s": round(time.monotonic() - started, 1), "rss_mb": memory_mb()})
            shown = self._what_the_cars_show(settings)
        return self._report(elapsed_s, reconnected, unfinished, shown)

    def _start_streams(self, remote: BusClient, assistants: list[BusClient]
                       ) -> tuple[list[threading.Thread], list[threading.Thread]]:
        """Each vehicle's set-request and driver threads, started; the first RSS sample just before."""
        dialogues = [Dialogue(BusVehicle(client, vid).start())
                     for client, vid in zip(assistants, self.ids, strict=True)]
        senders = [threading.Thread(target=_send_requests, name=f"soak-requests-{vid}", daemon=True,
                                    args=(remote, vid, random.Random(f"{self.seed}-{vid}"), self.ledger,
                                          self.outcomes, self.stop)) for vid in self.ids]
        drivers = [threading.Thread(target=_speak, name=f"soak-turns-{vid}", daemon=True,
                                    args=(dialogue, random.Random(f"{self.seed}-{vid}-driver"), self.turns,
                                          self.stop))
                   for vid, dialogue in zip(self.ids, dialogues, strict=True)]
        self.rss.append({"at_s": 0.0, "rss_mb": memory_mb()})
        for worker in senders + drivers:
            worker.start()
        return senders, drivers

    def _run_restarting(self, broker: MosquittoBroker, started: float, duration_s: float,
                        progress: Progress) -> None:
        """Let the streams run for ``duration_s``, the broker down for ``downtime_s`` every
        ``restart_every_s``."""
        planned = int((duration_s - 1e-9) // self.restart_every_s)
        next_restart, next_sample = started + self.restart_every_s, started + RSS_WARMUP_S
        while (now := time.monotonic()) < started + duration_s:
            if now >= next_restart:
                broker.stop()
                time.sleep(self.downtime_s)
                broker.start()
                self.restarts += 1
                next_restart += self.restart_every_s
            if now >= next_sample:
                self.rss.append({"at_s": round(now - started, 1), "rss_mb": memory_mb()})
                next_sample += RSS_SAMPLE_EVERY_S
            progress("seconds", int(now - started), int(duration_s))
            progress("broker restarts", self.restarts, planned)
            progress("set requests answered (acks)", self.outcomes.acked, self.outcomes.sent)
            progress("turns with a reply", self.turns.spoken - self.turns.without_reply, self.turns.spoken)
            time.sleep(min(0.5,
                           max(0.0, min(next_restart, next_sample, started + duration_s) - time.monotonic())))

    def _what_the_cars_show(self, settings: BusSettings) -> dict[str, dict[str, Any]]:
        """Every vehicle's signal values as retained on the broker, read on a fresh connection."""
        with BusClient(settings, client_id="carvoice-soak-reader") as reader:
            return {vid: {path: value.value for path, value in reader.snapshot(vid, 10, len(SIGNALS)).items()}
                    for vid in self.ids}

    def _report(self, elapsed_s: float, reconnected: bool, unfinished: int, shown: dict[str, dict[str, Any]]
                ) -> dict[str, Any]:
        ledger, outcomes, turns, rss = self.ledger, self.outcomes, self.turns, self.rss
        not_shown = sorted(f"{vid} {path}: applied {value!r}, shows {shown[vid].get(path)!r}"
                           for (vid, path), value in ledger.last_applied.items()
                           if path in DIRECT_SIGNALS and shown[vid].get(path) != value)
        failed_applied = {rid: ledger.applied_at[rid] for rid in outcomes.failed_at
                          if rid in ledger.applied_at}
        after_failure = sum(at > outcomes.failed_at[rid] for rid, at in failed_applied.items())
        lost = unfinished + outcomes.acked_not_applied + len(not_shown)
        applied_late = len(ledger.after_deadline) + after_failure
        latencies = outcomes.latencies_ms
        start = rss[1] if len(rss) > 2 else rss[0]  # after the warm-up, where the run lasted that long
        replies = [(reply, n) for reply, n in turns.replies.most_common() if reply][:MOST_COMMON_REPLIES]
        report = {
            "vehicles": len(self.ids), "seconds": round(elapsed_s, 1),
            "restart_every_s": self.restart_every_s,
            "downtime_s": self.downtime_s, "ack_timeout_s": self.ack_timeout_s,
            "broker_restarts": self.restarts, "requests": {
                "sent": outcomes.sent, "acks": outcomes.acked, "applied": outcomes.applied,
                "rejected": sum(outcomes.rejected.values()), "rejected_reasons": dict(outcomes.rejected),
                "failed_reported": outcomes.failed,
                "failed_reported_not_applied": outcomes.failed - len(failed_applied),
                "failed_reported_applied_in_time": len(failed_applied) - after_failure,
                "failed_without_request_id": dict(outcomes.failed_without_id),
                "lost": lost,
                "lost_detail": {"no_outcome_at_the_end": unfinished,
                                "acked_but_not_applied": outcomes.acked_not_applied,
                                "not_shown_by_the_car": not_shown},
                "duplicated": len(ledger.twice), "applied_late": applied_late,
                "applied_late_detail": {"after_deadline": len(ledger.after_deadline),
                                        "after_failure_reported": after_failure},
            },
            "ack_latency_ms": percentiles(latencies, (50, 99), digits=1)
            | {"max": round(max(latencies), 1) if latencies else float("nan")},
            "vehicle_side": {"set_messages_received": ledger.received,
                             "requests_carried_out": ledger.carried_out,
                             "answered_again_from_memory": ledger.received - ledger.carried_out,
                             "applied": len(ledger.applied_at), "applied_twice": len(ledger.twice)},
            "turns": {"spoken": turns.spoken, "replied": turns.spoken - turns.without_reply,
                      "without_reply": turns.without_reply, "action_statuses": dict(turns.statuses),
                      "unanswered": dict(turns.unanswered), "distinct_replies": len(turns.replies),
                      "replies": dict(replies)},
            "rss_mb": {"before_streams": rss[0]["rss_mb"], "start": start["rss_mb"],
                       "start_at_s": start["at_s"],
                       "end": rss[-1]["rss_mb"], "growth": round(rss[-1]["rss_mb"] - start["rss_mb"], 1),
                       "samples": rss, "ledger_mb": ledger.size_mb()},
            "all_connections_back": reconnected,
        }
        report["passed"] = lost == 0 and not ledger.twice and applied_late == 0 and turns.without_reply == 0
        return report
