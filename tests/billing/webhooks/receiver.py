"""A real HTTP receiver on loopback for webhook tests: records every request (headers and raw
body) and answers from a script (status codes, `Retry-After`, a stall)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    """Answers in order; the last repeats. An int is a status; "stall" waits for `release`."""
    retry_after: str | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> int | str:
        if not self.script:
            return 200
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_receiver(
    tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[Receiver]:
    """On 127.0.0.1; with `tls`, https and `host` in the URL (the test resolves it)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(
                Received({k.lower(): v for k, v in self.headers.items()}, body)
            )
            answer = receiver.answer()
            if answer == "stall":
                receiver.release.wait(10)
                answer = 200
            assert isinstance(answer, int)
            payload = f"answer {answer} " + "x" * 3000
            self.send_response(answer)
            if receiver.retry_after is not None:
                self.send_header("Retry-After", receiver.retry_after)
            if 300 <= answer < 400:
                self.send_header("Location", "https://elsewhere.example/")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload.encode())

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    receiver.url = f"{scheme}://{host}:{server.server_address[1]}/hooks/rebill"
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
