"""`python main.py connections connect|list|disconnect|refresh` (and `check`, which needs the
provider's mapping too: `sync.connection_check`, attached by `main`).

`connect` prints the consent URL the partner opens in a browser; the provider then redirects
to `/oauth/<provider>/callback` on this server (REBILL_PUBLIC_URL), which stores the tokens.
Nothing here ever prints a token.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from sqlmodel import Session

from config.cli_helpers import AsJson, echo_json, fail
from config.db import get_engine, session_scope
from connectors.base import ConnectorError

from .maintenance import refresh_due_connections
from .models import Connection
from .repository import connection_by_name, list_connections
from .service import ConnectionSetupError, disconnect_and_revoke, start_consent
from .token_source import DatabaseTokenSource

__all__ = ["NameOpt", "PartnerOpt", "connections_app", "find_connection"]

connections_app = typer.Typer(
    help="Accounting connections (QuickBooks Online, Xero, FreshBooks): connect, list, check, "
    "refresh, disconnect.",
    no_args_is_help=True,
)

PartnerOpt = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", "--connection", help="Connection name (default: the provider)."),
]


def _record(row: Connection) -> dict[str, Any]:
    return {
        "id": row.id,
        "partner": row.partner_id,
        "name": row.name,
        "provider": row.provider.value,
        "status": row.status.value,
        "tenant": row.remote_tenant,
        "tenant_name": row.remote_tenant_name,
        "access_expires_at": row.access_expires_at,
        "refresh_expires_at": row.refresh_expires_at,
        "token_version": row.token_version,
        "last_error": row.last_error,
        "updated_at": row.updated_at,
    }


def find_connection(session: Session, partner: str, name: str | None) -> Connection:
    """The partner's connection by name, or its only one; exits naming the option otherwise."""
    if name is not None:
        row = connection_by_name(session, partner, name)
        if row is None:
            raise fail(f"connection: partner {partner} has no connection {name!r}", 2)
        return row
    rows = list_connections(session, partner)
    if len(rows) != 1:
        names = ", ".join(r.name for r in rows) or "none"
        raise fail(f"--name: partner {partner} has {len(rows)} connections ({names}); pick one", 2)
    return rows[0]


@connections_app.command("connect")
def connect_command(
    provider: Annotated[str, typer.Argument(help="quickbooks, xero or freshbooks")],
    partner: PartnerOpt,
    name: NameOpt = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="Xero / FreshBooks: the organisation's name, when the login has several."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="API base URL for this connection (sandbox).")
    ] = None,
) -> None:
    """Print the consent URL (valid 15 minutes, once) for the partner to open."""
    try:
        with session_scope() as session:
            started = start_consent(
                session,
                partner_id=partner,
                provider=provider,
                name=name,
                tenant_name=tenant,
                base_url=base_url,
            )
    except ConnectionSetupError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"Open this URL to connect {provider} for {partner} (valid 15 minutes, once):")
    typer.echo(started.url)


@connections_app.command("list")
def list_command(
    partner: Annotated[str | None, typer.Option("--partner", "-p", help="Partner id.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Connections with their status, organisation, token expiry and last error."""
    with session_scope() as session:
        records = [_record(row) for row in list_connections(session, partner)]
    if as_json:
        echo_json(records)
        return
    if not records:
        typer.echo("no connections")
    for r in records:
        tenant = r["tenant_name"] or r["tenant"] or "-"
        expiry = r["access_expires_at"].isoformat() if r["access_expires_at"] else "-"
        line = f"{r['partner']}/{r['name']}  {r['provider']}  {r['status']}  tenant {tenant}"
        typer.echo(f"{line}  token until {expiry}")
        if r["last_error"]:
            typer.echo(f"    last error: {r['last_error']}")


@connections_app.command("disconnect")
def disconnect_command(partner: PartnerOpt, name: NameOpt = None) -> None:
    """Forget the connection's tokens and revoke the grant at the provider (syncing to it
    stops until it is connected again)."""
    with session_scope() as session:
        conn_name = find_connection(session, partner, name).name
    try:
        row, problem = asyncio.run(disconnect_and_revoke(get_engine(), partner, conn_name))
    except ConnectionSetupError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"disconnected {partner}/{row.name} ({row.provider.value})")
    if problem:
        typer.echo(
            f"warning: {row.provider.value} did not confirm the revocation ({problem}); the "
            "tokens are forgotten here, and the partner can remove the app in "
            f"{row.provider.value}'s settings",
            err=True,
        )


@connections_app.command("refresh")
def refresh_command(
    partner: Annotated[str | None, typer.Option("--partner", "-p", help="Partner id.")] = None,
    name: NameOpt = None,
    *,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Every active connection whose refresh token lapses within 30 days "
            "(the daily keep-alive; no --partner needed).",
        ),
    ] = False,
) -> None:
    """Refresh a connection's tokens now (saving the rotated refresh token)."""
    if due:
        report = asyncio.run(refresh_due_connections(get_engine()))
        typer.echo(f"refreshed {len(report.refreshed)}, failed {len(report.failed)}")
        for connection_id, message in report.failed.items():
            typer.echo(f"  {connection_id}: {message}")
        if report.failed:
            raise typer.Exit(1)
        return
    if partner is None:
        raise fail("--partner: required (or --due for every connection that is due)", 2)
    with session_scope() as session:
        row = find_connection(session, partner, name)
        connection_id, conn_name = row.id, row.name
    label = f"{partner}/{conn_name}"
    source = DatabaseTokenSource(get_engine(), connection_id)
    try:
        asyncio.run(source.force_refresh())
    except ConnectorError as exc:
        raise fail(exc.message) from None
    with session_scope() as session:
        fresh = find_connection(session, partner, conn_name)
        typer.echo(f"refreshed {label}; access token valid until {fresh.access_expires_at}")
