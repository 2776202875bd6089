"""A simulation's answer: before and after, side by side, per group and currency.

Rows are the margins' own `MarginRow` (charge = revenue net of tax, cost = wholesale cost, the
margin % rule and the threshold flag of `billing.margins.service`), so a "before" row reads the
same as `margins --period` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing.margins.service import MarginRow
from billing.simulation.schemas import Change

__all__ = ["Comparison", "Mover", "Simulation", "compare"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One group (client, usage type or the portfolio) in one currency, before and after."""

    key: str
    currency: str
    before: MarginRow
    after: MarginRow

    @property
    def revenue_change(self) -> int:
        return self.after.charge - self.before.charge

    @property
    def cost_change(self) -> int:
        return self.after.cost - self.before.cost

    @property
    def margin_change(self) -> int:
        return self.after.margin - self.before.margin

    @property
    def points_change(self) -> Decimal | None:
        """Margin % points gained (negative: lost); None unless both have a margin %."""
        was, now = self.before.margin_percent, self.after.margin_percent
        return None if was is None or now is None else now - was


@dataclass(frozen=True, slots=True)
class Mover:
    """A client whose invoices (totals with tax, all selected periods) would change."""

    client_id: str
    currency: str
    invoice_before: int
    invoice_after: int

    @property
    def change(self) -> int:
        return self.invoice_after - self.invoice_before


@dataclass(frozen=True, slots=True)
class Simulation:
    partner_id: str
    periods: tuple[str, ...]
    changes: tuple[Change, ...]
    threshold: Decimal | None
    client_periods: int
    """How many client periods were re-rated: those the proposal can reach (on a changed plan,
    named by a change, or using a usage type whose wholesale price changed)."""
    portfolio: tuple[Comparison, ...]
    clients: tuple[Comparison, ...]
    usage_types: tuple[Comparison, ...]
    invoices: tuple[Mover, ...]
    """Every re-rated client's invoice totals (with tax) as rated now and with the proposal."""
    rises: tuple[Mover, ...]
    falls: tuple[Mover, ...]
    crossed_below: tuple[Comparison, ...]
    """Clients at or above the partner's margin threshold before, under it after."""
    crossed_above: tuple[Comparison, ...]
    """Clients under the threshold before, back at or above it after."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """What people read for a usage type's key (its display name; the base fees, minimum
    true-ups and discounts for the row without one). The keys stay codes for machines."""

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


def compare(before: Sequence[MarginRow], after: Sequence[MarginRow]) -> tuple[Comparison, ...]:
    """Rows paired by (key, currency); a side without the row counts as zero."""
    was = {(row.key, row.currency): row for row in before}
    now = {(row.key, row.currency): row for row in after}
    return tuple(
        Comparison(
            key,
            currency,
            was.get((key, currency), MarginRow(key, currency, 0, 0)),
            now.get((key, currency), MarginRow(key, currency, 0, 0)),
        )
        for key, currency in sorted(set(was) | set(now))
    )
