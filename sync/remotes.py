"""The worker's default way to reach a connection: the connector the connectors' registry
opens, and the mapping the mappings layer pairs with the provider. Sync is the layer that may
import both, so this is where the two meet (connectors never import mappings)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from config.db import read_scope
from connectors.base import ConnectionInfo
from connectors.registry import (
    UnknownConnectionError,
    connection_info,
    get_connection,
    open_connector,
)
from mappings.base import ConnectionMapping
from mappings.providers import UnknownMappingError, mapping_for
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.notices import reauth_notifier

__all__ = ["open_mapping", "registry_remote"]


def open_mapping(info: ConnectionInfo) -> ConnectionMapping:
    """The connection's mapping: its settings (from the partner file) read by its provider's
    mapping; `MappingError` names a wrong setting."""
    try:
        return mapping_for(info.provider, info.settings)
    except UnknownMappingError:
        raise UnknownConnectionError(f"provider: no mapping for {info.provider!r}") from None


def registry_remote(
    engine: Engine, *, transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[ConnectionSummary], Remote]:
    notify = reauth_notifier(engine)

    def open_remote(connection: ConnectionSummary) -> Remote:
        with read_scope(engine) as session:
            stored = get_connection(session, connection.id)
            if stored is None:
                raise UnknownConnectionError(f"connection: no connection {connection.id!r}")
            info = connection_info(session, stored)
        mapping = open_mapping(info)
        connector = open_connector(
            engine, connection.id, transport=transport, on_needs_reauth=notify
        )
        return Remote(connector, mapping)

    return open_remote
