"""Rating inputs from a validated partner file: until price books exist in the database, and
afterwards for `config apply` previews, this is how a file's plan and client become rating's
plan and terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.rating.statement import ClientTerms, PlanLike, TaxRate
from config.partner_file import PartnerFile, entry_price
from config.prices import PriceModel

__all__ = ["ClientRatingInputs", "client_rating_inputs", "usage_names", "wholesale_prices"]


@dataclass(frozen=True, slots=True)
class ClientRatingInputs:
    """Arguments for `rate_period` and `rate_costs` for one client of a partner file."""

    plan: PlanLike
    terms: ClientTerms
    currency: str
    cost_currency: str
    names: dict[str, str]
    wholesale: dict[str, PriceModel]


def usage_names(partner_file: PartnerFile) -> dict[str, str]:
    return {code: spec.name for code, spec in partner_file.usage_types.items()}


def wholesale_prices(partner_file: PartnerFile) -> dict[str, PriceModel]:
    return {code: entry_price(spec.wholesale) for code, spec in partner_file.usage_types.items()}


def client_rating_inputs(
    partner_file: PartnerFile,
    client_id: str,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> ClientRatingInputs:
    """The client's plan (its partner plan, or its own `plan_override` when it has no partner
    plan), with the override and per-usage-type prices in the terms, so `rate_period` applies
    them exactly as it does for price books."""
    client = partner_file.clients[client_id]
    base = partner_file.base_plan(client_id)
    override = client.plan_override
    plan: PlanLike
    if base is None:
        assert override is not None  # a client has a plan or a plan_override
        plan, override = override, None
    else:
        plan = base
    tax = None if client.tax is None else TaxRate(client.tax.name, client.tax.percent)
    terms = ClientTerms(
        discount_percent=client.discount_percent or Decimal(0),
        tax=tax,
        price_overrides={code: entry_price(entry) for code, entry in client.prices.items()},
        plan_override=override,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return ClientRatingInputs(
        plan=plan,
        terms=terms,
        currency=partner_file.client_currency(client_id),
        cost_currency=partner_file.partner.currency,
        names=usage_names(partner_file),
        wholesale=wholesale_prices(partner_file),
    )
