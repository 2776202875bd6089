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
pass over the partner's entries. Named clients are an IN list on SQLite and a join on one array
on PostgreSQL (`config.key_arrays`: an IN list there falls into a generic plan). Distinct counts
read the properties: on SQLite they are columns of the same query (see `_window`), on
PostgreSQL one more, narrower query per `unique_count` usage type. Corrections to `max` usage
types take a narrow query for the clients that have them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    case,
    distinct,
    func,
    select,
    type_coerce,
)
from sqlmodel import Session, col

from billing.metering.models import QUANTITY_SCALE, UsageEvent
from billing.tenants.models import Aggregation
from config.key_arrays import key_array, keyed_queries

__all__ = ["AggregationRule", "UsageTotal", "UsageTotalsRepository", "Window"]

_CHUNK = 500
_NAME_UP_TO = 2_000  # clients a window's queries name; more are read in one pass over all
Window = tuple[datetime, datetime]
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


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
        the named clients (every client when None; more than `_NAME_UP_TO` names read every
        client too, so callers pick theirs); over-corrected totals stay negative."""
        if client_ids is not None and len(client_ids) > _NAME_UP_TO:
            client_ids = None
        return self._window(partner_id, (start, end), rules, client_ids)

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _window(
        self,
        partner_id: str,
        window: Window,
        rules: Mapping[str, AggregationRule],
        client_ids: Sequence[str] | None,
    ) -> dict[tuple[str, str], UsageTotal]:
        uniques = [
            (code, rule.property)
            for code, rule in rules.items()
            if rule.aggregation is Aggregation.UNIQUE_COUNT and rule.property
        ]
        # SQLite counts distinct values in the same index-ordered pass (COUNT(DISTINCT) on a
        # CASE that reads the property only on that usage type's original events, so only those
        # rows are read from the table). PostgreSQL would give up its hash aggregate for
        # COUNT(DISTINCT) and read the table in index order (3x slower): there a second, narrow
        # query per unique_count usage type is cheaper.
        folded = [] if self._postgres else uniques
        rows: list[Any] = []
        for query in self._named(self._aggregation(partner_id, window, folded), client_ids):
            rows.extend(self.session.execute(query))
        distinct_counts: dict[tuple[str, str], int] = {}
        if folded:
            for row in rows:
                for index, (code, _) in enumerate(folded):
                    if row[1] == code:
                        distinct_counts[(row[0], code)] = int(row[8 + index] or 0)
        else:
            distinct_counts = self._distinct(partner_id, window, uniques, client_ids)
        corrected = {
            (row[0], row[1])
            for row in rows
            if row[7] and rules.get(row[1], _SUM).aggregation is Aggregation.MAX
        }
        maxima = self._corrected_maxima(partner_id, window, corrected) if corrected else {}
        found = {}
        for row in rows:
            client_id, usage_type, total, events, counted, newest, top = row[:7]
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
    def _aggregation(
        partner_id: str, window: Window, uniques: Sequence[tuple[str, str]]
    ) -> Select[*tuple[Any, ...]]:
        """The window's grouped query: client, usage type, sum, count, signed count, newest
        `received_at`, max of originals, corrections, then a distinct count per `uniques`."""
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        adjustment = col(event.adjusts_id).is_not(None)
        sign = case((scaled < 0, -1), (scaled > 0, 1), else_=0)
        keys = (col(event.client_id), col(event.usage_type))
        distinct_counts = [
            func.count(
                distinct(
                    case(
                        (
                            and_(col(event.usage_type) == code, col(event.adjusts_id).is_(None)),
                            col(event.properties)[name].as_string(),
                        )
                    )
                )
            )
            for code, name in uniques
        ]
        return (
            select(
                *keys,
                func.sum(scaled),
                func.count(),
                func.sum(case((adjustment, sign), else_=1)),
                func.max(col(event.received_at)),
                func.max(case((adjustment, None), else_=scaled)),
                func.sum(case((adjustment, 1), else_=0)),
                *distinct_counts,
            )
            .where(*UsageTotalsRepository._where(partner_id, window))
            .group_by(*keys)
            .order_by(*keys)  # the index's order: lets the planner pick it
        )

    def _distinct(
        self,
        partner_id: str,
        window: Window,
        uniques: Sequence[tuple[str, str]],
        client_ids: Sequence[str] | None,
    ) -> dict[tuple[str, str], int]:
        """Distinct counts, one narrow query per unique_count usage type."""
        event = UsageEvent
        found: dict[tuple[str, str], int] = {}
        for code, name in uniques:
            value = col(event.properties)[name].as_string()
            query = (
                select(col(event.client_id), func.count(distinct(value)))
                .where(
                    *self._where(partner_id, window),
                    col(event.usage_type) == code,
                    col(event.adjusts_id).is_(None),
                )
                .group_by(col(event.client_id))
            )
            for chunked in self._named(query, client_ids):
                found.update(((c, code), int(n)) for c, n in self.session.execute(chunked))
        return found

    def _named(self, query: _Query, client_ids: Sequence[str] | None) -> Iterable[_Query]:
        """`query` as is, or restricted to `client_ids` (IN lists, or array joins)."""
        if client_ids is None:
            return [query]
        return keyed_queries(query, col(UsageEvent.client_id), client_ids, postgres=self._postgres)

    @staticmethod
    def _where(partner_id: str, window: Window) -> list[Any]:
        event = UsageEvent
        return [
            col(event.partner_id) == partner_id,
            col(event.occurred_at) >= window[0],
            col(event.occurred_at) < window[1],
        ]

    def _corrected_maxima(
        self, partner_id: str, window: Window, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Decimal]:
        """The max of originals net of their corrections in the window, for these groups."""
        event = UsageEvent
        scaled = type_coerce(col(event.quantity), BigInteger)
        clients = sorted({client for client, _ in keys})
        codes = sorted({code for _, code in keys})
        found: dict[tuple[str, str], Decimal] = {}
        for index in range(0, len(clients), _CHUNK):
            chunk = clients[index : index + _CHUNK]
            inside = [*self._where(partner_id, window), col(event.usage_type).in_(codes)]
            originals: Any = select(
                col(event.adjusts_id).label("original"), func.sum(scaled).label("delta")
            ).where(*inside, col(event.adjusts_id).is_not(None))
            inner = key_array("inner", chunk)
            corrections = (
                originals.join(inner, col(event.client_id) == inner.c.key)
                if self._postgres
                else originals.where(col(event.client_id).in_(chunk))
            )
            delta = corrections.group_by(col(event.adjusts_id)).subquery()
            net = scaled + func.coalesce(delta.c.delta, 0)
            query = (
                select(col(event.client_id), col(event.usage_type), func.max(net))
                .select_from(event)
                .outerjoin(delta, delta.c.original == col(event.id))
                .where(*inside, col(event.adjusts_id).is_(None))
                .group_by(col(event.client_id), col(event.usage_type))
            )
            if self._postgres:
                outer = key_array("outer", chunk)
                query = query.join(outer, col(event.client_id) == outer.c.key)
            else:
                query = query.where(col(event.client_id).in_(chunk))
            found.update(
                ((client, code), _quantity(top))
                for client, code, top in self.session.execute(query)
                if (client, code) in keys
            )
        return found


_SUM = AggregationRule(Aggregation.SUM)
