"""Onboarding and changing clients from the dashboard, without a partner file: create a client
on a plan, change its plan, discount, tax and own unit prices, suspend, archive or reactivate.

Every change goes through the services `config apply` and the API use (`create_client`,
`put_client_pricing`, `update_client`), so the same rules and messages apply, and pricing
changes land in the price change log with the source `web` and the signed-in user as its
reference. A pricing change takes effect at the start of a billing period the user picks: the
next one by default, or the current one (re-rating it); never a day inside a period (the API's
`effective_from` can do that, deliberately). All or nothing: on any problem nothing is kept
and the page says what and why.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.dashboard.web import SignedIn, check_csrf, not_found, partner_in_view
from billing.pricing.book import client_period, local_today
from billing.pricing.changes import put_client_pricing
from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource
from billing.pricing.onboarding import onboard_client
from billing.pricing.schemas import ClientPricingIn
from billing.tenants.errors import TenantError
from billing.tenants.models import Client, ClientStatus
from billing.tenants.schemas import ClientCreate, ClientUpdate
from billing.tenants.service import get_client, update_client
from config.db_types import utcnow
from config.prices import format_loc
from config.request_session import DbSession

__all__ = ["router"]

router = APIRouter(
    prefix="/dashboard/p/{partner_id}/clients",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
Form = dict[str, str]


async def _form(request: Request) -> Form:
    form = await request.form()
    return {key: str(value).strip() for key, value in form.items() if isinstance(value, str)}


def _back(url: str, **message: str) -> Response:
    (key, text), *_ = message.items()
    return RedirectResponse(f"{url}?{key}={quote_plus(text[:600])}", status_code=303)


def _pydantic_problems(exc: ValidationError) -> str:
    """The form's problems on one line, each at its field path written as the API writes it
    (`config.prices.format_loc`, the one path formatter)."""
    return "; ".join(
        f"{format_loc(error['loc']) or 'form'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )


@router.post("")
async def create(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    """A new client, and its plan from the start of its first period."""
    partner = partner_in_view(db, who, partner_id)
    back = f"/dashboard/p/{partner_id}/clients"
    form = await _form(request)
    try:
        spec = ClientCreate(
            id=form.get("id", ""),
            name=form.get("name", ""),
            billing_email=form.get("email") or None,
            currency=form.get("currency") or None,
            timezone=form.get("timezone") or None,
            billing_anchor_day=int(form.get("anchor_day") or 1),
        )
        client, _ = onboard_client(
            db,
            partner.id,
            spec,
            form.get("plan") or None,
            utcnow(),
            source=ChangeSource.WEB,
            reference=who.email,
        )
    except ValueError as exc:  # ValidationError and InvalidPricingError are ValueErrors
        db.rollback()
        return _back(back, error=_message(exc))
    except TenantError as exc:
        db.rollback()
        return _back(back, error=str(exc))
    return _back(f"{back}/{client.id}", notice=f"Client {client.id} created.")


@router.post("/{client_id}/pricing")
async def change_pricing(
    request: Request, partner_id: str, client_id: str, who: SignedIn, db: DbSession
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    client = _client(db, partner.id, client_id)
    back = f"/dashboard/p/{partner_id}/clients/{client.id}"
    form = await _form(request)
    try:
        body = ClientPricingIn(**_pricing_fields(db, client, form))
        changes = _pricing(db, who.email, client, body)
    except ValueError as exc:
        db.rollback()
        return _back(back, error=_message(exc))
    if not changes:
        return _back(back, notice="Nothing changed: the values were already in force.")
    return _back(
        back, notice=f"{len(changes)} change(s) recorded, effective {body.effective_from}."
    )


@router.post("/{client_id}/status")
async def change_status(
    request: Request, partner_id: str, client_id: str, who: SignedIn, db: DbSession
) -> Response:
    """Suspend (usage still accepted and billed, marked), archive (no new usage) or
    reactivate: `update_client`'s rules."""
    partner = partner_in_view(db, who, partner_id)
    client = _client(db, partner.id, client_id)
    back = f"/dashboard/p/{partner_id}/clients/{client.id}"
    wanted = (await _form(request)).get("status", "")
    if wanted not in {s.value for s in ClientStatus}:
        return _back(back, error=f"status: {wanted[:40]!r} is not active, suspended or archived")
    try:
        update_client(db, partner.id, client.id, ClientUpdate(status=ClientStatus(wanted)))
    except (TenantError, ValueError) as exc:
        db.rollback()
        return _back(back, error=str(exc))
    return _back(back, notice=f"Client {client.id} is now {wanted}.")


def _client(db: DbSession, partner_id: str, client_id: str) -> Client:
    try:
        return get_client(db, partner_id, client_id)
    except TenantError as exc:
        raise not_found() from exc


def _pricing_fields(db: DbSession, client: Client, form: Form) -> dict[str, Any]:
    """What the form sets: only the fields filled in, from a period start the user chose."""
    today = local_today(client.timezone, utcnow())
    period = client_period(client.billing_anchor_day, today)
    when = form.get("effective", "next")
    if when not in ("next", "current"):
        raise ValueError(f"effective: {when[:20]!r} is not the next or the current period")
    fields: dict[str, Any] = {"effective_from": period.end if when == "next" else period.start}
    if form.get("plan"):
        fields["plan"] = form["plan"]
    if form.get("discount_percent"):
        fields["discount_percent"] = form["discount_percent"]
    if form.get("no_tax") == "1":
        fields["tax"] = None
    elif form.get("tax_name") or form.get("tax_percent"):
        fields["tax"] = {"name": form.get("tax_name", ""), "percent": form.get("tax_percent", "")}
    if form.get("replace_prices") == "1":
        fields["prices"] = _unit_prices(form)
    return fields


def _unit_prices(form: Form) -> dict[str, Any]:
    """`price.<usage type>` fields: a unit price (`0.08`), or any price model written as the
    partner file writes it (`{ model = "graduated", tiers = [...] }`), so tiers, volume,
    packages and blocks need no other form; an empty one is left to the plan. The models are
    then checked by the same rules as the partner file and the API."""
    prices: dict[str, Any] = {}
    for key, value in form.items():
        if not key.startswith("price.") or not value:
            continue
        code = key.removeprefix("price.")
        if value.startswith("{"):
            try:
                prices[code] = tomllib.loads(f"price = {value}")["price"]
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(
                    f"prices.{code}: not a price as the partner file writes it ({exc})"
                ) from None
            continue
        try:
            Decimal(value)
        except InvalidOperation:
            raise ValueError(f"prices.{code}: {value[:20]!r} is not a number") from None
        prices[code] = {"model": "per_unit", "unit_price": value}
    return prices


def _pricing(db: DbSession, email: str, client: Client, body: ClientPricingIn) -> list[Any]:
    return put_client_pricing(
        db, client.partner_id, client.id, body, utcnow(), source=ChangeSource.WEB, reference=email
    )


def _message(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return _pydantic_problems(exc)
    if isinstance(exc, InvalidPricingError):
        return "; ".join(str(problem) for problem in exc.problems)
    return str(exc)
