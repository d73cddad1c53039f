"""Headless Chromium driven over the DevTools protocol (its --remote-debugging-port, with the websockets
library): open a page, evaluate JavaScript in it, wait for a condition in its DOM, take a screenshot."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from vehicle_bus.brokers import free_port

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")


class Browser:
    def __init__(self, profile_dir: Path, width: int = 1400, height: int = 1000):
        assert CHROMIUM, "headless Chromium is missing: `make` installs the chromium-headless-shell package"
        port = free_port()
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--window-size={width},{height}",
             f"--remote-debugging-port={port}", f"--user-data-dir={profile_dir}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # Debian's chromium-headless-shell is a shell script that starts the browser as its child: the whole
        # process group is stopped on close, or the browser and its renderers outlive the test
        self._ids = itertools.count(1)
        try:
            self.ws = connect(self._page_target(port), max_size=None, open_timeout=30)
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self._stop(signal.SIGKILL)
            raise

    def _page_target(self, port: int, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("headless Chromium did not open its DevTools port")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events in between are skipped)."""
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0, poll_s: float = 0.02) -> Any:
        """The first truthy value of ``expression`` (evaluated in the page every ``poll_s``)."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is still loading
                value = None
            if value:
                return value
            time.sleep(poll_s)
        raise AssertionError(f"still false after {timeout_s:g} s: {expression} (last value {value!r})")

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(png)
        return png

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self._stop(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self._stop(signal.SIGKILL)

    def _stop(self, how: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, how)
        except ProcessLookupError:
            pass
