"""Margin tables and erosion alerts, all grouped from `figures.period_figures` (one computation
for the CLI, the API, the dashboard and the alert job, so they cannot disagree).

A row's margin % is (charge - cost) / charge to 2 places, half-up; None when nothing was
charged. A client is under the partner's `margin_alert_percent` when its margin % is below it,
or when it cost something and was charged nothing. Its margin has dropped when its margin % is
more than `margin_drop_points` (default 10) points below its previous period's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlmodel import Session

from billing.margins.figures import Cell, PeriodFigures, period_figures
from billing.margins.selection import PeriodSelection, label
from billing.rating import margin_percent
from billing.tenants.service import get_partner
from config.db_types import utcnow

__all__ = [
    "DEFAULT_DROP_POINTS",
    "NO_USAGE_TYPE",
    "Drop",
    "GroupBy",
    "MarginReport",
    "MarginRow",
    "Thresholds",
    "below",
    "drops",
    "group",
    "margins",
    "report_of",
    "thresholds",
]

GroupBy = Literal["client", "usage_type", "period"]
NO_USAGE_TYPE = "(no usage type)"
DEFAULT_DROP_POINTS = Decimal(10)


@dataclass(frozen=True, slots=True)
class MarginRow:
    """Charge, cost and the part of each not invoiced yet, for one group and currency."""

    key: str
    currency: str
    charge: int
    cost: int
    unbilled_charge: int = 0
    unbilled_cost: int = 0
    flagged: bool = False

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        """2 places, half-up; None when nothing was charged."""
        return margin_percent(self.charge, self.cost)

    @property
    def invoiced_charge(self) -> int:
        return self.charge - self.unbilled_charge

    @property
    def invoiced_cost(self) -> int:
        return self.cost - self.unbilled_cost


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The partner's alert settings: `margin_alert_percent` (None: no alert) and
    `margin_drop_points`."""

    below_percent: Decimal | None
    drop_points: Decimal


def thresholds(settings: dict[str, Any]) -> Thresholds:
    raw = settings.get("margin_alert_percent")
    drop = settings.get("margin_drop_points")
    return Thresholds(
        None if raw is None else Decimal(str(raw)),
        DEFAULT_DROP_POINTS if drop is None else Decimal(str(drop)),
    )


def below(charge: int, cost: int, threshold: Decimal | None) -> bool:
    """Under the partner's alert threshold; a cost with no charge is always under it."""
    if threshold is None:
        return False
    percent = margin_percent(charge, cost)
    return cost > 0 if percent is None else percent < threshold


def group(
    cells: Iterable[Cell], key_of: Callable[[Cell], str], threshold: Decimal | None = None
) -> tuple[MarginRow, ...]:
    """Cells summed per (key, currency), sorted."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for cell in cells:
        values = sums[(key_of(cell), cell.currency)]
        values[0] += cell.charge
        values[1] += cell.cost
        values[2] += cell.unbilled_charge
        values[3] += cell.unbilled_cost
    return tuple(
        MarginRow(
            key, currency, charge, cost, unbilled, unbilled_cost, below(charge, cost, threshold)
        )
        for (key, currency), (charge, cost, unbilled, unbilled_cost) in sorted(sums.items())
    )


_KEYS: dict[str, Callable[[Cell], str]] = {
    "client": lambda cell: cell.client_id,
    "usage_type": lambda cell: cell.usage_type or NO_USAGE_TYPE,
    "period": lambda cell: label(cell.period_start),
}


@dataclass(frozen=True, slots=True)
class MarginReport:
    partner_id: str
    selection: PeriodSelection
    group_by: GroupBy
    threshold: Decimal | None
    rows: tuple[MarginRow, ...]
    totals: tuple[MarginRow, ...]
    flagged_clients: tuple[str, ...]
    open_periods: int
    """How many client periods are shown with live figures (not invoiced yet)."""


def report_of(figures: PeriodFigures, group_by: GroupBy, limits: Thresholds) -> MarginReport:
    threshold = limits.below_percent
    by_client = group(figures.cells, _KEYS["client"], threshold)
    rows = by_client if group_by == "client" else group(figures.cells, _KEYS[group_by], threshold)
    if group_by != "client":
        rows = tuple(
            MarginRow(r.key, r.currency, r.charge, r.cost, r.unbilled_charge, r.unbilled_cost)
            for r in rows
        )  # only clients are flagged
    totals = group(figures.cells, lambda _cell: "total", threshold)
    return MarginReport(
        figures.partner_id,
        figures.selection,
        group_by,
        threshold,
        rows,
        totals,
        tuple(sorted({row.key for row in by_client if row.flagged})),
        len(figures.open_periods),
    )


def margins(
    session: Session,
    partner_id: str,
    selection: PeriodSelection,
    group_by: GroupBy = "client",
    now: datetime | None = None,
) -> MarginReport:
    """The margins of the periods starting in `selection`, grouped."""
    limits = thresholds(get_partner(session, partner_id).settings)
    figures = period_figures(session, partner_id, selection, now or utcnow())
    return report_of(figures, group_by, limits)


@dataclass(frozen=True, slots=True)
class Drop:
    """A client whose margin fell against its previous period (same currency)."""

    client_id: str
    currency: str
    before: MarginRow | None
    now: MarginRow | None

    @property
    def change(self) -> int:
        return (self.now.margin if self.now else 0) - (self.before.margin if self.before else 0)

    @property
    def points(self) -> Decimal | None:
        """The fall in margin % points (positive when it fell); None unless both periods
        have a margin %."""
        was = self.before.margin_percent if self.before else None
        is_ = self.now.margin_percent if self.now else None
        return None if was is None or is_ is None else was - is_


def drops(current: Sequence[MarginRow], previous: Sequence[MarginRow]) -> tuple[Drop, ...]:
    """Clients whose margin fell (in amount) since the previous period, largest fall first; a
    client that made a margin before and nothing now is among them."""
    earlier = {(row.key, row.currency): row for row in previous}
    now = {(row.key, row.currency): row for row in current}
    found = []
    for key in sorted(set(earlier) | set(now)):
        before, after = earlier.get(key), now.get(key)
        fall = Drop(key[0], key[1], before, after)
        if before is not None and fall.change < 0:
            found.append(fall)
    found.sort(key=lambda fall: (fall.change, fall.client_id))
    return tuple(found)
