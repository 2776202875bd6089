"""`python main.py serve` in a child process on a free loopback port, for tests whose fault is
in the server itself (a storage fault, a body read by the real HTTP stack).

The server's stderr is collected line by line, so a test can assert what it logged. When the
tests run as root, `without_file_override=True` starts the server without the capabilities
that let root ignore file permissions, so a read-only file is read-only to it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _drop_file_override() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def can_drop_file_override() -> bool:
    """Whether a child can be started without root's permission override (or needs none)."""
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=_drop_file_override, check=False
    )
    return probe.returncode == 0


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def live_server(
    env: Mapping[str, str], *, without_file_override: bool = False
) -> Iterator[LiveServer]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_drop_file_override if without_file_override and os.geteuid() == 0 else None,
    )
    server = LiveServer(process, f"http://127.0.0.1:{port}")
    assert process.stderr is not None
    stream = process.stderr

    def collect() -> None:
        for raw in iter(stream.readline, b""):
            server.lines.append(raw.decode("utf-8", "replace"))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        for _ in range(600):  # a readiness bound (up to a minute), not a timing assertion
            if process.poll() is not None:
                raise AssertionError(f"the server exited at start:\n{server.log()}")
            try:
                httpx.get(f"{server.url}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"the server did not start:\n{server.log()}")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
