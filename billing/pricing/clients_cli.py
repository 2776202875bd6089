"""`clients create`: the tenants' `clients` command group gets its create command here, because
creating a client on a plan (`--plan`) writes its price book too (`onboard_client`), and the
tenants package may not depend on pricing (pricing depends on tenants)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource
from billing.pricing.onboarding import onboard_client
from billing.tenants.cli import Partner, address_fields, clients_app
from billing.tenants.errors import TenantError
from billing.tenants.schemas import ClientCreate
from config.cli_helpers import fail
from config.db import session_scope
from config.db_types import utcnow

__all__ = ["create_client"]


@clients_app.command("create")
def create_client(
    partner: Partner,
    slug: Annotated[str, typer.Option("--id", help="Slug, unique per partner.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    external_ref: Annotated[str | None, typer.Option(help="Your system's id.")] = None,
    email: Annotated[str | None, typer.Option(help="Billing e-mail.")] = None,
    currency: Annotated[str | None, typer.Option(help="Defaults to the partner's.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Defaults to the partner's.")] = None,
    anchor_day: Annotated[int, typer.Option(help="Billing anchor day 1-31.")] = 1,
    line1: Annotated[str | None, typer.Option(help="Address line 1.")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2.")] = None,
    plan: Annotated[
        str | None, typer.Option(help="Plan code, from the client's first period.")
    ] = None,
) -> None:
    """Create a client under a partner, on a plan (recorded as source `cli`)."""
    address = address_fields(line1=line1, city=city, postal_code=postal_code, country=country)
    fields: dict[str, Any] = {"address": address} if address else {}
    try:
        spec = ClientCreate(
            id=slug,
            name=name,
            external_ref=external_ref,
            billing_email=email,
            currency=currency,
            timezone=timezone,
            billing_anchor_day=anchor_day,
            **fields,
        )
        with session_scope() as session:
            client, _ = onboard_client(
                session, partner, spec, plan, utcnow(), source=ChangeSource.CLI
            )
    except InvalidPricingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except (ValidationError, TenantError) as exc:
        raise fail(exc) from exc
    on = f", plan {plan}" if plan else ""
    typer.echo(
        f"created client {client.id} of {partner} ({client.currency}, {client.timezone}{on})"
    )
