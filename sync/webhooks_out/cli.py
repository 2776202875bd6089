"""`python main.py webhooks ...`: partner webhook endpoints (add, list, update, rotate,
disable, enable), their deliveries with the last answers, replay by hand, and a send pass (the `worker`
and the scheduler's `webhooks` job send them too). Each command is one unit of work."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlmodel import Session

from billing.tenants.cli import partner_for_command
from billing.tenants.errors import TenantError
from billing.webhooks import repository as repo
from billing.webhooks.delivery import deliver_due
from billing.webhooks.events import EventType
from billing.webhooks.models import DeliveryStatus, WebhookEndpoint
from billing.webhooks.service import (
    EndpointError,
    create_endpoint,
    replay,
    rotate_secret,
    update_endpoint,
)
from config.cli_helpers import AsJson, echo_json, fail
from config.db import get_engine, session_scope
from config.db_types import utcnow
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from sync.webhooks_out.schemas import delivery_out, endpoint_out

__all__ = ["webhooks_app"]

webhooks_app = typer.Typer(
    help="Webhooks to the partner's systems: endpoints, deliveries, replay.",
    no_args_is_help=True,
)
endpoints_app = typer.Typer(help="Webhook endpoints and their secrets.", no_args_is_help=True)
webhooks_app.add_typer(endpoints_app, name="endpoints")

PartnerOpt = Annotated[
    str | None, typer.Option("--partner", "-p", help="Partner id (optional with one partner).")
]
_TYPES = ", ".join(t.value for t in EventType)


def _endpoint(session: Session, partner_id: str, endpoint_id: int) -> WebhookEndpoint:
    found = repo.endpoint_of(session, partner_id, endpoint_id)
    if found is None:
        raise fail(f"webhook endpoint {endpoint_id}: not found for partner {partner_id}", 2)
    return found


@endpoints_app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="https URL that receives the events.")],
    event: Annotated[
        list[str], typer.Option("--event", "-e", help=f"An event type (repeat): {_TYPES}.")
    ],
    description: Annotated[str, typer.Option(help="What the endpoint is for.")] = "",
    partner: PartnerOpt = None,
) -> None:
    """Subscribe URL to events; prints the signing secret once (store it with the receiver)."""
    try:
        with session_scope() as session:
            row, secret = create_endpoint(
                session,
                cipher_from_settings(),
                partner_for_command(session, partner),
                url=url,
                event_types=event,
                description=description,
                allow_private=get_settings().webhooks_allow_private_networks,
            )
            endpoint_id = row.id
    except EndpointError as exc:
        raise fail(exc, 2) from exc
    except TenantError as exc:
        raise fail(exc, 2) from exc
    typer.echo(f"webhook endpoint {endpoint_id} -> {url} ({', '.join(event)})")
    typer.echo(f"secret: {secret}  (shown once)")


@endpoints_app.command("list")
def list_command(partner: PartnerOpt = None, *, as_json: AsJson = False) -> None:
    """The partner's endpoints."""
    try:
        with session_scope() as session:
            now = utcnow()
            rows = [
                endpoint_out(r, now)
                for r in repo.endpoints(session, partner_for_command(session, partner))
            ]
    except TenantError as exc:
        raise fail(exc, 2) from exc
    if as_json:
        echo_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        typer.echo("no webhook endpoints")
    for r in rows:
        state = "enabled" if r.enabled else "disabled"
        rotating = (
            f", rotating until {r.rotating_until:%Y-%m-%d %H:%M} UTC" if r.rotating_until else ""
        )
        typer.echo(f"{r.id}  {r.url}  [{state}{rotating}]  {', '.join(r.event_types)}")


@endpoints_app.command("rotate")
def rotate_command(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint.")],
    window_hours: Annotated[
        int, typer.Option(min=0, max=168, help="Hours the previous secret still signs.")
    ] = 24,
    partner: PartnerOpt = None,
) -> None:
    """A new signing secret (printed once); the previous one signs beside it for the window."""
    try:
        with session_scope() as session:
            row = _endpoint(session, partner_for_command(session, partner), endpoint_id)
            secret = rotate_secret(
                session, cipher_from_settings(), row, window=timedelta(hours=window_hours)
            )
            until = row.previous_secret_expires_at
    except TenantError as exc:
        raise fail(exc, 2) from exc
    typer.echo(f"secret: {secret}  (shown once)")
    typer.echo(f"the previous secret signs too until {until:%Y-%m-%d %H:%M} UTC")


