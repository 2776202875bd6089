"""Browser-test plumbing: Debian's chromium through Playwright against a real uvicorn server on
a free loopback port (in a thread, on the test database), and screenshots as artefacts."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Debian's chromium; REBILL_TEST_CHROMIUM points elsewhere (the summary-line test uses it).
CHROMIUM = Path(os.environ.get("REBILL_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    """Skip with the reason on a developer machine without chromium; under CI=true, fail."""
    in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if in_ci:
            pytest.fail("CI=true but the playwright package is missing (pip install -e .[dev])")
        pytest.skip("browser tests need the playwright package (pip install -e .[dev])")
    if not CHROMIUM.exists():
        if in_ci:
            pytest.fail(f"CI=true but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")


@contextmanager
def live_server() -> Iterator[str]:
    """The app on 127.0.0.1:<free port>; yields its base URL."""
    import uvicorn

    from api.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        if time.monotonic() > deadline:
            pytest.skip("the test server did not start within 180 s (machine loaded)")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def expect(locator: Any) -> Any:
    """Playwright's auto-waiting assertions (imported late: the package may be missing)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)
