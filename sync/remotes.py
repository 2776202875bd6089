"""The worker's default way to reach a connection: the connector from `connectors.registry`
and the mapping from the provider profile's mapping module (`registry.open_mapping`), both
imported lazily so sync depends only on their published interfaces."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine

from config.db import read_scope
from sync.connections import ConnectionSummary
from sync.handlers import Remote

__all__ = ["registry_remote"]


def _notifier(engine: Engine) -> Any:
    try:
        notices = importlib.import_module("sync.notices")
    except ImportError:  # the notice module is optional: the status still shows everywhere
        return None
    return notices.reauth_notifier(engine)


def registry_remote(
    engine: Engine, *, transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[ConnectionSummary], Remote]:
    registry = importlib.import_module("connectors.registry")
    notify = _notifier(engine)

    def open_remote(connection: ConnectionSummary) -> Remote:
        with read_scope(engine) as session:
            stored = registry.get_connection(session, connection.id)
            info = registry.connection_info(session, stored)
        mapping = registry.open_mapping(info)
        connector = registry.open_connector(
            engine, connection.id, transport=transport, on_needs_reauth=notify
        )
        return Remote(connector, mapping)

    return open_remote
