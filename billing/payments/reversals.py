"""Money going back: refunds and disputes (chargebacks) of recorded payments.

A refund returns money to the client and corrects the invoice with a credit note, so the
invoice, the books and the accounting tools agree that the client owes nothing for it:
    refund entry:       Dr Accounts receivable / Cr Cash (Stripe clearing or Bank)
    credit note entry:  Dr Credit notes and refunds (+ Dr Sales tax payable) / Cr Accounts
                        receivable (`billing.invoicing.credits`, with its number, event, PDF)
The credit note covers the refund minus any credit balance the invoice already had (a paid
invoice credited earlier has nothing left to credit: the refund just returns the money). Its
lines are found so that its total equals the refund to the cent (tax and discount shares
included); when no such credit note exists (a tax rounding step skips that exact cent), the
refund is recorded without one and the amount is due on the invoice again, for a person to
credit or write off.

A dispute withdraws the disputed amount and the dispute fee from Stripe clearing while it is
open or lost (the client owes the amount again: the invoice is open); a dispute won reverses
that entry. Statuses are Stripe's. Final statuses (`won`, `lost`, `warning_closed`) stick: an
older status arriving late changes nothing.

Invoice figures hold `amount_paid = sum(payments) - sum(refunds) - sum(disputes withdrawn)`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session

from billing.invoicing.credits import CreditRequest, _plan_lines, create_credit_note
from billing.invoicing.errors import InvalidCreditError
from billing.invoicing.models import CreditNote, Invoice, InvoiceLineKind, InvoiceStatus
from billing.invoicing.posting import AccountCodes
from billing.invoicing.repository import InvoiceRepository
from billing.payments.errors import (
    DuplicateConflictError,
    InvalidPaymentError,
    PaymentNotFoundError,
    PaymentStateError,
)
from billing.payments.models import DISPUTE_STATUSES, FUNDS_WITHDRAWN, Dispute, Payment, Refund
from billing.payments.posting import dispute_entry, refund_entry
from billing.payments.recording import check_amount, check_moment, check_text, settle
from billing.payments.repository import PaymentsRepository
from billing.payments.schemas import RecordedDispute, RecordedRefund
from config.db_types import utcnow
from ledger import post_entry, reverse_entry

__all__ = ["plan_credit", "record_dispute", "refund_payment"]

_FINAL = frozenset({"won", "lost", "warning_closed"})
_TOTAL_KINDS = frozenset({InvoiceLineKind.DISCOUNT, InvoiceLineKind.TAX})


def _locked_payment(
    repo: PaymentsRepository, partner_id: str, payment_id: int
) -> tuple[Payment, Invoice]:
    payment = repo.payment(partner_id, payment_id)
    if payment is None:
        raise PaymentNotFoundError(payment_id)
    invoice = repo.lock_invoice(partner_id, payment.invoice_id)
    assert invoice is not None  # a payment's invoice is never deleted (issued: frozen)
    session = repo.session
    session.refresh(payment)  # read after the lock: a concurrent refund may have moved it
    return payment, invoice


def plan_credit(session: Session, invoice: Invoice, amount: int) -> list[CreditRequest] | None:
    """Credit requests whose credit note totals exactly `amount`; `[]` for "credit the rest in
    full" (what is left equals the amount); None when no credit note adds up to it.

    A credit note's total depends only on the sum credited (discount and tax are percentages
    of it, each rounded once), and grows with it, so a binary search over that sum finds the
    exact one when there is one; the sum is then spread over the lines in order."""
    if amount == invoice.total_minor - invoice.credited_minor:
        return []
    repo = InvoiceRepository(session)
    lines = repo.lines([invoice.invoice_id])[invoice.invoice_id]
    credited: dict[int | None, int] = defaultdict(int)
    notes = repo.credit_notes(invoice.partner_id, invoice.invoice_id)
    for note_lines in repo.credit_note_lines([n.id for n in notes if n.id]).values():
        for line in note_lines:
            credited[line.invoice_line_id] += line.amount_minor
    room = [
        (line.position, line.amount_minor - credited[line.id])
        for line in lines
        if line.kind not in _TOTAL_KINDS and line.amount_minor - credited[line.id] > 0
    ]

    def requests(total: int) -> list[CreditRequest]:
        out = []
        for position, left in room:
            if total <= 0:
                break
            take = min(left, total)
            out.append(CreditRequest(position, take))
            total -= take
        return out

    def credit_total(total: int) -> int:
        try:
            planned = _plan_lines(invoice, lines, credited, requests(total))
        except InvalidCreditError:
            return -1
        return sum(line.amount_minor for line in planned)

    low, high = 1, sum(left for _, left in room)
    while low < high:
        middle = (low + high) // 2
        if credit_total(middle) < amount:
            low = middle + 1
        else:
            high = middle
    if high >= 1 and credit_total(low) == amount:
        return requests(low)
    return None


def refund_payment(
    session: Session,
    *,
    partner_id: str,
    payment_id: int,
    amount_minor: int,
    external_id: str,
    refunded_at: datetime,
    reason: str,
    documents: bool = True,
) -> RecordedRefund:
    """Refund (part of) a payment once per `external_id`; see the module doc."""
    check_amount("amount_minor", amount_minor)
    check_text("external_id", external_id, 255)
    check_text("reason", reason, 500)
    check_moment("refunded_at", refunded_at)
    repo = PaymentsRepository(session)
    payment, invoice = _locked_payment(repo, partner_id, payment_id)
    existing = repo.refund_by_external(partner_id, external_id)
    if existing is not None:
        for field, stored, given in (
            ("payment_id", existing.payment_id, payment_id),
            ("amount_minor", existing.amount_minor, amount_minor),
        ):
            if stored != given:
                raise DuplicateConflictError("refund", external_id, field, stored, given)
        note = session.get(CreditNote, existing.credit_note_id) if existing.credit_note_id else None
        return RecordedRefund(existing, False, note)
    if amount_minor > payment.net_minor:
        raise InvalidPaymentError(
            "amount_minor",
            f"{amount_minor} is more than the {payment.net_minor} left of payment "
            f"{payment.external_id} (after refunds and disputes)",
        )
    credit_balance = max(0, -invoice.amount_due_minor)
    to_credit = max(0, amount_minor - credit_balance)
    refund = repo.add(
        Refund(
            partner_id=partner_id,
            payment_id=payment.payment_id,
            invoice_id=invoice.invoice_id,
            currency=payment.currency,
            amount_minor=amount_minor,
            external_id=external_id,
            reason=reason.strip()[:500],
            refunded_at=refunded_at,
        )
    )
    assert refund.id is not None
    spec = refund_entry(
        AccountCodes(session, partner_id), payment, refund.id, amount_minor, refunded_at, reason
    )
    refund.ledger_entry_id = post_entry(session, partner_id, spec).entry_id
    payment.refunded_minor += amount_minor
    invoice.amount_paid_minor -= amount_minor
    session.add_all([payment, invoice])
    session.flush()
    note = None
    plan = None
    if to_credit and invoice.status is not InvoiceStatus.UNCOLLECTIBLE:
        plan = plan_credit(session, invoice, to_credit)
    if plan is not None:
        issued = create_credit_note(
            session,
            partner_id,
            invoice.invoice_id,
            f"Refund {external_id}: {reason.strip()}"[:500],
            lines=plan or None,
            by=f"refund:{external_id}"[:200],
            now=refunded_at,
            documents=documents,
        )
        note = issued.note
        refund.credit_note_id = note.id
    settle(invoice, refunded_at)
    session.add_all([refund, invoice])
    session.flush()
    return RecordedRefund(refund, True, note)


def record_dispute(
    session: Session,
    *,
    partner_id: str,
    payment_id: int,
    amount_minor: int,
    fee_minor: int,
    external_id: str,
    status: str,
    opened_at: datetime,
) -> RecordedDispute:
    """Record a dispute or its new status, once per (external id, status); see the module
    doc for what moves."""
    check_amount("amount_minor", amount_minor)
    check_amount("fee_minor", fee_minor, allow_zero=True)
    check_text("external_id", external_id, 255)
    check_moment("opened_at", opened_at)
    if status not in DISPUTE_STATUSES:
        raise InvalidPaymentError("status", f"{status!r} is not one of {sorted(DISPUTE_STATUSES)}")
    repo = PaymentsRepository(session)
    payment, invoice = _locked_payment(repo, partner_id, payment_id)
    dispute = repo.dispute_by_external(partner_id, external_id)
    if dispute is not None:
        for field, stored, given in (
            ("payment_id", dispute.payment_id, payment_id),
            ("amount_minor", dispute.amount_minor, amount_minor),
        ):
            if stored != given:
                raise DuplicateConflictError("dispute", external_id, field, stored, given)
        if dispute.status == status:
            return RecordedDispute(dispute, False)
        if dispute.status in _FINAL:
            if status in _FINAL:
                raise PaymentStateError(
                    f"dispute {external_id}", f"is {dispute.status}; cannot become {status}"
                )
            return RecordedDispute(dispute, False)  # an older status arriving late
    else:
        dispute = repo.add(
            Dispute(
                partner_id=partner_id,
                payment_id=payment.payment_id,
                invoice_id=invoice.invoice_id,
                currency=payment.currency,
                amount_minor=amount_minor,
                fee_minor=fee_minor,
                external_id=external_id,
                status=status,
                opened_at=opened_at,
            )
        )
    assert dispute.id is not None
    withdraw = status in FUNDS_WITHDRAWN
    if withdraw and not dispute.withdrawn:
        if amount_minor > payment.net_minor:
            raise InvalidPaymentError(
                "amount_minor",
                f"{amount_minor} is more than the {payment.net_minor} left of payment "
                f"{payment.external_id}",
            )
        spec = dispute_entry(
            AccountCodes(session, partner_id),
            payment,
            dispute.id,
            amount_minor,
            dispute.fee_minor,
            opened_at,
            external_id,
        )
        dispute.withdrawal_entry_id = post_entry(session, partner_id, spec).entry_id
        dispute.withdrawn = True
        payment.disputed_minor += amount_minor
        invoice.amount_paid_minor -= amount_minor
    elif not withdraw and dispute.withdrawn and dispute.withdrawal_entry_id is not None:
        reversal = reverse_entry(
            session,
            partner_id,
            dispute.withdrawal_entry_id,
            memo=f"Dispute {external_id} {status}: funds reinstated",
        )
        dispute.reinstatement_entry_id = reversal.entry_id
        dispute.withdrawn = False
        payment.disputed_minor -= dispute.amount_minor
        invoice.amount_paid_minor += dispute.amount_minor
    dispute.status = status
    dispute.updated_at = utcnow()
    settle(invoice, dispute.updated_at)
    session.add_all([dispute, payment, invoice])
    session.flush()
    return RecordedDispute(dispute, True)
