"""From a stored connection to a working `Connector`.

`open_connector` is the one place that knows which module serves which provider; provider
modules are imported lazily so a deployment that uses only Xero never imports QuickBooks code,
and a new remote is one line here. The connection's mapping settings come from the partner
file (`[partner.connections.<name>]`, stored by `config apply`).
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from config.settings import get_settings
from connectors.base import ConnectionInfo, Connector
from connectors.connections.models import Connection
from connectors.connections.repository import get_connection, list_connections
from connectors.connections.service import mapping_settings
from connectors.connections.token_source import DatabaseTokenSource, ReauthNotifier

__all__ = [
    "PROVIDER_MODULES",
    "UnknownConnectionError",
    "connection_info",
    "get_connection",
    "list_connections",
    "open_connector",
]

PROVIDER_MODULES: dict[str, str] = {
    "quickbooks": "connectors.quickbooks",
    "xero": "connectors.xero",
    "freshbooks": "connectors.freshbooks",
}


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
    """The connection's own base URL, else the settings override, else the provider's."""
    if connection.base_url:
        return connection.base_url
    settings = get_settings()
    override = {
        "quickbooks": settings.quickbooks_api_url,
        "xero": settings.xero_api_url,
        "freshbooks": settings.freshbooks_api_url,
    }
    return override.get(connection.provider.value) or None


def connection_info(session: Session, connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        connection_id=connection.id,
        partner_id=connection.partner_id,
        provider=connection.provider.value,
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
    with Session(engine) as session:
        connection = get_connection(session, connection_id)
        if connection is None:
            raise UnknownConnectionError(f"connection: no connection {connection_id!r}")
        info = connection_info(session, connection)
    module_name = PROVIDER_MODULES.get(info.provider)
    if module_name is None:
        raise UnknownConnectionError(f"provider: no connector for {info.provider!r}")
    module = importlib.import_module(module_name)
    build = cast(_BuildConnector, module.build_connector)
    tokens = DatabaseTokenSource(
        engine,
        connection_id,
        transport=token_transport or transport,
        on_needs_reauth=on_needs_reauth,
    )
    return build(info, tokens, transport=transport)
