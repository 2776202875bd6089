"""A proposal as the API, the CLI and the dashboard write it: the periods to re-rate and the
changes to try. Prices are the partner file's own price entries (`PriceEntry`, any price model),
so a price the simulator accepts is one `config apply` and `PUT /v1/plans/{code}` accept too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import ConfigDict, Field, StrictInt, ValidationError

from billing.pricing.errors import InvalidPricingError
from config.partner_file import ConfigProblem, PriceEntry
from config.partner_file.problems import problems_from_validation_error
from config.prices import MoneyAmount, Percent
from config.text import CheckedInput, Line

__all__ = [
    "Change",
    "ClientDiscountChange",
    "ClientPriceChange",
    "PlanFeesChange",
    "PlanPriceChange",
    "SimulationIn",
    "WholesaleChange",
    "parse_proposal",
]

MAX_CHANGES = 200
MAX_PERIODS = 12


class _Change(CheckedInput):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanPriceChange(_Change):
    """A plan's price for one usage type (replacing the plan's price, or adding one)."""

    kind: Literal["plan_price"]
    plan: Line
    usage_type: Line
    price: PriceEntry


class PlanFeesChange(_Change):
    """A plan's base fee and/or minimum spend; a field left out keeps its value,
    `minimum_spend: null` removes the minimum."""

    kind: Literal["plan_fees"]
    plan: Line
    base_fee: MoneyAmount | None = None
    minimum_spend: MoneyAmount | None = None


class ClientPriceChange(_Change):
    """A client's own price for one usage type (an override of its plan's)."""

    kind: Literal["client_price"]
    client: Line
    usage_type: Line
    price: PriceEntry


class ClientDiscountChange(_Change):
    """A client's discount percentage."""

    kind: Literal["client_discount"]
    client: Line
    discount_percent: Percent


class WholesaleChange(_Change):
    """The platform's (wholesale) cost price of one usage type: moves cost, never revenue."""

    kind: Literal["wholesale"]
    usage_type: Line
    price: PriceEntry


Change: TypeAlias = Annotated[
    PlanPriceChange | PlanFeesChange | ClientPriceChange | ClientDiscountChange | WholesaleChange,
    Field(discriminator="kind"),
]


class SimulationIn(CheckedInput):
    """`POST /v1/simulations` (and `prices simulate --file`): re-rate the periods starting in
    each month of `periods` with `changes`; nothing is written."""

    model_config = ConfigDict(extra="forbid")

    periods: list[Annotated[str, Field(max_length=7)]] = Field(
        min_length=1,
        max_length=MAX_PERIODS,
        description="Months such as 2026-11: every client's period starting in that month "
        "(as `GET /v1/margins?period=` selects them).",
    )
    changes: list[Change] = Field(default_factory=list, max_length=MAX_CHANGES)
    top: StrictInt = Field(default=10, ge=1, le=100, description="How many movers each way.")


_BY_KIND: dict[str, type[_Change]] = {
    "plan_price": PlanPriceChange,
    "plan_fees": PlanFeesChange,
    "client_price": ClientPriceChange,
    "client_discount": ClientDiscountChange,
    "wholesale": WholesaleChange,
}


def _change_problems(index: int, change: Any) -> list[ConfigProblem]:
    """One change validated by the model its `kind` names (so no tag enters the path)."""
    at = ("changes", index)
    kind = change.get("kind") if isinstance(change, dict) else None
    model = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if model is None:
        shown = "required key is missing" if kind is None else f"{kind!r} is not a kind"
        return [ConfigProblem((*at, "kind"), f"{shown}; use one of {', '.join(_BY_KIND)}")]
    try:
        model.model_validate(change)
    except ValidationError as exc:
        return problems_from_validation_error(exc, change, at)
    return []


def parse_proposal(raw: Any) -> SimulationIn:
    """`raw` validated, or `InvalidPricingError` with every problem at its path
    (`changes[0].price.unit_price`)."""
    problems: list[ConfigProblem] = []
    changes = raw.get("changes") if isinstance(raw, dict) else None
    if isinstance(changes, list) and len(changes) <= MAX_CHANGES:
        for index, change in enumerate(changes):
            problems += _change_problems(index, change)
        rest = {**raw, "changes": []}
    else:
        rest = raw
    try:
        SimulationIn.model_validate(rest)
    except ValidationError as exc:
        problems += problems_from_validation_error(exc, rest)
    if problems:
        raise InvalidPricingError(problems)
    return SimulationIn.model_validate(raw)