@endpoints_app.command("update")
def update_command(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint.")],
    url: Annotated[str | None, typer.Option(help="A new https URL.")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help=f"Replaces the subscriptions (repeat): {_TYPES}."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the endpoint is for.")] = None,
    partner: PartnerOpt = None,
) -> None:
    """Change the URL, the events subscribed to or the description (as `PATCH` does); the
    secret and the deliveries already queued stay."""
    if url is None and not event and description is None:
        raise fail("nothing to change: give --url, --event or --description", 2)
    try:
        with session_scope() as session:
            row = _endpoint(session, partner_for_command(session, partner), endpoint_id)
            update_endpoint(
                session,
                row,
                url=url,
                event_types=event or None,
                description=description,
                allow_private=get_settings().webhooks_allow_private_networks,
            )
            shown = f"{row.url} ({', '.join(row.event_types)})"
    except (EndpointError, TenantError) as exc:
        raise fail(exc, 2) from exc
    typer.echo(f"webhook endpoint {endpoint_id} -> {shown}")


def _set_enabled(endpoint_id: int, partner: str | None, *, enabled: bool) -> None:
    try:
        with session_scope() as session:
            row = _endpoint(session, partner_for_command(session, partner), endpoint_id)
            update_endpoint(session, row, enabled=enabled)
    except TenantError as exc:
        raise fail(exc, 2) from exc
    typer.echo(f"webhook endpoint {endpoint_id} {'enabled' if enabled else 'disabled'}")


@endpoints_app.command("disable")
def disable_command(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint.")], partner: PartnerOpt = None
) -> None:
    """Stop sending to the endpoint (its waiting deliveries wait; `enable` resumes them)."""
    _set_enabled(endpoint_id, partner, enabled=False)


@endpoints_app.command("enable")
def enable_command(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint.")], partner: PartnerOpt = None
) -> None:
    """Send to the endpoint again."""
    _set_enabled(endpoint_id, partner, enabled=True)


@webhooks_app.command("deliveries")
def deliveries_command(
    partner: PartnerOpt = None,
    endpoint: Annotated[int | None, typer.Option(help="Only this endpoint.")] = None,
    status: Annotated[DeliveryStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    *,
    as_json: AsJson = False,
) -> None:
    """Recent deliveries, newest first: status, attempts, last answer, next attempt."""
    try:
        with session_scope() as session:
            rows = [
                delivery_out(d, e)
                for d, e in repo.deliveries(
                    session,
                    partner_for_command(session, partner),
                    endpoint_id=endpoint,
                    status=status,
                    limit=limit,
                )
            ]
    except TenantError as exc:
        raise fail(exc, 2) from exc
    if as_json:
        echo_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        typer.echo("no deliveries")
    for r in rows:
        answer = f"HTTP {r.last_status_code}" if r.last_status_code else (r.last_error or "-")
        nxt = f", next {r.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if r.next_attempt_at else ""
        typer.echo(
            f"{r.id}  {r.event_type}  {r.webhook_id}  endpoint {r.endpoint_id}  {r.status}  "
            f"attempts {r.attempts}{nxt}  {answer[:120]}"
        )


@webhooks_app.command("replay")
def replay_command(
    delivery: Annotated[int, typer.Argument(help="The delivery to send again.")],
    partner: PartnerOpt = None,
) -> None:
    """Send a dead (or delivered) delivery again, with the same webhook-id and payload."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            found = repo.delivery_of(session, partner_id, delivery)
            if found is None:
                raise fail(f"webhook delivery {delivery}: not found for partner {partner_id}", 2)
            if not replay(session, partner_id, delivery):
                raise fail(f"webhook delivery {delivery} is {found.status}: still being tried", 2)
    except TenantError as exc:
        raise fail(exc, 2) from exc
    typer.echo(f"webhook delivery {delivery} queued again (the worker sends it)")


@webhooks_app.command("send")
def send_command() -> None:
    """Send the deliveries due now (what the worker does on each pass)."""
    report = deliver_due(get_engine(), cipher_from_settings())
    typer.echo(f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}")
