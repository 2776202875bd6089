"""`python main.py partners|clients|usage-types|apikeys ...`: set tenants up from a shell.

`apikeys create` prints the key on its last line so scripts can take it with `tail -n 1`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from billing.tenants import logos, service
from billing.tenants.errors import TenantError
from billing.tenants.models import Aggregation, ClientStatus, Scope
from billing.tenants.repository import TenantRepository
from billing.tenants.schemas import (
    ClientRead,
    ClientUpdate,
    PartnerCreate,
    PartnerRead,
    PartnerSettings,
    UsageTypeCreate,
    UsageTypeRead,
)
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope

__all__ = [
    "Partner",
    "address_fields",
    "apikeys_app",
    "clients_app",
    "partners_app",
    "usage_types_app",
]

partners_app = typer.Typer(
    help="Partners (tenants): create, list, upload their logo.", no_args_is_help=True
)
clients_app = typer.Typer(help="A partner's clients: create, list, update.", no_args_is_help=True)
usage_types_app = typer.Typer(help="A partner's usage types.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)

Partner = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]


def partner_for_command(session: Session, partner: str | None) -> str:
    """The partner a command acts for: `--partner`, or the only one there is (a single-partner
    install need not name it). One helper for every command group that takes `--partner`."""
    if partner is not None:
        return service.get_partner(session, partner).id
    partners = TenantRepository(session).partners()
    if len(partners) != 1:
        raise typer.BadParameter("give --partner (there is not exactly one partner)")
    return partners[0].id


def address_fields(**parts: str | None) -> dict[str, str] | None:
    given = {key: value for key, value in parts.items() if value is not None}
    return given or None


@partners_app.command("create")
def create_partner(
    slug: Annotated[str, typer.Option("--id", help="Slug, e.g. acme.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "USD",
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. America/New_York.")] = "UTC",
    invoice_prefix: Annotated[str | None, typer.Option(help="Defaults to the id.")] = None,
    late_event_days: Annotated[
        int,
        typer.Option(help="Days after an invoice is issued that usage of its period is accepted."),
    ] = 90,
) -> None:
    """Create a partner."""
    try:
        spec = PartnerCreate(
            id=slug,
            name=name,
            currency=currency,
            timezone=timezone,
            invoice_prefix=invoice_prefix,
            settings=PartnerSettings(late_event_days=late_event_days),
        )
        with session_scope() as session:
            partner = service.create_partner(session, spec)
    except (ValidationError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(
        f"created partner {partner.id} ({partner.name}, {partner.currency}, {partner.timezone})"
    )


@partners_app.command("logo")
def partner_logo(
    partner: Partner,
    file: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="A PNG or JPEG file (at most 1 MiB).")
    ] = None,
    *,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the logo.")] = False,
) -> None:
    """Upload the logo invoices, e-mails and the dashboard show (checked by its content; SVG
    is refused), or remove it. The file is read now and stored; it is not read again."""
    if (file is None) == (not remove):
        raise fail("give a FILE to upload, or --remove")
    try:
        with session_scope() as session:
            if file is None:
                removed = logos.remove_logo(session, partner)
                typer.echo(f"logo of {partner} removed" if removed else f"{partner} had no logo")
                return
            stored = logos.set_logo(session, partner, logos.read_logo_file(file))
    except TenantError as exc:
        raise fail(exc) from exc
    typer.echo(
        f"logo of {partner} stored: {stored.media_type}, {stored.width}x{stored.height} px, "
        f"{len(stored.content):,} bytes"
    )


@partners_app.command("list")
def list_partners(*, as_json: AsJson = False) -> None:
    """Every partner."""
    with session_scope() as session:
        partners = [PartnerRead.model_validate(p) for p in service.list_partners(session)]
    if as_json:
        echo_json([p.model_dump(mode="json") for p in partners])
        return
    for p in partners:
        typer.echo(f"{p.id:<24} {p.currency} {p.timezone:<24} {p.name}")


@clients_app.command("list")
def list_clients(
    partner: Partner,
    status: Annotated[ClientStatus | None, typer.Option(help="Only this status.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """A partner's clients."""
    with session_scope() as session:
        rows = service.list_clients(session, partner, status=status)
        clients = [ClientRead.model_validate(c) for c in rows]
    if as_json:
        echo_json([c.model_dump(mode="json") for c in clients])
        return
    for c in clients:
        typer.echo(f"{c.id:<24} {c.status:<10} {c.currency} {c.timezone:<22} {c.name}")


