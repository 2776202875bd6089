"""Rules across sections: references (prices to usage types, clients to plans), identifiers, money
exact in the currency that applies, quantities within a usage type's precision.

They read the raw tables and parse each value they need leniently, skipping a value that is
invalid on its own (the section's own validation reports it), so a plan whose `base_fee` is
wrong still gets its `minimum_spend` and its prices checked against the currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from config.partner_file.fields import check_currency, check_slug, money_problem
from config.prices import Loc, PriceModel, decimal_places, parse_decimal, parse_price

__all__ = ["cross_check"]

Problems = list[tuple[Loc, str]]
_SECTIONS = ("usage_types", "plans", "clients")


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else parse_decimal(value)
    except ValueError:
        return None


def _currency(value: Any) -> str | None:
    try:
        return check_currency(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _price(value: Any) -> PriceModel | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return parse_price({k: v for k, v in value.items() if k != "effective_from"})
    except ValidationError:
        return None


def _precision(usage_type: Any) -> int | None:
    value = _table(usage_type).get("precision", 0)
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6
    return value if ok else None


def _declared(names: Iterable[str]) -> str:
    listed = ", ".join(sorted(names))
    return f"declared: {listed}" if listed else "none are declared"


class _Checker:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: Problems = []
        self.usage_types = _table(raw.get("usage_types"))
        self.plans = _table(raw.get("plans"))
        # a section that is not a table is reported on its own; references into it are not
        self.usage_types_known = isinstance(raw.get("usage_types", {}), Mapping)
        self.plans_known = isinstance(raw.get("plans", {}), Mapping)
        self.partner_currency = _currency(_table(raw.get("partner")).get("currency"))

    def keys(self) -> None:
        for section in _SECTIONS:
            for key in _table(self.raw.get(section)):
                try:
                    check_slug(key)
                except ValueError as exc:
                    self.problems.append(((section, key), str(exc)))

    def money(self, value: Any, at: Loc, currency: str | None) -> None:
        amount = _decimal(value)
        if amount is None or currency is None:
            return
        problem = money_problem(amount, currency)
        if problem is not None:
            self.problems.append((at, problem))

    def price(self, raw_price: Any, at: Loc, usage_type: str | None, currency: str | None) -> None:
        price = _price(raw_price)
        if price is None:
            return
        for loc, amount in price.money_values():
            self.money(amount, (*at, *loc), currency)
        if usage_type is None or usage_type not in self.usage_types:
            return
        precision = _precision(self.usage_types[usage_type])
        if precision is None:
            return
        for loc, quantity in price.quantity_values():
            if decimal_places(quantity) > precision:
                self.problems.append(
                    (
                        (*at, *loc),
                        f"{quantity} has more decimal places than "
                        f"usage_types.{usage_type}.precision ({precision})",
                    )
                )

    def prices(self, raw_prices: Any, at: Loc, currency: str | None) -> None:
        for key, raw_price in _table(raw_prices).items():
            if self.usage_types_known and key not in self.usage_types:
                self.problems.append(
                    (
                        (*at, key),
                        f"unknown usage type {key!r} ({_declared(self.usage_types)} in "
                        "usage_types)",
                    )
                )
            self.price(raw_price, (*at, key), key, currency)

    def plan(self, raw_plan: Any, at: Loc, currency: str | None) -> None:
        plan = _table(raw_plan)
        self.money(plan.get("base_fee"), (*at, "base_fee"), currency)
        self.money(plan.get("minimum_spend"), (*at, "minimum_spend"), currency)
        self.prices(plan.get("prices"), (*at, "prices"), currency)

    def client(self, key: str, raw_client: Any) -> None:
        at: Loc = ("clients", key)
        client = _table(raw_client)
        own_currency = client.get("currency")
        currency = _currency(own_currency) if own_currency is not None else self.partner_currency
        plan_ref, override = client.get("plan"), client.get("plan_override")
        if plan_ref is None and override is None:
            self.problems.append(((*at, "plan"), "required key is missing (or give plan_override)"))
        elif isinstance(plan_ref, str) and self.plans_known and plan_ref not in self.plans:
            self.problems.append(
                ((*at, "plan"), f"unknown plan {plan_ref!r} ({_declared(self.plans)} in plans)")
            )
        self.prices(client.get("prices"), (*at, "prices"), currency)
        if isinstance(override, Mapping):
            custom = override.get("currency")
            if (
                custom is not None
                and currency is not None
                and _currency(custom)
                not in {
                    None,
                    currency,
                }
            ):
                self.problems.append(
                    (
                        (*at, "plan_override", "currency"),
                        f"{custom} differs from the client's currency {currency}",
                    )
                )
            self.plan(override, (*at, "plan_override"), currency)
            return
        if not isinstance(plan_ref, str) or plan_ref not in self.plans or currency is None:
            return
        plan_currency_raw = _table(self.plans[plan_ref]).get("currency")
        plan_currency = (
            _currency(plan_currency_raw) if plan_currency_raw is not None else self.partner_currency
        )
        if plan_currency is not None and plan_currency != currency:
            where = "currency" if own_currency is not None else "plan"
            self.problems.append(
                (
                    (*at, where),
                    f"the client is billed in {currency} but plan {plan_ref!r} is priced in "
                    f"{plan_currency}; choose a plan priced in {currency} or bill the client in "
                    f"{plan_currency}",
                )
            )

    def run(self) -> Problems:
        self.keys()
        for key, usage_type in self.usage_types.items():
            wholesale = _table(usage_type).get("wholesale")
            self.price(wholesale, ("usage_types", key, "wholesale"), key, self.partner_currency)
        for key, raw_plan in self.plans.items():
            own = _table(raw_plan).get("currency")
            currency = _currency(own) if own is not None else self.partner_currency
            self.plan(raw_plan, ("plans", key), currency)
        for key, raw_client in _table(self.raw.get("clients")).items():
            self.client(key, raw_client)
        return self.problems


def cross_check(raw: Mapping[str, Any]) -> Problems:
    """Every rule between sections, on a parsed file (or a `PartnerFile.model_dump()`)."""
    return _Checker(raw).run()
