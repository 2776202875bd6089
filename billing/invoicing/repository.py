"""Every query invoicing runs. Every method takes the partner id first: there is no way to read
another tenant's invoices by accident. Bulk paths (a cycle of 10,000 clients) write with Core
statements over many rows at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from billing.invoicing.models import (
    ISSUED_STATES,
    BillingEvent,
    ClientBillingSettings,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceUsage,
    NumberSequence,
    SequenceKind,
)
from billing.metering.models import UsageEvent
from billing.pricing.models import AccrualState

__all__ = ["BilledUsage", "InvoiceFilter", "InvoiceRepository", "LateEvent"]

_CHUNK = 500
_INSERT_CHUNK = 2000
_Row = TypeVar("_Row", bound=SQLModel)


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    status: InvoiceStatus | None = None
    client_id: str | None = None
    period_start: date | None = None
    period_from: date | None = None
    period_to: date | None = None


@dataclass
class BilledUsage:
    """What the client's standing invoices billed (and cleared) of one usage type and period."""

    quantity: Decimal = Decimal(0)
    charge: int = 0
    cost: int = 0
    unbilled_cleared: int = 0
    cost_cleared: int = 0
    watermark: datetime | None = None


@dataclass(frozen=True, slots=True)
class LateEvent:
    client_id: str
    usage_type: str
    occurred_at: datetime
    received_at: datetime


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def claim_sqlite_writer(self) -> None:
        """On SQLite, take the write lock before reading what this transaction will write
        (see `LedgerRepository.claim_sqlite_writer`); PostgreSQL locks rows instead."""
        if self.dialect == "sqlite":
            self.session.execute(text("UPDATE billing_partner SET id = id WHERE 0"))

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    # invoices -------------------------------------------------------------------
    def invoice(self, partner_id: str, invoice_id: int, *, lock: bool = False) -> Invoice | None:
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id, col(Invoice.id) == invoice_id
        )
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def invoice_by_number(self, partner_id: str, number: str) -> Invoice | None:
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id, col(Invoice.number) == number
        )
        return self.session.scalars(query).first()

    def invoices_by_id(
        self, partner_id: str, invoice_ids: Sequence[int], *, lock: bool = False
    ) -> list[Invoice]:
        found: list[Invoice] = []
        for chunk in _chunks(list(invoice_ids)):
            query = select(Invoice).where(
                col(Invoice.partner_id) == partner_id, col(Invoice.id).in_(chunk)
            )
            if lock and self.dialect == "postgresql":
                query = query.with_for_update()
            found.extend(self.session.scalars(query.order_by(col(Invoice.id))))
        return found

    def invoices(
        self,
        partner_id: str,
        where: InvoiceFilter,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[Invoice]:
        query = select(Invoice).where(col(Invoice.partner_id) == partner_id)
        if where.status is not None:
            query = query.where(col(Invoice.status) == where.status)
        if where.client_id is not None:
            query = query.where(col(Invoice.client_id) == where.client_id)
        if where.period_start is not None:
            query = query.where(col(Invoice.period_start) == where.period_start)
        if where.period_from is not None:
            query = query.where(col(Invoice.period_start) >= where.period_from)
        if where.period_to is not None:
            query = query.where(col(Invoice.period_start) <= where.period_to)
        if after is not None:
            query = query.where(col(Invoice.id) > after)
        query = query.order_by(col(Invoice.id))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def ids_with_status(self, partner_id: str, status: InvoiceStatus) -> list[int]:
        query = (
            select(col(Invoice.id))
            .where(col(Invoice.partner_id) == partner_id, col(Invoice.status) == status)
            .order_by(col(Invoice.id))
        )
        return [int(i or 0) for i in self.session.scalars(query)]

    def closed_periods(
        self, partner_id: str, client_ids: Sequence[str] | None
    ) -> dict[str, set[date]]:
        """Client -> the period starts it has any invoice for (voided ones included: a voided
        period is billed again only on purpose, never by closing a cycle)."""
        query = select(col(Invoice.client_id), col(Invoice.period_start)).where(
            col(Invoice.partner_id) == partner_id
        )
        found: dict[str, set[date]] = {}
        batches: Iterable[Sequence[str] | None] = (
            [None] if client_ids is None else _chunks(list(client_ids))
        )
        for chunk in batches:
            chunked = query if chunk is None else query.where(col(Invoice.client_id).in_(chunk))
            for client_id, start in self.session.execute(chunked):
                found.setdefault(client_id, set()).add(start)
        return found

    def insert_invoices(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, date], int]:
        """Insert drafts, skipping any (client, period) that already has a live invoice (a
        concurrent close won the race); returns (client, period start) -> id of those written."""
        table: Any = Invoice.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(
                index_elements=["partner_id", "client_id", "period_start"],
                index_where=text("status <> 'void'"),
            )
            .returning(table.c.id, table.c.client_id, table.c.period_start)
        )
        written: dict[tuple[str, date], int] = {}
        for chunk in _chunks(list(rows), _INSERT_CHUNK):
            for id_, client_id, start in self.session.execute(statement, list(chunk)):
                written[(client_id, start)] = int(id_)
        return written

    def insert_rows(self, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        table: Any = model.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(list(rows), _INSERT_CHUNK):
            self.session.execute(insert(table), list(chunk))

    def update_invoices(self, rows: Sequence[dict[str, Any]]) -> None:
        """Bulk UPDATE by primary key (`id` in each dict)."""
        for chunk in _chunks(list(rows), _INSERT_CHUNK):
            self.session.execute(update(Invoice), list(chunk))

    def update_usage(self, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(list(rows), _INSERT_CHUNK):
            self.session.execute(update(InvoiceUsage), list(chunk))

    def delete_draft_content(self, invoice_id: int) -> None:
        """A refresh replaces a draft's lines and usage (the database refuses it once issued)."""
        tables: list[Any] = [InvoiceLine.__table__, InvoiceUsage.__table__]  # type: ignore[attr-defined]
        for table in tables:
            self.session.execute(table.delete().where(table.c.invoice_id == invoice_id))

    def lines(self, invoice_ids: Sequence[int]) -> dict[int, list[InvoiceLine]]:
        found: dict[int, list[InvoiceLine]] = {i: [] for i in invoice_ids}
        for chunk in _chunks(list(invoice_ids)):
            query = (
                select(InvoiceLine)
                .where(col(InvoiceLine.invoice_id).in_(chunk))
                .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
            )
            for line in self.session.scalars(query):
                found[line.invoice_id].append(line)
        return found

    def usage_rows(self, invoice_ids: Sequence[int]) -> dict[int, list[InvoiceUsage]]:
        found: dict[int, list[InvoiceUsage]] = {i: [] for i in invoice_ids}
        for chunk in _chunks(list(invoice_ids)):
            query = (
                select(InvoiceUsage)
                .where(col(InvoiceUsage.invoice_id).in_(chunk))
                .order_by(col(InvoiceUsage.id))
            )
            for row in self.session.scalars(query):
                found[row.invoice_id].append(row)
        return found

    def billed_usage(
        self,
        partner_id: str,
        client_ids: Sequence[str],
        *,
        before: date | None = None,
        exclude_invoice_id: int | None = None,
        issued_only: bool = False,
    ) -> dict[tuple[str, date, str], BilledUsage]:
        """(client, period start, usage type) -> what the client's invoices that are not void
        (or, with `issued_only`, that are issued and stand) billed and cleared of it."""
        row = InvoiceUsage
        query = (
            select(
                col(row.client_id),
                col(row.origin_period_start),
                col(row.usage_type),
                col(row.quantity),
                col(row.charge_minor),
                col(row.cost_minor),
                col(row.unbilled_cleared_minor),
                col(row.cost_cleared_minor),
                col(row.watermark),
            )
            .join(Invoice, col(Invoice.id) == col(row.invoice_id))
            .where(col(row.partner_id) == partner_id, col(Invoice.status) != InvoiceStatus.VOID)
        )
        if before is not None:
            query = query.where(col(row.origin_period_start) < before)
        if issued_only:
            query = query.where(col(Invoice.status).in_(sorted(ISSUED_STATES)))
        if exclude_invoice_id is not None:
            query = query.where(col(row.invoice_id) != exclude_invoice_id)
        found: dict[tuple[str, date, str], BilledUsage] = {}
        for chunk in _chunks(list(client_ids)):
            for values in self.session.execute(query.where(col(row.client_id).in_(chunk))):
                client, start, usage_type, quantity, charge, cost, cleared, cost_cleared, mark = (
                    values
                )
                billed = found.setdefault((client, start, usage_type), BilledUsage())
                billed.quantity += quantity
                billed.charge += charge
                billed.cost += cost
                billed.unbilled_cleared += cleared
                billed.cost_cleared += cost_cleared
                if billed.watermark is None or mark > billed.watermark:
                    billed.watermark = mark
        return found

    def invoices_for_period(
        self, partner_id: str, client_id: str, period_start: date
    ) -> list[Invoice]:
        """The client's invoices of one period, the standing one first."""
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id,
            col(Invoice.client_id) == client_id,
            col(Invoice.period_start) == period_start,
        )
        found = list(self.session.scalars(query.order_by(col(Invoice.id))))
        return sorted(found, key=lambda i: i.status is InvoiceStatus.VOID)

    def coverage_marks(
        self, partner_id: str, client_id: str, usage_type: str, period_start: date
    ) -> list[datetime]:
        """Watermarks of the standing invoices' usage rows of one usage type and period."""
        query = (
            select(col(InvoiceUsage.watermark))
            .join(Invoice, col(Invoice.id) == col(InvoiceUsage.invoice_id))
            .where(
                col(InvoiceUsage.partner_id) == partner_id,
                col(InvoiceUsage.client_id) == client_id,
                col(InvoiceUsage.usage_type) == usage_type,
                col(InvoiceUsage.origin_period_start) == period_start,
                col(Invoice.status) != InvoiceStatus.VOID,
            )
        )
        return list(self.session.scalars(query))

    def period_ends(
        self, partner_id: str, client_ids: Sequence[str], starts: Iterable[date]
    ) -> dict[tuple[str, date], date]:
        """(client, period start) -> the period's end (exclusive), from its invoices."""
        wanted = sorted(set(starts))
        found: dict[tuple[str, date], date] = {}
        for chunk in _chunks(list(client_ids)):
            query = select(
                col(Invoice.client_id), col(Invoice.period_start), col(Invoice.period_end)
            ).where(
                col(Invoice.partner_id) == partner_id,
                col(Invoice.client_id).in_(chunk),
                col(Invoice.period_start).in_(wanted),
            )
            for client_id, start, last in self.session.execute(query):
                found[(client_id, start)] = last + timedelta(days=1)
        return found

    def shift_accruals(
        self, partner_id: str, client_id: str, changes: Sequence[tuple[date, str, int, int]]
    ) -> None:
        """Subtract (charge, cost) from pricing's accrual state of (period, usage type): how a
        void hands back to accrual what the invoice had taken over."""
        table: Any = AccrualState.__table__  # type: ignore[attr-defined]
        for start, usage_type, charge, cost in changes:
            if charge == 0 and cost == 0:
                continue
            self.session.execute(
                update(table)
                .where(
                    table.c.partner_id == partner_id,
                    table.c.client_id == client_id,
                    table.c.usage_type == usage_type,
                    table.c.period_start == start,
                )
                .values(charge=table.c.charge - charge, cost=table.c.cost - cost)
            )

    def issued_since(
        self, partner_id: str, client_ids: Sequence[str], ended_after: datetime
    ) -> list[Invoice]:
        """Issued invoices (not void) of these clients whose period ended after a moment:
        the periods late usage may still arrive for."""
        found: list[Invoice] = []
        for chunk in _chunks(list(client_ids)):
            query = select(Invoice).where(
                col(Invoice.partner_id) == partner_id,
                col(Invoice.client_id).in_(chunk),
                col(Invoice.status).in_(sorted(ISSUED_STATES)),
                col(Invoice.period_end_at) > ended_after,
            )
            found.extend(self.session.scalars(query))
        return found

    def late_events(
        self,
        partner_id: str,
        client_ids: Sequence[str],
        start: datetime,
        end: datetime,
        received_after: datetime,
    ) -> list[LateEvent]:
        """Events of these clients that occurred in `[start, end)` and were received after a
        moment: the few candidates for prior-period adjustments."""
        event = UsageEvent
        found: list[LateEvent] = []
        for chunk in _chunks(list(client_ids)):
            query = select(
                col(event.client_id),
                col(event.usage_type),
                col(event.occurred_at),
                col(event.received_at),
            ).where(
                col(event.partner_id) == partner_id,
                col(event.client_id).in_(chunk),
                col(event.occurred_at) >= start,
                col(event.occurred_at) < end,
                col(event.received_at) > received_after,
            )
            found.extend(LateEvent(*values) for values in self.session.execute(query))
        return found

    def events(
        self,
        partner_id: str,
        client_id: str,
        usage_type: str,
        start: datetime,
        end: datetime,
    ) -> Iterator[UsageEvent]:
        """A usage type's events of one client in `[start, end)`, in time order."""
        query = (
            select(UsageEvent)
            .where(
                col(UsageEvent.partner_id) == partner_id,
                col(UsageEvent.client_id) == client_id,
                col(UsageEvent.usage_type) == usage_type,
                col(UsageEvent.occurred_at) >= start,
                col(UsageEvent.occurred_at) < end,
            )
            .order_by(col(UsageEvent.occurred_at), col(UsageEvent.id))
            .execution_options(yield_per=2000)
        )
        yield from self.session.scalars(query)

    # numbering ----------------------------------------------------------------
    def allocate_numbers(self, partner_id: str, kind: SequenceKind, count: int) -> int:
        """Reserve `count` consecutive numbers; returns the first. The UPDATE locks the
        sequence row until the transaction ends, so concurrent issuers queue behind it and a
        rollback hands the same numbers out again: no gaps, no duplicates."""
        table: Any = NumberSequence.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self.session.execute(
            dialect_insert(table)
            .values(partner_id=partner_id, kind=kind.value, last_value=0)
            .on_conflict_do_nothing(index_elements=["partner_id", "kind"])
        )
        statement = (
            update(table)
            .where(table.c.partner_id == partner_id, table.c.kind == kind.value)
            .values(last_value=table.c.last_value + count)
            .returning(table.c.last_value)
        )
        last = int(self.session.execute(statement).scalar_one())
        return last - count + 1

    # settings ------------------------------------------------------------------
    def auto_approve_overrides(self, partner_id: str) -> dict[str, bool]:
        query = select(
            col(ClientBillingSettings.client_id), col(ClientBillingSettings.auto_approve)
        ).where(
            col(ClientBillingSettings.partner_id) == partner_id,
            col(ClientBillingSettings.auto_approve).is_not(None),
        )
        return {client: bool(flag) for client, flag in self.session.execute(query)}

    def client_settings(self, partner_id: str, client_id: str) -> ClientBillingSettings | None:
        return self.session.get(ClientBillingSettings, (partner_id, client_id))

    # credit notes ---------------------------------------------------------------
    def credit_notes(self, partner_id: str, invoice_id: int) -> list[CreditNote]:
        query = (
            select(CreditNote)
            .where(
                col(CreditNote.partner_id) == partner_id, col(CreditNote.invoice_id) == invoice_id
            )
            .order_by(col(CreditNote.id))
        )
        return list(self.session.scalars(query))

    def credit_note_by_number(self, partner_id: str, number: str) -> CreditNote | None:
        query = select(CreditNote).where(
            col(CreditNote.partner_id) == partner_id, col(CreditNote.number) == number
        )
        return self.session.scalars(query).first()

    def credit_note_lines(self, credit_note_ids: Sequence[int]) -> dict[int, list[CreditNoteLine]]:
        found: dict[int, list[CreditNoteLine]] = {i: [] for i in credit_note_ids}
        for chunk in _chunks(list(credit_note_ids)):
            query = (
                select(CreditNoteLine)
                .where(col(CreditNoteLine.credit_note_id).in_(chunk))
                .order_by(col(CreditNoteLine.credit_note_id), col(CreditNoteLine.position))
            )
            for line in self.session.scalars(query):
                found[line.credit_note_id].append(line)
        return found

    # billing events --------------------------------------------------------------
    def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        self.insert_rows(BillingEvent, rows)

    def billing_events(
        self, partner_id: str, *, after: int | None = None, limit: int = 100
    ) -> list[BillingEvent]:
        query = select(BillingEvent).where(col(BillingEvent.partner_id) == partner_id)
        if after is not None:
            query = query.where(col(BillingEvent.id) > after)
        return list(self.session.scalars(query.order_by(col(BillingEvent.id)).limit(limit)))

    def count_by_status(self, partner_id: str) -> dict[str, int]:
        query = (
            select(col(Invoice.status), func.count())
            .where(col(Invoice.partner_id) == partner_id)
            .group_by(col(Invoice.status))
        )
        return {str(status): int(n) for status, n in self.session.execute(query)}
