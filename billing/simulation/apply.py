"""Applying a proposal: the same writers as any other price change, effective from each client's
next period.

- a plan's prices, base fee and minimum: `put_plan` with the plan's newest version edited (what
  `PUT /v1/plans/{code}` writes);
- a client's own prices and discount: `put_client_pricing` (what `PUT /v1/clients/{id}/prices`
  writes), its own prices being its newest ones edited;
- a wholesale price: `set_wholesale` (what `config apply` writes for `[usage_types.*]`).
No change carries a date, so each takes effect from the day it is applied in the partner's time
zone, that is from every client's next period (docs/partner-file.md, "Versions"); every write is
in the change log with its source and reference. All or nothing: the first refused change
raises `InvalidPricingError` and the caller's unit of work rolls everything back (services never
commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from billing.pricing.changes import check_price, put_client_pricing, put_plan
from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource, PriceScope
from billing.pricing.repository import PricingRepository
from billing.pricing.schemas import ClientPricingIn
from billing.pricing.service import load_book, plan_history
from billing.pricing.versions import FieldChange, change_context, set_wholesale
from billing.simulation.proposal import check_changes
from billing.simulation.schemas import (
    Change,
    ClientDiscountChange,
    ClientPriceChange,
    PlanFeesChange,
    PlanPriceChange,
    WholesaleChange,
)
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.partner_file import PlanSpec, entry_price
from config.prices import price_to_json

__all__ = ["apply_proposal"]


def _plan_body(session: Session, partner_id: str, code: str) -> dict[str, Any]:
    """The plan's newest version as `PUT /v1/plans/{code}` takes it."""
    newest = plan_history(session, partner_id, code).versions[-1]
    body: dict[str, Any] = {
        "name": newest.header.name,
        "currency": newest.header.currency,
        "base_fee": format(newest.header.base_fee, "f"),
        "prices": {u: price_to_json(p) for u, p in newest.prices.items()},
    }
    if newest.header.minimum_spend is not None:
        body["minimum_spend"] = format(newest.header.minimum_spend, "f")
    return body


def _edit_plan(body: dict[str, Any], change: PlanPriceChange | PlanFeesChange) -> None:
    if isinstance(change, PlanPriceChange):
        body["prices"][change.usage_type] = price_to_json(entry_price(change.price))
        return
    if "base_fee" in change.model_fields_set and change.base_fee is not None:
        body["base_fee"] = format(change.base_fee, "f")
    if "minimum_spend" in change.model_fields_set:
        if change.minimum_spend is None:
            body.pop("minimum_spend", None)
        else:
            body["minimum_spend"] = format(change.minimum_spend, "f")


def _client_body(
    session: Session, partner_id: str, client_id: str, changes: list[Change]
) -> ClientPricingIn:
    book = load_book(session, partner_id, [client_id])
    own: dict[str, Any] = {}
    for usage_type, timeline in book.prices.get((PriceScope.CLIENT, client_id), {}).items():
        newest = timeline.latest()
        if newest is not None and newest[1] is not None:
            own[usage_type] = price_to_json(newest[1])
    body: dict[str, Any] = {}
    for change in changes:
        if isinstance(change, ClientPriceChange):
            own[change.usage_type] = price_to_json(entry_price(change.price))
            body["prices"] = own
        elif isinstance(change, ClientDiscountChange):
            body["discount_percent"] = format(change.discount_percent, "f")
    return ClientPricingIn.model_validate(body)


def _with_index(problems: InvalidPricingError, index: int) -> InvalidPricingError:
    return InvalidPricingError(
        [replace(p, loc=("changes", index, *p.loc)) for p in problems.problems]
    )


def apply_proposal(
    session: Session,
    partner_id: str,
    changes: Sequence[Change],
    now: datetime,
    *,
    source: ChangeSource,
    reference: str | None = None,
) -> list[tuple[str, FieldChange]]:
    """Write `changes` as price changes effective from each client's next period; returns
    (what, field change) of everything written. Checked first as the simulation checks it,
    so a refusal names the change at fault (`changes[1].price`)."""
    clients_by_id = {c.id: c for c in PricingRepository(session).rated_clients(partner_id)}
    usage_types = {t.code: t for t in TenantRepository(session).usage_types(partner_id)}
    problems = check_changes(changes, load_book(session, partner_id), clients_by_id, usage_types)
    if problems:
        raise InvalidPricingError(problems)
    plans: dict[str, tuple[int, list[PlanPriceChange | PlanFeesChange]]] = {}
    clients: dict[str, tuple[int, list[Change]]] = {}
    wholesale: list[tuple[int, WholesaleChange]] = []
    for index, change in enumerate(changes):
        if isinstance(change, PlanPriceChange | PlanFeesChange):
            plans.setdefault(change.plan, (index, []))[1].append(change)
        elif isinstance(change, ClientPriceChange | ClientDiscountChange):
            clients.setdefault(change.client, (index, []))[1].append(change)
        else:
            wholesale.append((index, change))
    written: list[tuple[str, FieldChange]] = []
    for code, (index, edits) in plans.items():
        body = _plan_body(session, partner_id, code)
        for edit in edits:
            _edit_plan(body, edit)
        try:
            spec = PlanSpec.model_validate(body)
            fields, _new = put_plan(
                session, partner_id, code, spec, now, source=source, reference=reference
            )
        except InvalidPricingError as exc:
            raise _with_index(exc, index) from exc
        written += [(f"plan {code}", field) for field in fields]
    for client_id, (index, client_edits) in clients.items():
        pricing = _client_body(session, partner_id, client_id, client_edits)
        try:
            fields = put_client_pricing(
                session, partner_id, client_id, pricing, now, source=source, reference=reference
            )
        except InvalidPricingError as exc:
            raise _with_index(exc, index) from exc
        written += [(f"client {client_id}", field) for field in fields]
    if wholesale:
        written += _apply_wholesale(session, partner_id, wholesale, now, source, reference)
    return written


def _apply_wholesale(
    session: Session,
    partner_id: str,
    changes: list[tuple[int, WholesaleChange]],
    now: datetime,
    source: ChangeSource,
    reference: str | None,
) -> list[tuple[str, FieldChange]]:
    context = change_context(session, partner_id, now, source, reference=reference)
    usage_types = {t.code: t for t in TenantRepository(session).usage_types(partner_id)}
    currency = get_partner(session, partner_id).currency
    written: list[tuple[str, FieldChange]] = []
    for index, change in changes:
        price = entry_price(change.price)
        at = ("changes", index, "price")
        problems = check_price(price, change.usage_type, currency, usage_types, at)
        if problems:
            raise InvalidPricingError(problems)
        fields = set_wholesale(session, context, change.usage_type, price)
        written += [(f"usage type {change.usage_type}", field) for field in fields]
    if context.problems:
        raise InvalidPricingError(context.problems)
    return written
