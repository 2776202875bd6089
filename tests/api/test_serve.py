"""`python main.py serve` starts uvicorn on the app and serves the OpenAPI document."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.processes import wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def test_serve_answers_on_the_given_port(engine: Engine) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/openapi.json", server)
        response = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=60)
        assert response.status_code == 200
        assert "/v1/usage" in response.json()["paths"]
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/v1/usage", timeout=60)
        assert unauthenticated.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=120)
