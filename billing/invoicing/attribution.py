"""Which service period and which component each invoice line belongs to.

A line belongs to its service period: the invoice's own period, or for a prior-period
adjustment the period its late usage is from (`origin_period_start`). Its component is the one
accrual recognises it under (`billing.pricing.components`): the usage type for usage lines and
usage adjustments, the subscription for base fee and minimum true-up (and adjustments of
them), the discount for discount lines (and adjustments of it). Tax lines are no component.
Margins, issuing and the retagging of old books all attribute lines with these functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Protocol

from billing.invoicing.models import InvoiceLineKind
from billing.pricing.components import DISCOUNT, SUBSCRIPTION

__all__ = ["LineLike", "line_component", "line_period", "split_lines"]

_USAGE_KINDS = frozenset({InvoiceLineKind.USAGE, InvoiceLineKind.INCLUDED, InvoiceLineKind.OVERAGE})
_SUBSCRIPTION_KINDS = frozenset({InvoiceLineKind.BASE_FEE, InvoiceLineKind.MINIMUM_TRUE_UP})


class LineLike(Protocol):
    """What attribution needs of a line (`InvoiceLine`, `LineFigure`)."""

    @property
    def kind(self) -> InvoiceLineKind: ...

    @property
    def usage_type(self) -> str | None: ...

    @property
    def amount_minor(self) -> int: ...

    @property
    def origin_period_start(self) -> date | None: ...

    @property
    def adjusts(self) -> InvoiceLineKind | None: ...


def line_component(
    kind: InvoiceLineKind, usage_type: str | None, adjusts: InvoiceLineKind | None = None
) -> str | None:
    """The component a line bills, None for tax. A prior-period adjustment bills the
    component of the line kind it `adjusts` (usage when not recorded: adjustments made before
    the column existed were all usage)."""
    if kind is InvoiceLineKind.TAX:
        return None
    if kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT:
        kind = adjusts or InvoiceLineKind.USAGE
    if kind in _USAGE_KINDS:
        return usage_type if usage_type else SUBSCRIPTION
    if kind in _SUBSCRIPTION_KINDS:
        return SUBSCRIPTION
    if kind is InvoiceLineKind.DISCOUNT:
        return DISCOUNT
    return SUBSCRIPTION


def line_period(invoice_period: date, origin_period_start: date | None) -> date:
    return origin_period_start or invoice_period


def split_lines(invoice_period: date, lines: Iterable[LineLike]) -> dict[tuple[date, str], int]:
    """(service period, component) -> what the lines bill of it (tax left out)."""
    parts: dict[tuple[date, str], int] = defaultdict(int)
    for line in lines:
        component = line_component(line.kind, line.usage_type, line.adjusts)
        if component is not None:
            parts[(line_period(invoice_period, line.origin_period_start), component)] += (
                line.amount_minor
            )
    return dict(parts)
