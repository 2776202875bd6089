"""Writing plans: a plan's header (name, currency, base fee, minimum spend) and its prices, each
versioned by the rules of `versions` (docs/partner-file.md, "Versions"). Apart from `versions`
because a plan is one owner with both a header and prices; `versions` holds the rules and the
price writes every owner shares.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlmodel import Session

from billing.pricing.book import PlanHeader
from billing.pricing.describe import describe_value
from billing.pricing.models import PlanVersion, PriceScope, PricingPlan
from billing.pricing.repository import PricingRepository
from billing.pricing.versions import (
    ChangeContext,
    FieldChange,
    change_action,
    decide,
    log_change,
    put_prices,
)
from config.partner_file import PlanSpec, entry_price
from config.prices import Loc

__all__ = ["set_plan"]


def _header_fields(before: PlanHeader | None, after: PlanHeader, when: date) -> list[FieldChange]:
    old = {} if before is None else asdict(before)
    return [
        FieldChange(name, describe_value(old.get(name)), describe_value(value), when)
        for name, value in asdict(after).items()
        if (before is None and value is not None) or (before is not None and old.get(name) != value)
    ]


def set_plan(
    session: Session,
    context: ChangeContext,
    code: str,
    spec: PlanSpec,
    currency: str,
    *,
    client_id: str | None = None,
    loc: Loc = (),
) -> list[FieldChange]:
    """Make plan `code` (a client's own plan when `client_id` is given) say what `spec` says:
    its header and its prices, each versioned (see the rules of `versions`)."""
    store = context.versions
    new_owner = code not in store.plan_codes()
    if new_owner:
        PricingRepository(session).add(
            PricingPlan(partner_id=context.partner_id, code=code, client_id=client_id)
        )
        store.plan_codes().add(code)
    affected = sorted(
        {client_id} if client_id is not None else context.plan_members.get(code, set())
    )
    history = store.plan(code)
    rows, timeline = history.rows, history.timeline
    desired = PlanHeader(spec.name, currency, spec.base_fee, spec.minimum_spend)
    changes: list[FieldChange] = []
    explicit_loc = (*loc, "effective_from")
    decided = decide(
        context,
        timeline,
        desired,
        spec.effective_from,
        new_owner=new_owner,
        affected=affected,
        loc=explicit_loc,
    )
    if decided is not None:
        when, before = decided
        row = rows.get(when) or PlanVersion(
            partner_id=context.partner_id,
            plan_code=code,
            effective_from=when,
            name=desired.name,
            currency=currency,
            base_fee=desired.base_fee,
            source=context.source,
        )
        row.name, row.currency, row.base_fee = desired.name, currency, desired.base_fee
        row.minimum_spend, row.source = desired.minimum_spend, context.source
        store.add(row)
        rows[when] = row
        timeline.add(when, desired)
        changes.extend(_header_fields(before, desired, when))
        log_change(
            session,
            context,
            "plan",
            code,
            change_action(before, desired),
            when,
            None if before is None else asdict(before),
            asdict(desired),
        )
    prices = {
        usage_type: (
            entry_price(entry),
            entry.effective_from or spec.effective_from,
            (*loc, "prices", usage_type, "effective_from")
            if entry.effective_from
            else explicit_loc,
        )
        for usage_type, entry in spec.prices.items()
    }
    changes += put_prices(
        session,
        context,
        PriceScope.PLAN,
        code,
        prices,
        (spec.effective_from, explicit_loc),
        new_owner=new_owner,
        affected=affected,
    )
    return changes
