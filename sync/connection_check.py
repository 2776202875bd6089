"""`rebill connections check`: what a connection's mapping names that does not exist remotely.

It needs both the provider's mapping (which names the accounts, tax codes, classes and tracking
options) and its connector (which looks them up), so it lives in sync, the layer that may import
both; `main` attaches it to the `connections` commands of `connectors.connections.cli`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import typer
from sqlalchemy import Engine

from config.db import get_engine, session_scope
from connectors.base import ConnectorError
from connectors.connections.cli import NameOpt, PartnerOpt, find_connection
from connectors.connections.service import mapping_settings
from connectors.registry import open_connector
from mappings.providers import mapping_for

__all__ = ["check_command", "mapping_names", "missing_names"]


def mapping_names(provider: str, settings: Mapping[str, object]) -> Mapping[str, str]:
    """Every remote object the connection's mapping names, as setting path → remote id or
    code; `MappingError` (a `ValueError`) names a wrong setting."""
    return mapping_for(provider, settings).required_remote_names()


async def missing_names(
    engine: Engine, connection_id: str, names: Mapping[str, str]
) -> dict[str, str]:
    """Of `names`, those the remote does not have, with the reason."""
    connector = open_connector(engine, connection_id)
    try:
        return await connector.check_references(names)
    finally:
        await connector.aclose()


def _exit(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def check_command(partner: PartnerOpt, name: NameOpt = None) -> None:
    """List what the connection's mapping names that does not exist remotely (exit 1 if any)."""
    with session_scope() as session:
        row = find_connection(session, partner, name)
        connection_id, provider, label = row.id, row.provider.value, f"{partner}/{row.name}"
        settings = mapping_settings(session, row)
    try:
        names = mapping_names(provider, settings)
    except (ValueError, LookupError) as exc:  # MappingError names the setting
        raise _exit(f"mapping of {label}: {exc}", 2) from None
    try:
        missing = asyncio.run(missing_names(get_engine(), connection_id, names))
    except ConnectorError as exc:
        raise _exit(f"{label}: {exc.message}", 1) from None
    if not missing:
        typer.echo(f"{label}: all {len(names)} mapped names exist in {provider}")
        return
    typer.echo(f"{label}: {len(missing)} of {len(names)} mapped names do not exist in {provider}:")
    for setting, reason in sorted(missing.items()):
        typer.echo(f"  {setting} = {names.get(setting, '?')!r}: {reason}")
    raise typer.Exit(1)
