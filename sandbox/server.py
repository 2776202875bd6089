"""Serve any fake remote (an object with `handle(httpx.Request) -> httpx.Response`) on loopback.

Tests drive the fakes through respx inside one process; the worker-kill test and `python main.py
sandbox` need them in a server that outlives the worker processes, with the same state and
failure injection. The adapter turns each ASGI request into the `httpx.Request` the fake
expects, so one fake serves both ways. Injected transport failures become their loopback
equivalent: a timeout hangs past the client's timeout, a reset drops the connection.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import httpx
import uvicorn

__all__ = ["FakeServer", "HandlesRequests", "asgi_app", "free_port"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class HandlesRequests(Protocol):
    base_url: str

    def handle(self, request: httpx.Request) -> httpx.Response: ...


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def asgi_app(fake: HandlesRequests, *, hang_seconds: float = 65.0) -> Any:
    """An ASGI app answering every request from `fake`. A lock serialises the fake's state the
    way a real remote serialises one object's writes."""
    lock = threading.Lock()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        url = fake.base_url.rstrip("/") + scope["path"] + (f"?{query}" if query else "")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        try:
            with lock:
                response = fake.handle(request)
        except httpx.TimeoutException:
            await asyncio.sleep(hang_seconds)
            response = httpx.Response(504, text="gateway timeout (injected)")
        except httpx.TransportError as exc:
            raise ConnectionResetError("injected reset") from exc
        response.read()
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.items()
                    if k.lower() not in {"content-length", "transfer-encoding"}
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    return app


class FakeServer:
    """A uvicorn server in a daemon thread, serving one fake on 127.0.0.1."""

    def __init__(
        self, fake: HandlesRequests, port: int | None = None, *, hang_seconds: float = 65.0
    ) -> None:
        self.fake = fake
        self.port = port or free_port()
        config = uvicorn.Config(
            asgi_app(fake, hang_seconds=hang_seconds),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fake server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
