"""MQTT brokers the project can start itself.

* :class:`EmbeddedBroker`: amqtt in a background thread, the zero-setup default (MQTT 3.1.1).
* :class:`MosquittoBroker`: a real Mosquitto process (Debian package ``mosquitto``), as used in
  production and in the tests.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


class BrokerStartError(RuntimeError):
    """A broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class _SnapshotIterDict(dict):
    """A dict whose iteration works on a copy of its keys.

    amqtt 0.12.1 iterates its subscription table with ``await`` inside the loop when a client
    connects, so a subscription arriving meanwhile raised "dictionary changed size during
    iteration" and dropped the connecting client. Iterating a snapshot avoids that race.
    """

    def __iter__(self):
        return iter(list(super().keys()))


class EmbeddedBroker:
    """The amqtt broker running on its own event loop in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883):
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        from amqtt.broker import Broker  # imported here: only this broker needs it

        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            config = {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
            self._broker = Broker(config)
            self._broker._subscriptions = _SnapshotIterDict()  # see _SnapshotIterDict
            await self._broker.start()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)  # amqtt warns about routine PUBACK races
        self._thread = threading.Thread(target=run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s) or failure:
            why = failure[0] if failure else "timed out"
            raise BrokerStartError(f"embedded MQTT broker could not listen on {self.host}:{self.port}: {why}")
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        if not self._loop or not self._broker:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            future.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop = self._broker = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class MosquittoBroker:
    """A Mosquitto process on a loopback port; ``extra_config`` lines are appended to its config.

    Its config and log live in a temporary folder from start to stop.
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", extra_config: str = "",
                 listener_options: str = "allow_anonymous true"):
        self.host = host
        self.port = port or free_port(host)
        # Mosquitto started as root drops to user "mosquitto", which cannot read files of the caller's
        # (certificates, password files); a broker started by this helper runs as its caller.
        run_as = f"user {getpass.getuser()}\n"
        self._config = f"{run_as}listener {self.port} {host}\n{listener_options}\n{extra_config}\n"
        self._workdir: Path | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BrokerStartError("Mosquitto is not running")
        return self._process.pid

    @staticmethod
    def executable() -> str:
        found = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None)
        if not found:
            raise BrokerStartError("mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto)")
        return found

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> MosquittoBroker:
        self._workdir = Path(tempfile.mkdtemp(prefix="carvoice-mosquitto-"))
        config_file = self._workdir / "mosquitto.conf"
        config_file.write_text(self._config)
        with (self._workdir / "mosquitto.log").open("ab") as log_file:
            self._process = subprocess.Popen([self.executable(), "-c", str(config_file)], stdout=log_file,
                                             stderr=subprocess.STDOUT, cwd=self._workdir)
        if not wait_for_port(self.host, self.port, timeout_s) or self._process.poll() is not None:
            why = self.log_tail()
            self.stop()
            raise BrokerStartError(f"mosquitto did not start on port {self.port}: {why}")
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        """The end of the running broker's log ("" once stopped)."""
        log_path = self._workdir / "mosquitto.log" if self._workdir else None
        if not log_path or not log_path.exists():
            return ""
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
