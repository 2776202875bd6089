"""Writing a client's price book: its terms (plan assignment, own plan, discount, tax, auto
charge), its own prices and its service dates. Versioning rules: see `billing.pricing.versions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlmodel import Session

from billing.pricing.book import TermsValue, Timeline
from billing.pricing.describe import describe_value
from billing.pricing.models import ClientDates, ClientTermsVersion, PriceScope
from billing.pricing.versions import (
    ChangeContext,
    FieldChange,
    change_action,
    decide,
    log_change,
    put_prices,
)
from config.db_types import utcnow
from config.partner_file import entry_price
from config.prices import Loc

__all__ = ["set_client_dates", "set_client_prices", "set_client_terms"]


def set_client_prices(
    session: Session,
    context: ChangeContext,
    client_id: str,
    prices: Mapping[str, Any],
    *,
    effective_from: date | None = None,
    new_owner: bool = False,
    loc: Loc = (),
) -> list[FieldChange]:
    """Replace the client's own prices (usage type -> price entry) with `prices`; each entry's
    `effective_from`, else `effective_from`, dates it. Usage types left out lose their override."""
    desired = {
        usage_type: (
            entry_price(entry),
            getattr(entry, "effective_from", None) or effective_from,
            (*loc, "prices", usage_type, "effective_from")
            if getattr(entry, "effective_from", None)
            else (*loc, "effective_from"),
        )
        for usage_type, entry in prices.items()
    }
    return put_prices(
        session,
        context,
        PriceScope.CLIENT,
        client_id,
        desired,
        (effective_from, (*loc, "effective_from")),
        new_owner=new_owner,
        affected=[client_id],
    )


def _terms_fields(before: TermsValue | None, after: TermsValue, when: date) -> list[FieldChange]:
    def shown(value: TermsValue | None) -> dict[str, str | None]:
        if value is None:
            return {}
        tax = None
        if value.tax_percent is not None:
            tax = f"{value.tax_name or 'Tax'} {describe_value(value.tax_percent)}%"
        return {
            "plan": value.plan_code,
            "plan_override": "own plan" if value.custom_plan else None,
            "discount_percent": describe_value(value.discount_percent),
            "tax": tax,
            "auto_charge": describe_value(value.auto_charge),
        }

    old, new = shown(before), shown(after)
    return [
        FieldChange(name, old.get(name), value, when)
        for name, value in new.items()
        if (before is None and value is not None) or (before is not None and old.get(name) != value)
    ]


def set_client_terms(
    session: Session,
    context: ChangeContext,
    client_id: str,
    desired: TermsValue,
    *,
    effective_from: date | None = None,
    new_owner: bool = False,
    loc: Loc = ("effective_from",),
) -> list[FieldChange]:
    """The client's plan assignment, own-plan switch, discount, tax and auto charge."""
    rows = context.versions.terms().get(client_id, {})
    timeline: Timeline[TermsValue] = Timeline(
        (
            day,
            TermsValue(
                r.plan_code,
                r.custom_plan,
                r.discount_percent,
                r.tax_name,
                r.tax_percent,
                r.auto_charge,
            ),
        )
        for day, r in rows.items()
    )
    decided = decide(
        context,
        timeline,
        desired,
        effective_from,
        new_owner=new_owner,
        affected=[client_id],
        loc=loc,
    )
    if decided is None:
        return []
    when, before = decided
    row = rows.get(when) or ClientTermsVersion(
        partner_id=context.partner_id,
        client_id=client_id,
        effective_from=when,
        discount_percent=desired.discount_percent,
        source=context.source,
    )
    for name, value in asdict(desired).items():
        setattr(row, name, value)
    row.source = context.source
    context.versions.add(row)
    log_change(
        session,
        context,
        "client_terms",
        client_id,
        change_action(before, desired),
        when,
        None if before is None else asdict(before),
        asdict(desired),
    )
    return _terms_fields(before, desired, when)


def set_client_dates(
    session: Session,
    context: ChangeContext,
    client_id: str,
    starts_on: date | None,
    ends_on: date | None,
) -> list[FieldChange]:
    """When the client's service began and ended (not versioned: see `ClientDates`)."""
    row = context.versions.dates(client_id)
    before = (None, None) if row is None else (row.starts_on, row.ends_on)
    if before == (starts_on, ends_on):
        return []
    if row is None:
        row = ClientDates(partner_id=context.partner_id, client_id=client_id)
    row.starts_on, row.ends_on, row.updated_at = starts_on, ends_on, utcnow()
    context.versions.add(row)
    names = ("starts_on", "ends_on")
    log_change(
        session,
        context,
        "client_dates",
        client_id,
        "updated",
        None,
        dict(zip(names, before, strict=True)),
        dict(zip(names, (starts_on, ends_on), strict=True)),
    )
    return [
        FieldChange(name, describe_value(old), describe_value(new))
        for name, old, new in zip(names, before, (starts_on, ends_on), strict=True)
        if old != new
    ]
