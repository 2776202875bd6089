"""From a stored connection to a working `Connector`.

`open_connector` asks the provider's profile (`connectors.profiles`) which function builds its
connector and which setting overrides its base URL: nothing here names a provider, so a new
remote needs no line here. The connection's mapping settings come from the partner file
(`[partner.connections.<name>]`, stored by `config apply`) and travel on `ConnectionInfo`;
which mapping reads them is the sync layer's business (`sync.remotes`), since connectors never
import mappings.
"""

from __future__ import annotations

from typing import Protocol, cast

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from config.db import read_scope
from config.settings import get_settings
from connectors.base import ConnectionInfo, Connector
from connectors.connections.models import Connection
from connectors.connections.repository import get_connection, list_connections
from connectors.connections.service import mapping_settings
from connectors.connections.token_source import DatabaseTokenSource, ReauthNotifier
from connectors.profiles import UnknownProviderError, profile

__all__ = [
    "UnknownConnectionError",
    "connection_info",
    "get_connection",
    "list_connections",
    "open_connector",
]


class UnknownConnectionError(LookupError):
    pass


class _BuildConnector(Protocol):
    def __call__(
        self,
        info: ConnectionInfo,
        tokens: DatabaseTokenSource | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Connector: ...


def _base_url(connection: Connection) -> str | None:
    """The connection's own base URL, else the settings override named by the profile, else
    None (the connector's default)."""
    if connection.base_url:
        return connection.base_url
    try:
        field = profile(str(connection.provider)).base_url_field
    except UnknownProviderError:
        return None
    override = getattr(get_settings(), field, None)
    return override if isinstance(override, str) and override else None


def connection_info(session: Session, connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        connection_id=connection.id,
        partner_id=connection.partner_id,
        provider=str(connection.provider),
        remote_tenant=connection.remote_tenant or "",
        base_url=_base_url(connection),
        settings=mapping_settings(session, connection),
    )


def open_connector(
    engine: Engine,
    connection_id: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_needs_reauth: ReauthNotifier | None = None,
    token_transport: httpx.AsyncBaseTransport | None = None,
) -> Connector:
    """The connector for a stored connection. `transport` goes to the provider's API client
    (tests, the loopback sandbox); token requests use `token_transport`, else `transport`.
    `on_needs_reauth(connection_id, reason)` is told when the refresh token is refused
    (`sync.notices.notify_needs_reauth` e-mails the partner)."""
    with read_scope(engine) as session:
        connection = get_connection(session, connection_id)
        if connection is None:
            raise UnknownConnectionError(f"connection: no connection {connection_id!r}")
        info = connection_info(session, connection)
    try:
        build = cast(_BuildConnector, profile(info.provider).connector)
    except UnknownProviderError:
        raise UnknownConnectionError(f"provider: no connector for {info.provider!r}") from None
    tokens = DatabaseTokenSource(
        engine,
        connection_id,
        transport=token_transport or transport,
        on_needs_reauth=on_needs_reauth,
    )
    return build(info, tokens, transport=transport)
