"""Period quantities aggregated in SQL: one grouped query per billing window, never a row per
event in Python (a million events become 50,000 rows of totals).

Aggregations (a usage type's `aggregation`):
- `sum`: the sum of quantities, adjustments included (they carry the correction's sign);
- `count`: one per event; an adjustment counts -1 when negative (it retracts one event), +1
  when positive, 0 when zero;
- `max`: the largest quantity of an original event net of the adjustments to it dated in the
  same period (an adjustment corrects its original where both belong);
- `unique_count`: distinct non-null values of the property among original events
  (adjustments correct quantities, not which values were seen).
Every total also carries the number of events and the newest `received_at` among them: the
accrual watermark.

Queries group by client and usage type, the order of rating's covering index (`RATING_INDEX`),
so the database neither sorts the events nor reads the table: a window's clients are either
named (the index seeks to each of them) or, when they are most of the partner's, read in one
pass over the partner's entries. Distinct counts read the properties, so they take one more,
narrower query per `unique_count` usage type; corrections to `max` usage types take a narrow
query for the clients that have them.
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

__all__ = ["AggregationRule", "UsageTotal", "UsageTotalsRepository", "Window"]

_CHUNK = 500
_NAME_UP_TO = 2_000  # clients a window's queries name; more are read in one pass over all
Window = tuple[datetime, datetime]


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
        """(client, usage type) -> total over events with `start <= occurred_at < end`, for
        the named clients (every client when None); over-corrected totals stay negative."""
        if client_ids is not None and len(client_ids) > _NAME_UP_TO:
            client_ids = None
        if client_ids is None:
            return self._window(partner_id, (start, end), rules, None)
        found: dict[tuple[str, str], UsageTotal] = {}
        for index in range(0, len(client_ids), _CHUNK):
            chunk = client_ids[index : index + _CHUNK]
            found.update(self._window(partner_id, (start, end), rules, chunk))
        return found

    def _window(
        self,
        partner_id: str,
        window: Window,
        rules: Mapping[str, AggregationRule],
        client_ids: Sequence[str] | None,
    ) -> dict[tuple[str, str], UsageTotal]:
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        adjustment = col(event.adjusts_id).is_not(None)
        sign = case((scaled < 0, -1), (scaled > 0, 1), else_=0)
        where = self._where(partner_id, window, client_ids)
        keys = (col(event.client_id), col(event.usage_type))
        query = (
            select(
                *keys,
                func.sum(scaled),
                func.count(),
                func.sum(case((adjustment, sign), else_=1)),
                func.max(col(event.received_at)),
                func.max(case((adjustment, None), else_=scaled)),
                func.sum(case((adjustment, 1), else_=0)),
            )
            .where(*where)
            .group_by(*keys)
            .order_by(*keys)  # the index's order: lets the planner pick it
        )
        rows = list(self.session.execute(query))
        corrected = {
            (row[0], row[1])
            for row in rows
            if row[7] and rules.get(row[1], _SUM).aggregation is Aggregation.MAX
        }
        maxima = self._corrected_maxima(partner_id, window, corrected) if corrected else {}
        distinct_counts = self._distinct(partner_id, window, rules, client_ids)
        found = {}
        for client_id, usage_type, total, events, counted, newest, top, _ in rows:
            key = (client_id, usage_type)
            aggregation = rules.get(usage_type, _SUM).aggregation
            if aggregation is Aggregation.COUNT:
                quantity = Decimal(int(counted or 0))
            elif aggregation is Aggregation.MAX:
                quantity = maxima.get(key, _quantity(top))
            elif aggregation is Aggregation.UNIQUE_COUNT:
                quantity = Decimal(distinct_counts.get(key, 0))
            else:
                quantity = _quantity(total)
            found[key] = UsageTotal(quantity, int(events), newest)
        return found

    @staticmethod
    def _where(partner_id: str, window: Window, client_ids: Sequence[str] | None) -> list[Any]:
        event = UsageEvent
        where: list[Any] = [
            col(event.partner_id) == partner_id,
            col(event.occurred_at) >= window[0],
            col(event.occurred_at) < window[1],
        ]
        if client_ids is not None:
            where.append(col(event.client_id).in_(list(client_ids)))
        return where

    def _distinct(
        self,
        partner_id: str,
        window: Window,
        rules: Mapping[str, AggregationRule],
        client_ids: Sequence[str] | None,
    ) -> dict[tuple[str, str], int]:
        event = UsageEvent
        found: dict[tuple[str, str], int] = {}
        for code, rule in rules.items():
            if rule.aggregation is not Aggregation.UNIQUE_COUNT or not rule.property:
                continue
            value = col(event.properties)[rule.property].as_string()
            query = (
                select(col(event.client_id), func.count(distinct(value)))
                .where(
                    *self._where(partner_id, window, client_ids),
                    col(event.usage_type) == code,
                    col(event.adjusts_id).is_(None),
                )
                .group_by(col(event.client_id))
            )
            found.update(((client, code), int(n)) for client, n in self.session.execute(query))
        return found

    def _corrected_maxima(
        self, partner_id: str, window: Window, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Decimal]:
        """The max of originals net of their corrections in the window, for these groups."""
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        clients = sorted({client for client, _ in keys})
        found: dict[tuple[str, str], Decimal] = {}
        for index in range(0, len(clients), _CHUNK):
            inside = [
                *self._where(partner_id, window, clients[index : index + _CHUNK]),
                col(event.usage_type).in_(sorted({code for _, code in keys})),
            ]
            corrections = (
                select(col(event.adjusts_id).label("original"), func.sum(scaled).label("delta"))
                .where(*inside, col(event.adjusts_id).is_not(None))
                .group_by(col(event.adjusts_id))
                .subquery()
            )
            net = scaled + func.coalesce(corrections.c.delta, 0)
            query = (
                select(col(event.client_id), col(event.usage_type), func.max(net))
                .select_from(event)
                .outerjoin(corrections, corrections.c.original == col(event.id))
                .where(*inside, col(event.adjusts_id).is_(None))
                .group_by(col(event.client_id), col(event.usage_type))
            )
            found.update(
                ((client, code), _quantity(top))
                for client, code, top in self.session.execute(query)
                if (client, code) in keys
            )
        return found


_SUM = AggregationRule(Aggregation.SUM)
