"""Every query on price books and the change log. Each takes the partner id first.

Client-scoped reads accept `client_ids` so that one client's live figure loads one client's
rows, while a partner-wide run (accrual, the rating benchmark) loads everything in a handful of
queries instead of one per client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select, and_, bindparam, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from billing.pricing.models import (
    AccrualState,
    ClientDates,
    ClientTermsVersion,
    PlanVersion,
    PriceChange,
    PriceScope,
    PriceVersion,
    PricingPlan,
)
from billing.tenants.models import Client
from config.key_arrays import keyed_queries

__all__ = ["AccruedRow", "PriceRow", "PricingRepository", "RatedClient", "TermsRow"]

_Row = TypeVar("_Row", bound=SQLModel)
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
_CLIENT_PLAN = "client:%"


class AccruedRow(NamedTuple):
    client_id: str
    usage_type: str
    period_start: date
    charge: int
    cost: int
    accruals: int


class RatedClient(NamedTuple):
    """What rating reads of a client (a plain row: rating thousands of clients does not need
    thousands of tracked entities)."""

    id: str
    billing_anchor_day: int
    timezone: str
    currency: str


class TermsRow(NamedTuple):
    """A client terms version as the price book reads it (see `ClientTermsVersion`)."""

    client_id: str
    effective_from: date
    plan_code: str | None
    custom_plan: bool
    discount_percent: Decimal
    tax_name: str | None
    tax_percent: Decimal | None
    auto_charge: bool


class PriceRow(NamedTuple):
    """A price version as the price book reads it (see `PriceVersion`)."""

    scope: PriceScope
    owner: str
    usage_type: str
    effective_from: date
    price: dict[str, Any] | None


_ACCRUAL_KEY = ["partner_id", "client_id", "usage_type", "period_start"]
_ACCRUAL_SET = (
    "period_end",
    "currency",
    "cost_currency",
    "charge",
    "cost",
    "accruals",
    "watermark",
    "updated_at",
)


class PricingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _keyed(self, query: _Query, column: Any, keys: Sequence[str] | None) -> Iterator[_Query]:
        """`query` over rows whose `column` is in `keys` (every row when `keys` is None):
        joins on arrays on PostgreSQL (an IN list there falls into a generic plan that scans
        the partner's rows; see `config.key_arrays`), IN lists on SQLite."""
        if keys is None:
            return iter([query])
        postgres = self.session.get_bind().dialect.name == "postgresql"
        return keyed_queries(query, column, keys, postgres=postgres)

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    def queue(self, row: SQLModel) -> None:
        """Add without flushing: written with the next query's autoflush or the commit."""
        self.session.add(row)

    # plans --------------------------------------------------------------------
    def plan(self, partner_id: str, code: str) -> PricingPlan | None:
        return self.session.get(PricingPlan, (partner_id, code))

    def plans(self, partner_id: str) -> list[PricingPlan]:
        """The partner's plans, without clients' own plans."""
        query = (
            select(PricingPlan)
            .where(col(PricingPlan.partner_id) == partner_id, col(PricingPlan.client_id).is_(None))
            .order_by(col(PricingPlan.code))
        )
        return list(self.session.scalars(query))

    def plan_versions(
        self, partner_id: str, codes: Sequence[str] | None = None, *, client_plans: bool = True
    ) -> list[PlanVersion]:
        """Versions of the given plans, or of every plan (clients' own plans unless
        `client_plans` is False)."""
        query = select(PlanVersion).where(col(PlanVersion.partner_id) == partner_id)
        order = (col(PlanVersion.plan_code), col(PlanVersion.effective_from))
        if codes is None:
            if not client_plans:
                query = query.where(col(PlanVersion.plan_code).not_like(_CLIENT_PLAN))
            return list(self.session.scalars(query.order_by(*order)))
        found: list[PlanVersion] = []
        for chunked in self._keyed(query, col(PlanVersion.plan_code), codes):
            found.extend(self.session.scalars(chunked.order_by(*order)))
        return found

    # prices -------------------------------------------------------------------
    def price_versions(
        self,
        partner_id: str,
        scope: PriceScope | None = None,
        owners: Sequence[str] | None = None,
        usage_type: str | None = None,
    ) -> list[PriceVersion]:
        query = select(PriceVersion).where(col(PriceVersion.partner_id) == partner_id)
        if scope is not None:
            query = query.where(col(PriceVersion.scope) == scope)
        if usage_type is not None:
            query = query.where(col(PriceVersion.usage_type) == usage_type)
        order = (
            col(PriceVersion.owner),
            col(PriceVersion.usage_type),
            col(PriceVersion.effective_from),
        )
        found: list[PriceVersion] = []
        for chunked in self._keyed(query, col(PriceVersion.owner), owners):
            found.extend(self.session.scalars(chunked.order_by(*order)))
        return found

    def book_price_versions(
        self, partner_id: str, client_ids: Sequence[str] | None
    ) -> list[PriceRow]:
        """Prices a price book needs: plans and wholesale, and client prices (of `client_ids`
        only, when given), without other clients' own plans. Plain rows, read once per run."""
        version = PriceVersion
        query = select(
            col(version.scope),
            col(version.owner),
            col(version.usage_type),
            col(version.effective_from),
            col(version.price),
        ).where(col(version.partner_id) == partner_id)
        if client_ids is None:
            return [PriceRow(*row) for row in self.session.execute(query)]
        shared = query.where(
            or_(
                col(version.scope) == PriceScope.WHOLESALE,
                (col(version.scope) == PriceScope.PLAN) & col(version.owner).not_like(_CLIENT_PLAN),
            )
        )
        found = [PriceRow(*row) for row in self.session.execute(shared)]
        owners = [*client_ids, *(f"client:{client}" for client in client_ids)]
        own = query.where(col(version.scope) != PriceScope.WHOLESALE)
        for chunked in self._keyed(own, col(version.owner), owners):
            found.extend(PriceRow(*row) for row in self.session.execute(chunked))
        return found

    # clients ------------------------------------------------------------------
    def terms_versions(
        self, partner_id: str, client_ids: Sequence[str] | None = None
    ) -> list[ClientTermsVersion]:
        return self._client_rows(ClientTermsVersion, partner_id, client_ids)

    def book_terms(self, partner_id: str, client_ids: Sequence[str] | None) -> list[TermsRow]:
        """Terms versions as plain rows (for the price book; `terms_versions` for changing)."""
        terms = ClientTermsVersion
        query = select(
            col(terms.client_id),
            col(terms.effective_from),
            col(terms.plan_code),
            col(terms.custom_plan),
            col(terms.discount_percent),
            col(terms.tax_name),
            col(terms.tax_percent),
            col(terms.auto_charge),
        ).where(col(terms.partner_id) == partner_id)
        found: list[TermsRow] = []
        for chunked in self._keyed(query, col(terms.client_id), client_ids):
            found.extend(TermsRow(*row) for row in self.session.execute(chunked))
        return found

    def rated_clients(
        self, partner_id: str, client_ids: Sequence[str] | None = None
    ) -> list[RatedClient]:
        """The partner's clients (or those of `client_ids` that exist), ordered by id."""
        query = select(
            col(Client.id),
            col(Client.billing_anchor_day),
            col(Client.timezone),
            col(Client.currency),
        ).where(col(Client.partner_id) == partner_id)
        if client_ids is None:
            rows = self.session.execute(query.order_by(col(Client.id)))
            return [RatedClient(*row) for row in rows]
        found: list[RatedClient] = []
        for chunked in self._keyed(query, col(Client.id), client_ids):
            found.extend(RatedClient(*row) for row in self.session.execute(chunked))
        return sorted(found)

    def client_dates(
        self, partner_id: str, client_ids: Sequence[str] | None = None
    ) -> list[ClientDates]:
        return self._client_rows(ClientDates, partner_id, client_ids)

    def dates_of(self, partner_id: str, client_id: str) -> ClientDates | None:
        return self.session.get(ClientDates, (partner_id, client_id))

    def _client_rows(
        self, model: type[_Row], partner_id: str, client_ids: Sequence[str] | None
    ) -> list[_Row]:
        table: Any = model
        query = select(model).where(table.partner_id == partner_id)
        found: list[_Row] = []
        for chunked in self._keyed(query, table.client_id, client_ids):
            found.extend(self.session.scalars(chunked))
        return found

    # change log ---------------------------------------------------------------
    def change(self, partner_id: str, change_id: int) -> PriceChange | None:
        row = self.session.get(PriceChange, change_id)
        return row if row is not None and row.partner_id == partner_id else None

    def changes(
        self,
        partner_id: str,
        *,
        object_key: str | None = None,
        limit: int = 100,
        after: PriceChange | None = None,
        without_types_like: Sequence[str] = (),
    ) -> list[PriceChange]:
        """Newest first (`changed_at`, then id); `after`: the last row of the previous page
        (keyset paging); `without_types_like`: leave out object types containing any of these
        words (what a key may not see), in the query so every page is full."""
        query = select(PriceChange).where(col(PriceChange.partner_id) == partner_id)
        if object_key is not None:
            query = query.where(col(PriceChange.object_key).startswith(object_key))
        for word in without_types_like:
            query = query.where(func.lower(col(PriceChange.object_type)).not_like(f"%{word}%"))
        if after is not None:
            at, row_id = col(PriceChange.changed_at), col(PriceChange.id)
            query = query.where(
                or_(at < after.changed_at, and_(at == after.changed_at, row_id < after.id))
            )
        order = (col(PriceChange.changed_at).desc(), col(PriceChange.id).desc())
        return list(self.session.scalars(query.order_by(*order).limit(limit)))

    # accrual state -------------------------------------------------------------
    def lock_accruals(self, partner_id: str) -> None:
        """Serialise accrual runs of one partner: each posts the difference from the state the
        previous run left, so two runs must not read the same state. PostgreSQL: a transaction
        advisory lock; SQLite: take the write lock before reading (one writer at a time)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"rebill-accrual:{partner_id}"},
            )
        else:
            self.session.execute(text("UPDATE billing_partner SET id = id WHERE 0"))

    def accrued(
        self, partner_id: str, period_starts: Iterable[date], client_ids: Sequence[str] | None
    ) -> list[AccruedRow]:
        state = AccrualState
        query = select(
            col(state.client_id),
            col(state.usage_type),
            col(state.period_start),
            col(state.charge),
            col(state.cost),
            col(state.accruals),
        ).where(
            col(state.partner_id) == partner_id,
            col(state.period_start).in_(sorted(set(period_starts))),
        )
        found: list[AccruedRow] = []
        for chunked in self._keyed(query, col(state.client_id), client_ids):
            found.extend(AccruedRow(*row) for row in self.session.execute(chunked))
        return found

    def save_accrued(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or overwrite accrual state rows (absolute values: replaying is harmless)."""
        if not rows:
            return
        table: Any = AccrualState.__table__  # type: ignore[attr-defined]
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            self._save_accrued_arrays(table, rows)
            return
        insert = sqlite.insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=_ACCRUAL_KEY,
            set_={name: insert.excluded[name] for name in _ACCRUAL_SET},
        )
        for start in range(0, len(rows), 5000):
            self.session.execute(statement, list(rows[start : start + 5000]))

    def _save_accrued_arrays(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        """PostgreSQL: one `INSERT ... SELECT unnest(...), ... ON CONFLICT DO UPDATE` per
        10,000 rows, each column one array parameter: an executemany would send a statement
        per row (a cycle of 10,000 clients writes about 40,000 state rows)."""
        names = [column.name for column in table.columns]
        for start in range(0, len(rows), 10_000):
            chunk = rows[start : start + 10_000]
            arrays = [
                func.unnest(
                    bindparam(
                        f"v_{name}",
                        [row[name] for row in chunk],
                        type_=postgresql.ARRAY(table.c[name].type),
                    )
                )
                for name in names
            ]
            insert = postgresql.insert(table).from_select(names, select(*arrays))
            statement = insert.on_conflict_do_update(
                index_elements=_ACCRUAL_KEY,
                set_={name: insert.excluded[name] for name in _ACCRUAL_SET},
            )
            self.session.execute(statement)
