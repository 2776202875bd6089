"""Changing price books through the API or the command line (the file goes through `apply`).

Each change is checked against what only the database knows (usage types and their precision,
the currency money must be exact in, the plan a client may be assigned) and every problem is
reported at once, with its path in the request; then it is written by the same versioned
writers as `config apply`, so the rules for dates and the change log are the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.pricing.book import TermsValue, custom_plan_code
from billing.pricing.clients import set_client_dates, set_client_prices, set_client_terms
from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource
from billing.pricing.plan_versions import set_plan
from billing.pricing.repository import PricingRepository
from billing.pricing.schemas import ClientPricingIn
from billing.pricing.service import load_book
from billing.pricing.versions import ChangeContext, FieldChange, change_context
from billing.tenants.errors import AlreadyExistsError
from billing.tenants.models import UsageType
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.partner_file import ConfigProblem, PlanOverrideSpec, PlanSpec
from config.partner_file.fields import check_slug, money_problem
from config.prices import Loc, PriceModel, decimal_places

__all__ = ["check_plan", "check_price", "put_client_pricing", "put_plan"]


def check_price(
    price: PriceModel, usage_type: str, currency: str, usage_types: dict[str, UsageType], at: Loc
) -> list[ConfigProblem]:
    """The usage type exists, money is exact in `currency`, quantities fit its precision."""
    known = usage_types.get(usage_type)
    if known is None:
        listed = ", ".join(sorted(usage_types)) or "none"
        return [ConfigProblem(at, f"unknown usage type {usage_type!r} (the partner has: {listed})")]
    problems = []
    for loc, amount in price.money_values():
        problem = money_problem(amount, currency)
        if problem is not None:
            problems.append(ConfigProblem((*at, *loc), problem))
    for loc, quantity in price.quantity_values():
        if decimal_places(quantity) > known.precision:
            problems.append(
                ConfigProblem(
                    (*at, *loc),
                    f"{quantity} has more decimal places than usage type {usage_type!r} "
                    f"allows ({known.precision})",
                )
            )
    return problems


def check_plan(
    spec: PlanSpec, currency: str, usage_types: dict[str, UsageType], at: Loc = ()
) -> list[ConfigProblem]:
    problems = []
    for name, amount in (("base_fee", spec.base_fee), ("minimum_spend", spec.minimum_spend)):
        problem = None if amount is None else money_problem(amount, currency)
        if problem is not None:
            problems.append(ConfigProblem((*at, name), problem))
    for usage_type, entry in spec.prices.items():
        problems += check_price(
            entry, usage_type, currency, usage_types, (*at, "prices", usage_type)
        )
    return problems


def _usage_types(session: Session, partner_id: str) -> dict[str, UsageType]:
    return {t.code: t for t in TenantRepository(session).usage_types(partner_id)}


def put_plan(
    session: Session,
    partner_id: str,
    code: str,
    spec: PlanSpec,
    now: datetime,
    *,
    source: ChangeSource = ChangeSource.API,
    reference: str | None = None,
    force: bool = False,
    create: bool = False,
) -> tuple[list[FieldChange], bool]:
    """Create plan `code` or write a new version of it; returns the changes and whether the
    plan is new. With `create`, an existing plan is an error (POST semantics)."""
    partner = get_partner(session, partner_id)
    try:
        check_slug(code)
    except ValueError as exc:
        raise InvalidPricingError([ConfigProblem(("code",), str(exc))]) from exc
    new = PricingRepository(session).plan(partner_id, code) is None
    if create and not new:
        raise AlreadyExistsError("plan", code)
    currency = spec.currency or partner.currency
    problems = check_plan(spec, currency, _usage_types(session, partner_id))
    context = change_context(session, partner_id, now, source, reference=reference, force=force)
    tenants = TenantRepository(session)
    for client_id in sorted(context.plan_members.get(code, ())):
        client = tenants.client(partner_id, client_id)
        if client is not None and client.currency != currency:
            problems.append(
                ConfigProblem(
                    ("currency",),
                    f"client {client_id!r} on this plan is billed in {client.currency}",
                )
            )
    if problems:
        raise InvalidPricingError(problems)
    changes = set_plan(session, context, code, spec, currency)
    if context.problems:
        raise InvalidPricingError(context.problems)
    return changes, new


def _current_terms(session: Session, partner_id: str, client_id: str) -> TermsValue:
    timeline = load_book(session, partner_id, [client_id]).terms.get(client_id)
    newest = timeline.latest() if timeline else None
    if newest is None:
        return TermsValue(None, False, Decimal(0), None, None, False)
    return newest[1]


def _plan_problems(
    session: Session, partner_id: str, plan: str, currency: str
) -> list[ConfigProblem]:
    """The plan a client is assigned exists (not another client's own) and bills in its
    currency."""
    plan_currency = load_book(session, partner_id, []).plan_currency(plan, date.max)
    if plan_currency is None or plan.startswith("client:"):
        return [ConfigProblem(("plan",), f"unknown plan {plan!r}")]
    if plan_currency != currency:
        return [
            ConfigProblem(
                ("plan",),
                f"plan {plan!r} is priced in {plan_currency} but the client is billed "
                f"in {currency}",
            )
        ]
    return []


def _override_problems(
    own: PlanOverrideSpec, currency: str, usage_types: dict[str, UsageType]
) -> list[ConfigProblem]:
    problems = []
    if own.currency not in (None, currency):
        problems.append(
            ConfigProblem(
                ("plan_override", "currency"),
                f"{own.currency} differs from the client's currency {currency}",
            )
        )
    return problems + check_plan(own, currency, usage_types, ("plan_override",))


def _client_pricing_problems(
    session: Session, partner_id: str, currency: str, body: ClientPricingIn
) -> list[ConfigProblem]:
    """What only the database can tell is wrong with `body`, every problem at once."""
    usage_types = _usage_types(session, partner_id)
    problems: list[ConfigProblem] = []
    if body.plan is not None:
        problems += _plan_problems(session, partner_id, body.plan, currency)
    if body.plan_override is not None:
        problems += _override_problems(body.plan_override, currency, usage_types)
    for usage_type, entry in (body.prices or {}).items():
        problems += check_price(entry, usage_type, currency, usage_types, ("prices", usage_type))
    return problems


def _write_override(
    session: Session, context: ChangeContext, client_id: str, currency: str, body: ClientPricingIn
) -> list[FieldChange]:
    """The client's own plan (`plan_override`), dated by the body's effective_from when it
    has none of its own; its changes are named under `plan_override.`."""
    own = body.plan_override
    if own is None:
        return []
    if own.effective_from is None and body.effective_from is not None:
        own = own.model_copy(update={"effective_from": body.effective_from})
    own_changes = set_plan(
        session,
        context,
        custom_plan_code(client_id),
        own,
        currency,
        client_id=client_id,
        loc=("plan_override",),
    )
    return [replace(c, name=f"plan_override.{c.name}") for c in own_changes]


def _terms_updates(body: ClientPricingIn) -> dict[str, Any]:
    """The terms fields the body sets (a field it leaves out keeps its value)."""
    given = body.model_fields_set
    updates: dict[str, Any] = {}
    if "plan" in given:
        updates["plan_code"] = body.plan
    if "plan_override" in given:
        updates["custom_plan"] = body.plan_override is not None
    if "discount_percent" in given:
        updates["discount_percent"] = body.discount_percent or Decimal(0)
    if "tax" in given:
        updates["tax_name"] = None if body.tax is None else body.tax.name
        updates["tax_percent"] = None if body.tax is None else body.tax.percent
    if "auto_charge" in given:
        updates["auto_charge"] = bool(body.auto_charge)
    return updates


def _write_dates(
    session: Session, context: ChangeContext, partner_id: str, client_id: str, body: ClientPricingIn
) -> list[FieldChange]:
    """starts_on / ends_on, each kept as stored when the body leaves it out."""
    given = body.model_fields_set
    if "starts_on" not in given and "ends_on" not in given:
        return []
    stored = PricingRepository(session).dates_of(partner_id, client_id)
    starts = body.starts_on if "starts_on" in given else stored and stored.starts_on
    ends = body.ends_on if "ends_on" in given else stored and stored.ends_on
    if starts and ends and ends < starts:
        raise InvalidPricingError(
            [ConfigProblem(("ends_on",), f"must not be before starts_on ({starts})")]
        )
    return set_client_dates(session, context, client_id, starts or None, ends or None)


def put_client_pricing(
    session: Session,
    partner_id: str,
    client_id: str,
    body: ClientPricingIn,
    now: datetime,
    *,
    source: ChangeSource = ChangeSource.API,
    reference: str | None = None,
    force: bool = False,
) -> list[FieldChange]:
    """Apply what `body` sets (see `ClientPricingIn`); every problem at once, or nothing."""
    client = get_client(session, partner_id, client_id)
    problems = _client_pricing_problems(session, partner_id, client.currency, body)
    if problems:
        raise InvalidPricingError(problems)
    context = change_context(session, partner_id, now, source, reference=reference, force=force)
    changes = _write_override(session, context, client_id, client.currency, body)
    terms = _current_terms(session, partner_id, client_id)
    updates = _terms_updates(body)
    if updates:
        changes += set_client_terms(
            session,
            context,
            client_id,
            replace(terms, **updates),
            effective_from=body.effective_from,
        )
    if "prices" in body.model_fields_set:
        changes += set_client_prices(
            session, context, client_id, body.prices or {}, effective_from=body.effective_from
        )
    changes += _write_dates(session, context, partner_id, client_id, body)
    if context.problems:
        raise InvalidPricingError(context.problems)
    return changes
