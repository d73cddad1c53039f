"""Small helpers: waiting for what other threads and processes do; talking to the bus the raw way, as a
foreign client would; a throw-away TLS PKI."""

from __future__ import annotations

import queue
import subprocess
import sys
from pathlib import Path

from assistant.fleet.simulator import wait_until
from vehicle_bus.client import BusClient, BusMessage
from vehicle_bus.protocol import Ack, ack_topic, set_topic

CARVOICE = str(Path(sys.executable).parent / "carvoice")
"""The installed ``carvoice`` command of this environment, for tests that run it as a user would."""
TEST_LLM = "qwen2.5-coder-0.5b-instruct"
"""The LLM every test uses (the smallest real one)."""


eventually = wait_until
"""How tests wait for what a vehicle, a broker or another thread does, rather than sleeping a fixed time."""


def raw_request(client: BusClient, vehicle_id: str, path: str, payload: bytes, answers: int = 1,
                timeout_s: float = 5.0) -> list[Ack]:
    """Publish ``payload`` to a set topic and return the acks that arrive (waits for ``answers`` of them)."""
    received: queue.Queue[BusMessage] = queue.Queue()
    unsubscribe = client.subscribe(ack_topic(vehicle_id, path), received.put)
    try:
        client.publish(set_topic(vehicle_id, path), payload)
        acks = [Ack.decode(received.get(timeout=timeout_s).payload) for _ in range(answers)]
    finally:
        unsubscribe()
    return acks


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(pki: Path) -> None:
    """A throw-away CA (ca.crt) and a server certificate for localhost/127.0.0.1 (server.crt, server.key)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=carvoice test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=pki)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr", cwd=pki)
    (pki / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=pki)


def readable_by_the_broker(pki: Path) -> None:
    for file in pki.iterdir():
        file.chmod(0o644)
    pki.chmod(0o755)
