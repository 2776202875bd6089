"""Real SMTP servers (aiosmtpd on loopback, random free ports) for the mail tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.billing.documents.builders import Inbox, free_port

StartServer = Callable[..., tuple[Inbox, int]]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """`start(**controller_options) -> (inbox, port)`; every server stops after the test."""
    running: list[Controller] = []

    def start(inbox: Inbox | None = None, **options: Any) -> tuple[Inbox, int]:
        inbox = inbox or Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        running.append(controller)
        return inbox, port

    yield start
    for controller in running:
        controller.stop()
