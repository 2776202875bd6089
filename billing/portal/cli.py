"""`portal link` and `portal revoke`: an operator hands a client a fresh link to an invoice's
portal, or withdraws links (one, or all of a client's). Every command is one unit of work.
A refusal is one line on stderr and exit status 2 (`config.cli_helpers.fail`)."""

from __future__ import annotations

from typing import Annotated

import typer

from billing.invoicing.cli import PartnerOpt
from billing.invoicing.errors import InvoiceKeyError, InvoiceNotFoundError
from billing.portal.errors import NotIssuedError
from billing.portal.repository import PortalRepository
from billing.portal.service import issue_link_for, revoke_client_links, revoke_link
from billing.tenants.cli import partner_for_command as partner_of
from billing.tenants.errors import TenantError
from billing.tenants.service import get_client
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope

__all__ = ["portal_app"]

portal_app = typer.Typer(
    help="Client portal links: issue a fresh one, revoke.", no_args_is_help=True
)


@portal_app.command("link")
def link_command(
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice number (or id).")],
    partner: PartnerOpt = None,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Lifetime (default REBILL_PORTAL_LINK_DAYS)."),
    ] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Print a fresh portal link for the invoice (the client's earlier links keep working)."""
    try:
        with session_scope() as session:
            partner_id = partner_of(session, partner)
            issued = issue_link_for(session, partner_id, invoice, days=days)
            link_id, expires = issued.link.link_id, issued.link.expires_at
            url = issued.url
    except (InvoiceNotFoundError, InvoiceKeyError, NotIssuedError, TenantError) as exc:
        raise fail(exc, 2) from exc
    if as_json:
        echo_json({"id": link_id, "url": url, "expires_at": expires.isoformat()})
        return
    typer.echo(url)
    typer.echo(f"link {link_id}, valid until {expires.isoformat()}", err=True)


@portal_app.command("revoke")
def revoke_command(
    link: Annotated[int | None, typer.Option("--link", help="One link, by id.")] = None,
    client: Annotated[
        str | None, typer.Option("--client", help="Every link of this client.")
    ] = None,
    partner: PartnerOpt = None,
) -> None:
    """Withdraw a link (`--link ID`) or all of a client's links (`--client ID`).

    Whoever opens them then gets a "withdrawn" page."""
    if (link is None) == (client is None):
        raise fail("give exactly one of --link and --client", 2)
    try:
        with session_scope() as session:
            partner_id = partner_of(session, partner)
            if link is not None:
                found = PortalRepository(session).link(link)
                if found is None or found.partner_id != partner_id:
                    raise LookupError(f"no portal link {link} of partner {partner_id}")
                revoke_link(session, link)
                message = f"link {link} revoked"
            else:
                assert client is not None
                get_client(session, partner_id, client)
                count = revoke_client_links(session, partner_id, client)
                message = f"{count} link(s) of client {client} revoked"
    except (LookupError, TenantError) as exc:
        raise fail(exc, 2) from exc
    typer.echo(message)
