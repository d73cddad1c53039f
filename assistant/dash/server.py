"""The dashboard's web server (aiohttp): the page, its static files, and one WebSocket per open page.

The server is the page's only way to the car: it pushes the :class:`~assistant.dash.bridge.DashState`
(a snapshot when a page connects, then batches of changes) and takes two commands, ``ask`` (a sentence
through the dialogue, as ``carvoice ask`` runs it, its turn published on the assistant events topic) and
``ptt`` (a press of the steering-wheel push-to-talk button, over the bus).

Local only by default. With a token every request needs it: ``?token=`` (the page then keeps it in a
cookie), an ``Authorization: Bearer`` header, or that cookie. A local server also refuses requests for
other host names (DNS rebinding), and every server refuses WebSockets and commands from other origins.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from assistant.dash.bridge import BusBridge, DashState
from assistant.voice.events import EventSink
from assistant.voice.pipeline import TurnClock
from intents.dialogue import Dialogue
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusError
from vehicle_bus.protocol import ControlRequest
from vehicle_bus.settings import BusSettings
from vehicle_bus.signals import PUSH_TO_TALK

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
COOKIE = "carvoice_dash"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_SENTENCE = 500
COALESCE_S = 0.05
"""Changes arriving within this long of each other reach the page as one update."""
HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
                                      "data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class Asker(Protocol):
    def __call__(self, text: str) -> dict[str, Any]:
        """One typed sentence through the dialogue; the turn as ``carvoice ask --json`` prints it."""


class TypedTurns:
    """Typed sentences through the dialogue, one at a time, each published as a turn on the assistant events
    topic (``speech_end`` marked ``typed``, then ``transcript``, ``intent`` and ``vehicle_ack`` with the
    reply), so the timeline shows them like spoken ones."""

    def __init__(self, dialogue: Dialogue, sink: EventSink, session_id: str = "dash"):
        self.dialogue, self.sink, self.session_id = dialogue, sink, session_id
        self._lock = threading.Lock()

    def __call__(self, text: str) -> dict[str, Any]:
        with self._lock:
            clock = TurnClock(self.session_id, time.perf_counter(), self.sink)
            clock.emit("speech_end", typed=True)
            clock.emit("transcript", text=text)
            turn = self.dialogue.handle(text, self.session_id)
            clock.emit("intent", path=turn.path, actions=[a.as_dict() for a in turn.actions])
            clock.emit("vehicle_ack", vehicle_ms=round(turn.timings_ms.get("vehicle_ms", 0.0), 1),
                       reply=turn.reply)
            return turn.as_dict()


class DashServer:
    """Serves the dashboard for ``vehicle_id`` on ``host:port`` (0: any free port) from its own thread.

    It has a bus connection of its own: a client that already follows a topic (a vehicle mirror) would not be
    sent its retained messages again for a second subscriber."""

    def __init__(self, bus: BusSettings, vehicle_id: str, ask: Asker | None = None, host: str = "127.0.0.1",
                 port: int = 8765, token: str | None = None):
        self.client, self.vehicle_id, self.ask = BusClient(bus), vehicle_id, ask
        self.host, self.port, self.token = host, port, token
        self.local = host in LOCAL_HOSTS
        self.state = DashState(vehicle_id, self._changed)
        self.bridge = BusBridge(self.client, self.state)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._woken = False
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._commands = ThreadPoolExecutor(1, thread_name_prefix="dash-command")

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> DashServer:
        ready, failure = threading.Event(), []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # reported to start(), which raises it
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=serve, name="dash", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise RuntimeError(f"the dashboard did not start within {timeout_s:g} s")
        if failure:
            raise failure[0]
        try:
            self.client.connect()
            self.bridge.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.bridge.stop()
        self.client.close()
        if self._loop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._commands.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> DashServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where to open the page (with the token, if one is needed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    async def _open(self) -> None:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/state", self._api_state)
        app.router.add_static("/static/", STATIC)
        app.on_response_prepare.append(self._headers)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._wake = asyncio.Event()
        self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _close(self) -> None:
        self._flusher.cancel()
        for ws in list(self._sockets):
            await ws.close()
        await self._runner.cleanup()

    # -- access ----------------------------------------------------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler):
        if self.local and (request.url.host or "") not in LOCAL_HOSTS:
            raise web.HTTPForbidden(text="this dashboard answers only to localhost "
                                         "(use --listen to expose it)")
        given = (request.query.get("token") or request.cookies.get(COOKIE)
                 or request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
        if self.token and not hmac.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPUnauthorized(text="a token is needed: open the URL carvoice dash printed")
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text=f"WebSocket from another origin ({origin}) refused")
        response = await handler(request)
        if self.token and request.query.get("token") and not response.prepared:
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    @staticmethod
    async def _headers(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(HEADERS)

    # -- pages -----------------------------------------------------------------------------------------------
    async def _index(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _api_state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.state.snapshot())

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_str(json.dumps(self.state.snapshot()))
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    asyncio.get_running_loop().create_task(self._command(ws, message.data))
        finally:
            self._sockets.discard(ws)
        return ws

    async def _command(self, ws: web.WebSocketResponse, text: str) -> None:
        """One command from the page, answered on its WebSocket (``id`` is echoed)."""
        try:
            command = json.loads(text)
            kind, call_id = command.get("type"), command.get("id")
        except (ValueError, AttributeError):
            return
        loop = asyncio.get_running_loop()
        try:
            if kind == "ask":
                sentence = str(command.get("text", "")).strip()[:MAX_SENTENCE]
                if not sentence:
                    raise ValueError("say something first")
                if self.ask is None:
                    raise ValueError("this dashboard is read-only (no dialogue)")
                answer = {"turn": await loop.run_in_executor(self._commands, self.ask, sentence)}
            elif kind == "ptt":
                await loop.run_in_executor(self._commands, self.press)
                answer = {}
            else:
                raise ValueError(f"unknown command {kind!r}")
            reply = {"type": kind, "id": call_id, "ok": True, **answer}
        except (ValueError, BusError) as exc:
            reply = {"type": kind, "id": call_id, "ok": False, "error": str(exc)}
        except Exception as exc:  # a failing turn is reported to the page, and the server goes on
            log.exception("dashboard command %s failed", kind)
            reply = {"type": kind, "id": call_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if not ws.closed:
            await ws.send_str(json.dumps(reply))

    def press(self) -> None:
        """Press and release the steering-wheel push-to-talk button (the simulator's control topic)."""
        for down in (True, False):
            self.client.control(self.vehicle_id, ControlRequest(set={PUSH_TO_TALK: down}))

    # -- pushing changes -------------------------------------------------------------------------------------
    def _changed(self) -> None:
        """Called on the bus thread for every change: wake the flusher (once per batch)."""
        if self._loop and self._wake and not self._woken:
            self._woken = True
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _flush(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(COALESCE_S)
            self._wake.clear()
            self._woken = False
            update = self.state.take()
            if update is None:
                continue
            data = json.dumps(update)
            for ws in list(self._sockets):
                try:
                    await ws.send_str(data)
                except (ConnectionError, RuntimeError):
                    self._sockets.discard(ws)
