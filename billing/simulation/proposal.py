"""A proposal checked against what only the database knows, and applied to a copy of the price
book in memory.

Checks are the ones a real change goes through (`check_price`: the usage type exists, money is
exact in the currency, quantities fit the usage type's precision; `money_problem` for fees), so
a proposal the simulator accepts is one `put_plan` / `put_client_pricing` / `set_wholesale`
accept. Every problem is reported at once, at its path in the request (`changes[0].price`).

The edit: for each thing a change touches, every version in force for a period starting in
`[first, last]` is replaced by the proposed one (a base fee change keeps the rest of each plan
version). Only periods starting in that range are re-rated, so versions outside it do not
matter. The stored book is never touched: the copy has its own timelines and caches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from billing.pricing.book import PlanHeader, PriceBook, TermsValue, Timeline
from billing.pricing.changes import check_price
from billing.pricing.models import PriceScope
from billing.pricing.repository import RatedClient
from billing.simulation.schemas import (
    Change,
    ClientDiscountChange,
    ClientPriceChange,
    PlanFeesChange,
    PlanPriceChange,
    WholesaleChange,
)
from billing.tenants.models import UsageType
from config.partner_file import ConfigProblem, entry_price
from config.partner_file.fields import money_problem
from config.prices import PriceModel

__all__ = ["check_changes", "edited_book"]

_V = TypeVar("_V")


def _plan_problems(book: PriceBook, plan: str, at: tuple[str | int, ...]) -> list[ConfigProblem]:
    if plan.startswith("client:") or plan not in book.plans:
        known = ", ".join(sorted(c for c in book.plans if not c.startswith("client:"))) or "none"
        return [ConfigProblem((*at, "plan"), f"unknown plan {plan!r} (the partner has: {known})")]
    return []


def _client_problems(
    clients: dict[str, RatedClient], client: str, at: tuple[str | int, ...]
) -> list[ConfigProblem]:
    if client not in clients:
        return [ConfigProblem((*at, "client"), f"unknown client {client!r}")]
    return []


def check_changes(
    changes: Sequence[Change],
    book: PriceBook,
    clients: dict[str, RatedClient],
    usage_types: dict[str, UsageType],
) -> list[ConfigProblem]:
    """Every problem of every change, each at `changes[i].<field>`."""
    problems: list[ConfigProblem] = []
    for index, change in enumerate(changes):
        at: tuple[str | int, ...] = ("changes", index)
        if isinstance(change, PlanPriceChange | PlanFeesChange):
            found = _plan_problems(book, change.plan, at)
            problems += found
            if found:
                continue
            currency = book.plan_currency(change.plan, date.max) or book.currency
            if isinstance(change, PlanPriceChange):
                problems += check_price(
                    entry_price(change.price),
                    change.usage_type,
                    currency,
                    usage_types,
                    (*at, "price"),
                )
            else:
                for name in ("base_fee", "minimum_spend"):
                    amount = getattr(change, name)
                    problem = None if amount is None else money_problem(amount, currency)
                    if problem is not None:
                        problems.append(ConfigProblem((*at, name), problem))
        elif isinstance(change, ClientPriceChange | ClientDiscountChange):
            found = _client_problems(clients, change.client, at)
            problems += found
            if not found and isinstance(change, ClientPriceChange):
                currency = clients[change.client].currency
                problems += check_price(
                    entry_price(change.price),
                    change.usage_type,
                    currency,
                    usage_types,
                    (*at, "price"),
                )
        else:
            price = entry_price(change.price)
            problems += check_price(
                price, change.usage_type, book.currency, usage_types, (*at, "price")
            )
    return problems


def _edit(
    timeline: Timeline[_V] | None, first: date, last: date, change: Callable[[_V | None], _V]
) -> Timeline[_V]:
    """A new timeline whose versions in force for periods starting in `[first, last]` are
    `change(version)`; the original is left as it is."""
    old = timeline or Timeline()
    versions = [
        (d, v) for d, v in zip(old.dates, old.values, strict=True) if not first <= d <= last
    ]
    versions.append((first, change(old.at(first))))
    versions += [
        (d, change(v)) for d, v in zip(old.dates, old.values, strict=True) if first < d <= last
    ]
    return Timeline(versions)


def _price_edit(
    prices: dict[tuple[PriceScope, str], dict[str, Timeline[PriceModel | None]]],
    key: tuple[PriceScope, str],
    usage_type: str,
    price: PriceModel,
    span: tuple[date, date],
) -> None:
    owned = dict(prices.get(key, {}))
    owned[usage_type] = _edit(owned.get(usage_type), *span, lambda _old: price)
    prices[key] = owned


def _fees(change: PlanFeesChange) -> Callable[[PlanHeader | None], PlanHeader]:
    given = change.model_fields_set

    def edit(header: PlanHeader | None) -> PlanHeader:
        current = header or PlanHeader(change.plan, "", Decimal(0), None)
        if "base_fee" in given and change.base_fee is not None:
            current = replace(current, base_fee=change.base_fee)
        if "minimum_spend" in given:
            current = replace(current, minimum_spend=change.minimum_spend)
        return current

    return edit


def _discount(percent: Decimal) -> Callable[[TermsValue | None], TermsValue]:
    def edit(terms: TermsValue | None) -> TermsValue:
        current = terms or TermsValue(None, False, Decimal(0), None, None, False)
        return replace(current, discount_percent=percent)

    return edit


def edited_book(book: PriceBook, changes: Sequence[Change], first: date, last: date) -> PriceBook:
    """A copy of `book` with `changes` in force for every period starting in `[first, last]`
    (changes later in the list win over earlier ones touching the same thing)."""
    plans = dict(book.plans)
    prices = dict(book.prices)
    terms = dict(book.terms)
    span = (first, last)
    for change in changes:
        if isinstance(change, PlanPriceChange):
            key = (PriceScope.PLAN, change.plan)
            _price_edit(prices, key, change.usage_type, entry_price(change.price), span)
        elif isinstance(change, PlanFeesChange):
            plans[change.plan] = _edit(plans.get(change.plan), *span, _fees(change))
        elif isinstance(change, ClientPriceChange):
            key = (PriceScope.CLIENT, change.client)
            _price_edit(prices, key, change.usage_type, entry_price(change.price), span)
        elif isinstance(change, ClientDiscountChange):
            edit = _discount(change.discount_percent)
            terms[change.client] = _edit(terms.get(change.client), *span, edit)
        elif isinstance(change, WholesaleChange):
            key = (PriceScope.WHOLESALE, "")
            _price_edit(prices, key, change.usage_type, entry_price(change.price), span)
    return replace(book, plans=plans, prices=prices, terms=terms, _plan_cache={}, _price_cache={})
