"""Period quantities aggregated in SQL: one grouped query per billing window, never a row per
event in Python (a million events become 50,000 rows of totals).

Aggregations (a usage type's `aggregation`):
- `sum`: the sum of quantities, adjustments included (they carry the correction's sign);
- `count`: one per event; an adjustment counts -1 when negative (it retracts one event), +1
  when positive, 0 when zero;
- `max`: the largest quantity of an original event net of its adjustments (an adjustment
  corrects its original wherever it is dated);
- `unique_count`: distinct non-null values of the property among original events
  (adjustments correct quantities, not which values were seen).
Every aggregation also returns the events counted and the newest `received_at` among them: the
accrual watermark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, case, distinct, func, select, type_coerce
from sqlmodel import Session, col

from billing.metering.models import QUANTITY_SCALE, UsageEvent
from billing.tenants.models import Aggregation

__all__ = ["AggregationRule", "UsageTotal", "UsageTotalsRepository"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AggregationRule:
    aggregation: Aggregation
    property: str | None = None


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """One client's usage of one usage type in one window."""

    quantity: Decimal
    events: int
    newest_received_at: datetime | None


def _quantity(scaled: Any) -> Decimal:
    return Decimal(int(scaled or 0)).scaleb(-QUANTITY_SCALE)


class UsageTotalsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def totals(
        self,
        partner_id: str,
        start: datetime,
        end: datetime,
        rules: Mapping[str, AggregationRule],
        client_ids: Sequence[str] | None = None,
    ) -> dict[tuple[str, str], UsageTotal]:
        """(client, usage type) -> total over events with `start <= occurred_at < end`;
        negative results (over-corrected) are returned as they are."""
        if client_ids is not None and len(client_ids) > _CHUNK:
            found: dict[tuple[str, str], UsageTotal] = {}
            for index in range(0, len(client_ids), _CHUNK):
                chunk = client_ids[index : index + _CHUNK]
                found.update(self.totals(partner_id, start, end, rules, chunk))
            return found
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        is_adjustment = col(event.adjusts_id).is_not(None)
        counted = case((is_adjustment, case((scaled < 0, -1), (scaled > 0, 1), else_=0)), else_=1)
        where: list[Any] = [
            col(event.partner_id) == partner_id,
            col(event.occurred_at) >= start,
            col(event.occurred_at) < end,
        ]
        if client_ids is not None:
            where.append(col(event.client_id).in_(list(client_ids)))
        query = (
            select(
                col(event.client_id),
                col(event.usage_type),
                func.sum(scaled),
                func.count(),
                func.sum(counted),
                func.max(col(event.received_at)),
            )
            .where(*where)
            .group_by(col(event.client_id), col(event.usage_type))
        )
        rows = list(self.session.execute(query))
        maxima = self._maxima(partner_id, where, rules)
        uniques = self._unique_counts(partner_id, where, rules)
        found = {}
        for client_id, usage_type, total, events, count, newest in rows:
            rule = rules.get(usage_type, AggregationRule(Aggregation.SUM))
            key = (client_id, usage_type)
            if rule.aggregation is Aggregation.COUNT:
                quantity = Decimal(int(count or 0))
            elif rule.aggregation is Aggregation.MAX:
                quantity = maxima.get(key, Decimal(0))
            elif rule.aggregation is Aggregation.UNIQUE_COUNT:
                quantity = Decimal(uniques.get(key, 0))
            else:
                quantity = _quantity(total)
            found[key] = UsageTotal(quantity, int(events), newest)
        return found

    def _maxima(
        self, partner_id: str, where: list[Any], rules: Mapping[str, AggregationRule]
    ) -> dict[tuple[str, str], Decimal]:
        codes = [code for code, rule in rules.items() if rule.aggregation is Aggregation.MAX]
        if not codes:
            return {}
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        corrections = (
            select(
                col(event.adjusts_id).label("original"),
                func.sum(scaled).label("delta"),
            )
            .where(
                col(event.partner_id) == partner_id,
                col(event.adjusts_id).is_not(None),
                col(event.usage_type).in_(codes),
            )
            .group_by(col(event.adjusts_id))
            .subquery()
        )
        net = scaled + func.coalesce(corrections.c.delta, 0)
        query = (
            select(col(event.client_id), col(event.usage_type), func.max(net))
            .select_from(event)
            .outerjoin(corrections, corrections.c.original == col(event.id))
            .where(*where, col(event.adjusts_id).is_(None), col(event.usage_type).in_(codes))
            .group_by(col(event.client_id), col(event.usage_type))
        )
        return {(c, u): _quantity(top) for c, u, top in self.session.execute(query)}

    def _unique_counts(
        self, partner_id: str, where: list[Any], rules: Mapping[str, AggregationRule]
    ) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for code, rule in rules.items():
            if rule.aggregation is not Aggregation.UNIQUE_COUNT or not rule.property:
                continue
            event = UsageEvent
            value = col(event.properties)[rule.property].as_string()
            query = (
                select(col(event.client_id), col(event.usage_type), func.count(distinct(value)))
                .where(*where, col(event.adjusts_id).is_(None), col(event.usage_type) == code)
                .group_by(col(event.client_id), col(event.usage_type))
            )
            found.update(((c, u), int(n)) for c, u, n in self.session.execute(query))
        return found
