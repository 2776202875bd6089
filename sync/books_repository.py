"""What sync reads of our books: the invoice, credit note, payment or client an outbox row
names and the partner's usage types (pushes, `sync.handlers`, `sync.payments`), and which of
our objects a remote id stands for (read-back, `sync.readback`). Rows name their subject by id
alone: the subject may be gone since (a client deleted), which the caller turns into a
rejection."""

from __future__ import annotations

from sqlmodel import Session, col, select

from billing.invoicing.models import CreditNote, CreditNoteLine, Invoice
from billing.payments.models import Payment
from billing.tenants.models import Client, UsageType
from mappings.models import ExternalRef, RefKind

__all__ = [
    "client",
    "credit_note",
    "credit_note_lines",
    "invoice",
    "our_id_of_remote",
    "payment",
    "usage_types",
]


def client(session: Session, partner_id: str, client_id: str) -> Client | None:
    return session.get(Client, (partner_id, client_id))


def usage_types(session: Session, partner_id: str) -> list[UsageType]:
    """The partner's usage types (the items an invoice line may name)."""
    return list(session.exec(select(UsageType).where(col(UsageType.partner_id) == partner_id)))


def invoice(session: Session, invoice_id: int) -> Invoice | None:
    return session.get(Invoice, invoice_id)


def credit_note(session: Session, credit_note_id: int) -> CreditNote | None:
    return session.get(CreditNote, credit_note_id)


def credit_note_lines(session: Session, credit_note_id: int) -> list[CreditNoteLine]:
    """The note's lines in their printed order."""
    query = (
        select(CreditNoteLine)
        .where(col(CreditNoteLine.credit_note_id) == credit_note_id)
        .order_by(col(CreditNoteLine.position))
    )
    return list(session.exec(query))


def payment(session: Session, payment_id: int) -> Payment | None:
    return session.get(Payment, payment_id)


def our_id_of_remote(
    session: Session, connection_id: str, kind: RefKind, remote_id: str
) -> str | None:
    """Our id of a remote object, from the external-reference table (the reverse lookup)."""
    return session.exec(
        select(ExternalRef.our_id).where(
            col(ExternalRef.connection_id) == connection_id,
            col(ExternalRef.kind) == kind,
            col(ExternalRef.remote_id) == remote_id,
        )
    ).first()
