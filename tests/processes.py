"""Running `python main.py ...` as a user would, and waiting for a server without assuming how
fast the machine is: a server that is still starting when a generous bound passes makes the
test skip (the machine is too loaded to say anything), one that exited fails it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

__all__ = ["ROOT", "rebill", "wait_for_http"]

ROOT = Path(__file__).resolve().parents[1]
START_BOUND_SECONDS = 180.0


def rebill(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python main.py *args` in the repository, with this process's environment plus `env`."""
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for_http(url: str, process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Until `url` answers at all; fails if `process` exits first."""
    deadline = time.monotonic() + START_BOUND_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with status {process.returncode}")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.skip(f"the server did not answer within {START_BOUND_SECONDS:.0f} s (machine loaded)")
