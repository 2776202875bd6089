"""A provider module for registry and CLI tests: records what `open_connector` passed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.base import ConnectionInfo

built: list[tuple[ConnectionInfo, Any, Any]] = []
MISSING = "999"


class StubConnector:
    provider = "stub"

    def __init__(self, tokens: Any) -> None:
        self.tokens = tokens
        self.closed = False

    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        await self.tokens.access_token()  # a real connector authenticates first
        return {
            path: f"no account with code {value}"
            for path, value in references.items()
            if value == MISSING
        }

    async def aclose(self) -> None:
        self.closed = True


def build_connector(
    info: ConnectionInfo, tokens: Any, *, transport: httpx.AsyncBaseTransport | None = None
) -> StubConnector:
    built.append((info, tokens, transport))
    return StubConnector(tokens)
