"""The queries about usage behind invoices: what standing invoices billed of each period, late
events, the events of a line, and pricing's accrual state. A mixin of `InvoiceRepository`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from billing.invoicing.models import (
    ISSUED_STATES,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    InvoiceUsage,
)
from billing.invoicing.rows import BilledUsage, LateEvent
from billing.metering.models import UsageEvent
from billing.pricing.models import AccrualState
from config.key_arrays import keyed_queries

__all__ = ["UsageQueries"]


class UsageQueries:
    session: Session

    @property
    def postgres(self) -> bool:
        """Lists of keys join on arrays there (see `config.key_arrays`)."""
        return self.session.get_bind().dialect.name == "postgresql"

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
        for chunked in keyed_queries(query, col(row.client_id), client_ids, postgres=self.postgres):
            for values in self.session.execute(chunked):
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

    def billed_fixed(
        self,
        partner_id: str,
        client_ids: Sequence[str],
        period_starts: Iterable[date] | None = None,
        *,
        issued_only: bool = True,
        exclude_invoice_id: int | None = None,
    ) -> dict[tuple[str, date, InvoiceLineKind], int]:
        """(client, service period, line kind) -> what the client's standing issued invoices
        (or, without `issued_only`, every invoice that is not void, drafts included) billed of
        the parts of a period that are not usage: base fee, minimum-spend true-up, discount.
        Their own lines, and prior-period adjustments of those kinds (by origin period)."""
        wanted = None if period_starts is None else set(period_starts)
        line = InvoiceLine
        period = func.coalesce(col(line.origin_period_start), col(Invoice.period_start))
        fixed = (
            InvoiceLineKind.BASE_FEE,
            InvoiceLineKind.MINIMUM_TRUE_UP,
            InvoiceLineKind.DISCOUNT,
        )
        query = (
            select(
                col(Invoice.client_id),
                col(Invoice.period_start),
                col(line.kind),
                col(line.adjusts),
                col(line.origin_period_start),
                col(line.amount_minor),
            )
            .join(Invoice, col(Invoice.id) == col(line.invoice_id))
            .where(
                col(Invoice.partner_id) == partner_id,
                col(line.kind).in_([*fixed, InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT]),
            )
        )
        if issued_only:
            query = query.where(col(Invoice.status).in_(sorted(ISSUED_STATES)))
        else:
            query = query.where(col(Invoice.status) != InvoiceStatus.VOID)
        if exclude_invoice_id is not None:
            query = query.where(col(Invoice.id) != exclude_invoice_id)
        if wanted is not None:
            query = query.where(period.in_(sorted(wanted)))
        found: dict[tuple[str, date, InvoiceLineKind], int] = {}
        for chunked in keyed_queries(
            query, col(Invoice.client_id), client_ids, postgres=self.postgres
        ):
            rows = self.session.execute(chunked)
            for client, own, kind, adjusts, origin, amount in rows:
                what = adjusts if kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT else kind
                period = origin or own
                if what not in fixed or (wanted is not None and period not in wanted):
                    continue
                key = (client, period, what)
                found[key] = found.get(key, 0) + amount
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
        query = select(
            col(Invoice.client_id), col(Invoice.period_start), col(Invoice.period_end)
        ).where(
            col(Invoice.partner_id) == partner_id,
            col(Invoice.period_start).in_(wanted),
        )
        for chunked in keyed_queries(
            query, col(Invoice.client_id), client_ids, postgres=self.postgres
        ):
            for client_id, start, last in self.session.execute(chunked):
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
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id,
            col(Invoice.status).in_(sorted(ISSUED_STATES)),
            col(Invoice.period_end_at) > ended_after,
        )
        for chunked in keyed_queries(
            query, col(Invoice.client_id), client_ids, postgres=self.postgres
        ):
            found.extend(self.session.scalars(chunked))
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
        query = select(
            col(event.client_id),
            col(event.usage_type),
            col(event.occurred_at),
            col(event.received_at),
        ).where(
            col(event.partner_id) == partner_id,
            col(event.occurred_at) >= start,
            col(event.occurred_at) < end,
            col(event.received_at) > received_after,
        )
        for chunked in keyed_queries(
            query, col(event.client_id), client_ids, postgres=self.postgres
        ):
            found.extend(LateEvent(*values) for values in self.session.execute(chunked))
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
