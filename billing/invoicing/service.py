"""Reviewing and correcting invoices: get, list, approve, void, write off. Services never
commit: the caller's unit of work does, so everything an action does (state, ledger entry,
billing event) lands together or not at all. Issuing is `billing.invoicing.issuing`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from billing.invoicing.closing import redraft
from billing.invoicing.errors import InvalidTransitionError, InvoiceKeyError, InvoiceNotFoundError
from billing.invoicing.events import invoice_payload, record_event
from billing.invoicing.models import (
    BillingEventKind,
    ClientBillingSettings,
    Invoice,
    InvoiceStatus,
)
from billing.invoicing.posting import AccountCodes, uncollectible_entry
from billing.invoicing.recognition import void_true_ups
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.pricing.repository import PricingRepository
from billing.rating import BillingPeriod
from billing.tenants.service import get_client
from billing.webhooks import EventType, emit
from billing.webhooks.events import invoice_data
from config.bounds import database_id
from config.db_types import utcnow
from ledger import post_entry, reverse_entry

__all__ = [
    "approve_invoice",
    "approve_invoices",
    "get_invoice",
    "label",
    "list_invoices",
    "mark_uncollectible",
    "set_auto_approve",
    "void_invoice",
]


def get_invoice(session: Session, partner_id: str, key: str | int) -> Invoice:
    """By id (digits) or by number; a key that can be neither is not found."""
    repo = InvoiceRepository(session)
    text = str(key)
    invoice = repo.invoice_by_number(partner_id, text)
    number = database_id(text)
    if invoice is None and number is not None:
        invoice = repo.invoice(partner_id, number)
    if invoice is None and number is None and text.isascii() and text.isdigit():
        raise InvoiceKeyError(text)
    if invoice is None:
        raise InvoiceNotFoundError(text)
    return invoice


def list_invoices(
    session: Session,
    partner_id: str,
    where: InvoiceFilter | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[Invoice]:
    return InvoiceRepository(session).invoices(
        partner_id, where or InvoiceFilter(), after=after, limit=limit
    )


def label(invoice: Invoice) -> str:
    return invoice.number or f"#{invoice.id} ({invoice.client_id} {invoice.period_start})"


def approve_invoice(
    session: Session, partner_id: str, key: str | int, *, by: str, now: datetime | None = None
) -> Invoice:
    """A reviewed draft becomes approved (no longer re-rated); approving again is a no-op."""
    InvoiceRepository(session).claim_sqlite_writer()
    invoice = get_invoice(session, partner_id, key)
    if invoice.status is InvoiceStatus.APPROVED:
        return invoice
    if invoice.status is not InvoiceStatus.DRAFT:
        raise InvalidTransitionError(label(invoice), invoice.status, "approve")
    moment = now or utcnow()
    invoice.status = InvoiceStatus.APPROVED
    invoice.approved_at = moment
    invoice.approved_by = by
    invoice.version += 1
    invoice.updated_at = moment
    session.add(invoice)
    session.flush()
    return invoice


def approve_invoices(
    session: Session,
    partner_id: str,
    *,
    by: str,
    client_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Approve every draft of the partner (or of one client) in one statement; returns how
    many."""
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    return repo.approve_drafts(partner_id, by, now or utcnow(), client_id)


def set_auto_approve(
    session: Session, partner_id: str, client_id: str, *, value: bool | None
) -> ClientBillingSettings:
    """The client's own auto-approve choice; None follows the partner's setting."""
    get_client(session, partner_id, client_id)
    repo = InvoiceRepository(session)
    settings = repo.client_settings(partner_id, client_id) or ClientBillingSettings(
        partner_id=partner_id, client_id=client_id
    )
    settings.auto_approve = value
    return repo.add(settings)


def void_invoice(
    session: Session,
    partner_id: str,
    key: str | int,
    reason: str,
    *,
    now: datetime | None = None,
    rebill: bool = False,
) -> tuple[Invoice, int | None]:
    """Void an issued, unpaid invoice without credit notes: its entry is reversed and its
    usage counts as unbilled again. With `rebill`, a fresh draft of the same period is made at
    once (void and re-issue). Returns the invoice and the new draft's id."""
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    invoice = get_invoice(session, partner_id, key)
    repo.invoice(partner_id, invoice.invoice_id, lock=True)
    if invoice.status is not InvoiceStatus.ISSUED:
        raise InvalidTransitionError(
            label(invoice), invoice.status, "void", "only issued, unpaid invoices can be voided"
        )
    if invoice.amount_paid_minor or invoice.credited_minor:
        raise InvalidTransitionError(
            label(invoice), invoice.status, "void", "it has payments or credit notes"
        )
    moment = now or utcnow()
    PricingRepository(session).lock_accruals(partner_id)
    usage = repo.usage_rows([invoice.invoice_id])[invoice.invoice_id]
    repo.shift_accruals(partner_id, invoice.client_id, void_true_ups(session, invoice, usage))
    if invoice.ledger_entry_id is not None:
        reversal = reverse_entry(
            session,
            partner_id,
            invoice.ledger_entry_id,
            effective_at=moment,
            memo=f"Void of invoice {invoice.number}: {reason}"[:500],
            idempotency_key=f"invoice:{partner_id}:{invoice.number}:void",
        )
        invoice.closing_entry_id = reversal.entry_id
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = moment
    invoice.void_reason = reason[:500]
    invoice.version += 1
    invoice.updated_at = moment
    session.add(invoice)
    session.flush()
    payload = invoice_payload(invoice) | {"reason": invoice.void_reason}
    record_event(
        session, partner_id, BillingEventKind.INVOICE_VOIDED, "invoice", str(invoice.id), payload
    )
    voided = invoice_data(invoice) | {
        "reason": invoice.void_reason,
        "voided_at": moment.isoformat(),
    }
    emit(session, partner_id, EventType.INVOICE_VOIDED, voided, key=str(invoice.id), now=moment)
    new_draft = None
    if rebill:
        period = BillingPeriod(invoice.period_start, invoice.period_end + timedelta(days=1))
        new_draft = redraft(session, partner_id, invoice.client_id, period, moment)
    return invoice, new_draft


def mark_uncollectible(
    session: Session, partner_id: str, key: str | int, *, now: datetime | None = None
) -> Invoice:
    """Write off what is still due: Dr Bad debt / Cr Accounts receivable."""
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    invoice = get_invoice(session, partner_id, key)
    repo.invoice(partner_id, invoice.invoice_id, lock=True)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID):
        raise InvalidTransitionError(label(invoice), invoice.status, "mark uncollectible")
    amount = invoice.amount_due_minor
    moment = now or utcnow()
    if amount > 0:
        entry = post_entry(
            session,
            partner_id,
            uncollectible_entry(AccountCodes(session, partner_id), invoice, amount, moment),
        )
        invoice.closing_entry_id = entry.entry_id
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.uncollectible_at = moment
    invoice.version += 1
    invoice.updated_at = moment
    session.add(invoice)
    session.flush()
    payload = invoice_payload(invoice) | {"written_off_minor": amount}
    record_event(
        session,
        partner_id,
        BillingEventKind.INVOICE_UNCOLLECTIBLE,
        "invoice",
        str(invoice.id),
        payload,
    )
    return invoice
