"""Webhooks never read unbounded bodies, on a real server (uvicorn on loopback, in a thread):
a declared length over 1 MiB is refused before a byte is read; a chunked body is refused as
soon as it passes 1 MiB. What the app read is counted at the ASGI boundary, so the assertion
is about bytes, not time or memory noise: a 200 MiB upload costs the server at most the limit
plus the pieces uvicorn had already buffered, never the body."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.webhooks import MAX_BODY
from tests.api.live_server import free_port

HOOKS = ["/webhooks/stripe", "/webhooks/freshbooks", "/webhooks/quickbooks", "/webhooks/xero"]
BIG = 200 * 1024 * 1024
PIECE = 64 * 1024
# uvicorn stops reading from the socket once it holds 64 KiB the app has not taken; whatever
# it had already read is at most a few pieces. The app itself must stop at the limit.
SLACK = 4 * PIECE


class CountingApp:
    """The app, with a count of request-body bytes it actually received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture
def server(engine: object) -> Iterator[tuple[CountingApp, int]]:
    app = CountingApp(create_app())
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(600):  # readiness, not a timing assertion
        if running.started:
            break
        threading.Event().wait(0.1)
    assert running.started, "uvicorn did not start"
    yield app, port
    running.should_exit = True
    thread.join(timeout=30)


def _response(sock: socket.socket) -> bytes:
    """Everything the server answered before closing (the 413 comes before the reset)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and data.endswith(b"}"):
                break
    except (ConnectionResetError, TimeoutError):
        pass
    return data


@pytest.mark.parametrize("hook", HOOKS)
def test_a_large_chunked_body_is_refused_at_the_limit(
    server: tuple[CountingApp, int], hook: str
) -> None:
    app, port = server
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0

    def send_body() -> None:
        nonlocal sent
        piece = b"x" * PIECE
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        try:
            sock.sendall(
                f"POST {hook} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            while sent < BIG:
                sock.sendall(chunk)
                sent += len(piece)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what we expect once it refused

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = _response(sock)
    sock.close()
    sender.join(timeout=60)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"detail":"body: larger than 1 MiB"' in answer
    assert MAX_BODY < app.read <= MAX_BODY + SLACK
    assert sent < BIG  # the server stopped taking the upload long before its end


@pytest.mark.parametrize("hook", HOOKS)
def test_a_declared_length_over_the_limit_is_refused_before_reading(
    server: tuple[CountingApp, int], hook: str
) -> None:
    app, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            f"POST {hook} HTTP/1.1\r\nHost: t\r\nContent-Length: {BIG}\r\n\r\n".encode()
            + b"x" * PIECE
        )
        answer = _response(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert app.read == 0
