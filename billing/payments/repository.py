"""Every query payments run. Every method takes the partner id first: no tenant reads
another's payments by accident."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from billing.invoicing.models import Invoice
from billing.invoicing.repository import InvoiceRepository
from billing.payments.models import Dispute, Payment, PaymentSource, Payout, Refund

__all__ = ["PaymentFilter", "PaymentsRepository"]

_Row = TypeVar("_Row", bound=SQLModel)


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    client_id: str | None = None
    invoice_id: int | None = None
    source: PaymentSource | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


class PaymentsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.invoices = InvoiceRepository(session)

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    def lock_invoice(self, partner_id: str, invoice_id: int) -> Invoice | None:
        """Serialise everything that moves money on one invoice: the SQLite write lock, or the
        invoice row's lock on PostgreSQL. Taken before looking for an earlier copy of what is
        being recorded, so two deliveries of one webhook find each other."""
        self.invoices.claim_sqlite_writer()
        return self.invoices.invoice(partner_id, invoice_id, lock=True)

    # payments -------------------------------------------------------------------
    def payment(self, partner_id: str, payment_id: int) -> Payment | None:
        query = select(Payment).where(
            col(Payment.partner_id) == partner_id, col(Payment.id) == payment_id
        )
        return self.session.scalars(query).first()

    def payment_by_external(
        self, partner_id: str, source: PaymentSource, connection_key: str, external_id: str
    ) -> Payment | None:
        query = select(Payment).where(
            col(Payment.partner_id) == partner_id,
            col(Payment.source) == source,
            col(Payment.connection_key) == connection_key,
            col(Payment.external_id) == external_id,
        )
        return self.session.scalars(query).first()

    def payments(
        self,
        partner_id: str,
        where: PaymentFilter,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[Payment]:
        query = select(Payment).where(col(Payment.partner_id) == partner_id)
        if where.client_id is not None:
            query = query.where(col(Payment.client_id) == where.client_id)
        if where.invoice_id is not None:
            query = query.where(col(Payment.invoice_id) == where.invoice_id)
        if where.source is not None:
            query = query.where(col(Payment.source) == where.source)
        if where.received_from is not None:
            query = query.where(col(Payment.received_at) >= where.received_from)
        if where.received_to is not None:
            query = query.where(col(Payment.received_at) < where.received_to)
        if after is not None:
            query = query.where(col(Payment.id) > after)
        query = query.order_by(col(Payment.id))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    # refunds, payouts, disputes ---------------------------------------------------
    def refund_by_external(self, partner_id: str, external_id: str) -> Refund | None:
        query = select(Refund).where(
            col(Refund.partner_id) == partner_id, col(Refund.external_id) == external_id
        )
        return self.session.scalars(query).first()

    def refunds(self, partner_id: str, payment_ids: Sequence[int]) -> list[Refund]:
        query = select(Refund).where(
            col(Refund.partner_id) == partner_id, col(Refund.payment_id).in_(list(payment_ids))
        )
        return list(self.session.scalars(query.order_by(col(Refund.id))))

    def payout_by_external(self, partner_id: str, external_id: str) -> Payout | None:
        query = select(Payout).where(
            col(Payout.partner_id) == partner_id, col(Payout.external_id) == external_id
        )
        return self.session.scalars(query).first()

    def dispute_by_external(self, partner_id: str, external_id: str) -> Dispute | None:
        query = select(Dispute).where(
            col(Dispute.partner_id) == partner_id, col(Dispute.external_id) == external_id
        )
        return self.session.scalars(query).first()

    def disputes(self, partner_id: str, payment_ids: Sequence[int]) -> list[Dispute]:
        query = select(Dispute).where(
            col(Dispute.partner_id) == partner_id, col(Dispute.payment_id).in_(list(payment_ids))
        )
        return list(self.session.scalars(query.order_by(col(Dispute.id))))