@clients_app.command("update")
def update_client(
    partner: Partner,
    slug: Annotated[str, typer.Option("--id", help="The client to change.")],
    name: Annotated[str | None, typer.Option()] = None,
    external_ref: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    timezone: Annotated[str | None, typer.Option()] = None,
    anchor_day: Annotated[int | None, typer.Option()] = None,
    status: Annotated[ClientStatus | None, typer.Option()] = None,
    line1: Annotated[str | None, typer.Option(help="Address line 1.")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a client (only the options given)."""
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "external_ref": external_ref,
            "billing_email": email,
            "timezone": timezone,
            "billing_anchor_day": anchor_day,
            "status": status,
        }.items()
        if value is not None
    }
    address = address_fields(line1=line1, city=city, postal_code=postal_code, country=country)
    if address:
        changes["address"] = address
    if not changes:
        raise fail("nothing to change: give at least one option")
    try:
        with session_scope() as session:
            client = service.update_client(session, partner, slug, ClientUpdate(**changes))
    except (ValidationError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(f"updated client {client.id}: {', '.join(sorted(changes))}")


@usage_types_app.command("create")
def create_usage_type(
    partner: Partner,
    code: Annotated[str, typer.Option(help="e.g. voice_minutes, sms, workflow_runs.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    unit: Annotated[str, typer.Option(help="e.g. minute, message, run.")],
    precision: Annotated[int, typer.Option(help="Decimals a quantity may have.")] = 0,
    aggregation: Annotated[Aggregation, typer.Option()] = Aggregation.SUM,
    aggregation_property: Annotated[
        str | None, typer.Option("--property", help="For unique_count: which property.")
    ] = None,
    wholesale_rate: Annotated[str, typer.Option(help="Per unit, partner currency.")] = "0",
) -> None:
    """Create a usage type for a partner."""
    try:
        spec = UsageTypeCreate(
            code=code,
            display_name=name,
            unit=unit,
            precision=precision,
            aggregation=aggregation,
            aggregation_property=aggregation_property,
            wholesale_rate=Decimal(wholesale_rate),
        )
        with session_scope() as session:
            created = service.create_usage_type(session, partner, spec)
    except InvalidOperation as exc:
        raise fail(f"--wholesale-rate {wholesale_rate!r} is not a decimal") from exc
    except (ValidationError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(f"created usage type {created.code} ({created.unit}, {created.precision} decimals)")


@usage_types_app.command("list")
def list_usage_types(partner: Partner, *, as_json: AsJson = False) -> None:
    """A partner's usage types."""
    with session_scope() as session:
        types = [
            UsageTypeRead.model_validate(t) for t in service.list_usage_types(session, partner)
        ]
    if as_json:
        echo_json([t.model_dump(mode="json") for t in types])
        return
    for t in types:
        typer.echo(
            f"{t.code:<24} {t.unit:<10} {t.precision} dp  {t.aggregation:<12} "
            f"rate {t.wholesale_rate}  {t.display_name}"
        )


@apikeys_app.command("create")
def create_api_key(
    partner: Annotated[str | None, typer.Option("--partner", "-p", help="Partner id.")] = None,
    *,
    platform: Annotated[bool, typer.Option(help="A platform key (manages partners).")] = False,
    scope: Annotated[
        list[Scope] | None, typer.Option("--scope", help="Repeatable; default ingest + read.")
    ] = None,
    name: Annotated[str, typer.Option(help="A label, e.g. 'voice platform'.")] = "",
) -> None:
    """Create a key. The key itself is printed once, on the last line."""
    if platform == (partner is not None):
        raise fail("give exactly one of --partner P or --platform")
    try:
        with session_scope() as session:
            created = service.create_api_key(session, partner, scope or (), name)
    except TenantError as exc:
        raise fail(exc) from exc
    owner = created.partner_id or "the platform"
    typer.echo(f"created API key {created.prefix} for {owner}, scopes: {' '.join(created.scopes)}")
    typer.echo("store it now: it is shown once and only its hash is kept")
    typer.echo(created.key)


@apikeys_app.command("list")
def list_api_keys(
    partner: Annotated[str | None, typer.Option("--partner", "-p", help="Partner id.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """A partner's keys (or the platform keys without --partner); never the secrets."""
    with session_scope() as session:
        keys = [service.api_key_read(k) for k in service.list_api_keys(session, partner)]
    if as_json:
        echo_json([k.model_dump(mode="json") for k in keys])
        return
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        typer.echo(f"{k.prefix:<20} {state:<18} {' '.join(k.scopes):<20} {k.name}")


@apikeys_app.command("revoke")
def revoke_api_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (rbk_...), as listed.")],
) -> None:
    """Revoke a key at once."""
    try:
        with session_scope() as session:
            key = service.revoke_api_key(session, prefix)
    except TenantError as exc:
        raise fail(exc) from exc
    typer.echo(f"revoked {key.prefix} at {key.revoked_at}")
