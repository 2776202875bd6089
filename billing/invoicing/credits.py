"""Credit notes: correcting an issued invoice without touching it.

A credit note is issued when it is created: own number sequence (`<prefix>CN-000001`), ledger
entry, `credit_note.issued` billing event, PDF and queued e-mail, in the caller's transaction.

What can be credited (decisions where the issue is silent):
- in full: what is left of every line, discount and tax lines included, so a first full credit
  reproduces the invoice exactly and its total equals the invoice's total;
- by line: a whole line, or an amount of it (`amount_minor`), for lines with a positive amount
  that are not discount or tax lines. The invoice's discount and tax then apply to what is
  credited in the invoice's order (discount: percent of the credited amount of the period's own
  lines, not of prior-period adjustments, which come after the discount; tax: percent of the
  credited amount after discount; each rounded once, half-up), capped by what is left of the
  invoice's discount and tax lines, so credits never exceed the invoice line by line;
- never more than what is left of the invoice (total minus earlier credit notes);
- an invoice that is voided or written off cannot be credited.
When credit notes (and payments) bring what is due to zero, the invoice is `paid`, as Stripe
marks an invoice settled by a credit note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext
from pathlib import Path

from sqlmodel import Session

from billing.invoicing.attribution import line_period
from billing.invoicing.documents import DocumentOutcome, credit_note_document, publish
from billing.invoicing.errors import InvalidCreditError, InvalidTransitionError
from billing.invoicing.events import credit_note_payload, record_event
from billing.invoicing.issuing import format_number
from billing.invoicing.models import (
    BillingEventKind,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    SequenceKind,
)
from billing.invoicing.posting import AccountCodes, credit_note_entry
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice
from billing.pricing.book import local_today
from billing.rating import round_line
from billing.tenants.service import get_client, get_partner
from billing.webhooks import EventType, emit
from billing.webhooks.events import credit_note_data, invoice_data
from config.db_types import utcnow
from config.money import from_minor
from ledger import post_entry

__all__ = ["CreditRequest", "IssuedCreditNote", "create_credit_note"]

_ONE = Decimal(1)
_TOTALS = frozenset({InvoiceLineKind.DISCOUNT, InvoiceLineKind.TAX})


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """Credit line `position` of the invoice: all that is left of it, or `amount_minor`."""

    position: int
    amount_minor: int | None = None


@dataclass(frozen=True, slots=True)
class IssuedCreditNote:
    note: CreditNote
    lines: list[CreditNoteLine]
    document: DocumentOutcome | None


def _percent_of(amount: int, percent: Decimal, currency: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return round_line(from_minor(amount, currency) * percent / 100, currency)


def _line(
    position: int, source: InvoiceLine, amount: int, currency: str, *, whole: bool
) -> CreditNoteLine:
    quantity, unit_price = (
        (source.quantity, source.unit_price) if whole else (_ONE, from_minor(amount, currency))
    )
    return CreditNoteLine(
        credit_note_id=0,
        position=position,
        invoice_line_id=source.id,
        kind=source.kind,
        usage_type=source.usage_type,
        description=source.description if whole else f"{source.description} (partial credit)",
        quantity=quantity,
        unit_price=unit_price,
        amount_minor=amount,
    )


def _plan_lines(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    credited: dict[int | None, int],
    requests: Sequence[CreditRequest] | None,
) -> list[CreditNoteLine]:
    currency = invoice.currency
    left = {line.id: line.amount_minor - credited.get(line.id, 0) for line in lines}
    if requests is None:
        planned = [
            _line(n, line, left[line.id], currency, whole=left[line.id] == line.amount_minor)
            for n, line in enumerate((ln for ln in lines if left[ln.id] != 0), start=1)
        ]
        if not planned:
            raise InvalidCreditError(f"invoice {invoice.number} is already fully credited")
        return planned
    by_position = {line.position: line for line in lines}
    planned = []
    subtotal = discounted = 0
    for request in requests:
        source = by_position.get(request.position)
        if source is None:
            raise InvalidCreditError(f"invoice {invoice.number} has no line {request.position}")
        if source.kind in _TOTALS or source.amount_minor <= 0:
            raise InvalidCreditError(
                f"line {request.position} ({source.kind}) cannot be credited on its own: "
                "credit the lines it applies to"
            )
        amount = left[source.id] if request.amount_minor is None else request.amount_minor
        if not 0 < amount <= left[source.id]:
            raise InvalidCreditError(
                f"line {request.position}: can credit 1 to {left[source.id]} minor units, "
                f"not {amount}"
            )
        left[source.id] -= amount
        planned.append(
            _line(len(planned) + 1, source, amount, currency, whole=amount == source.amount_minor)
        )
        subtotal += amount
        if source.kind is not InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT:
            discounted += amount
    discount_line = next((ln for ln in lines if ln.kind is InvoiceLineKind.DISCOUNT), None)
    if discount_line is not None and invoice.discount_percent > 0 and discounted:
        share = -_percent_of(discounted, invoice.discount_percent, currency)
        share = max(share, left[discount_line.id])  # negative amounts: never past the line
        if share:
            planned.append(_line(len(planned) + 1, discount_line, share, currency, whole=False))
        subtotal += share
    tax_line = next((ln for ln in lines if ln.kind is InvoiceLineKind.TAX), None)
    if tax_line is not None and invoice.tax_percent:
        share = min(_percent_of(subtotal, invoice.tax_percent, currency), left[tax_line.id])
        if share:
            planned.append(_line(len(planned) + 1, tax_line, share, currency, whole=False))
    return planned


def create_credit_note(
    session: Session,
    partner_id: str,
    key: str | int,
    reason: str,
    *,
    lines: Sequence[CreditRequest] | None = None,
    by: str | None = None,
    now: datetime | None = None,
    documents: bool = True,
    directory: Path | None = None,
) -> IssuedCreditNote:
    """Credit an issued invoice in full (`lines` None) or by line; see the module doc."""
    if not reason.strip():
        raise InvalidCreditError("a credit note needs a reason")
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    invoice = get_invoice(session, partner_id, key)
    repo.invoice(partner_id, invoice.invoice_id, lock=True)
    allowed = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
    if invoice.status not in allowed:
        raise InvalidTransitionError(
            invoice.number or str(invoice.id), invoice.status, "credit", "issue it first"
        )
    invoice_lines = repo.lines([invoice.invoice_id])[invoice.invoice_id]
    notes = repo.credit_notes(partner_id, invoice.invoice_id)
    credited: dict[int | None, int] = defaultdict(int)
    for note_lines in repo.credit_note_lines([n.id for n in notes if n.id]).values():
        for credited_line in note_lines:
            credited[credited_line.invoice_line_id] += credited_line.amount_minor
    planned = _plan_lines(invoice, invoice_lines, credited, lines)
    discount = sum(ln.amount_minor for ln in planned if ln.kind is InvoiceLineKind.DISCOUNT)
    tax = sum(ln.amount_minor for ln in planned if ln.kind is InvoiceLineKind.TAX)
    total = sum(ln.amount_minor for ln in planned)
    left = invoice.total_minor - invoice.credited_minor
    if not 0 < total <= left:
        raise InvalidCreditError(
            f"a credit note of {total} minor units does not fit: {left} left to credit on "
            f"{invoice.number}"
        )
    moment = now or utcnow()
    partner = get_partner(session, partner_id)
    counter = repo.allocate_numbers(partner_id, SequenceKind.CREDIT_NOTE, 1)
    note = CreditNote(
        partner_id=partner_id,
        client_id=invoice.client_id,
        invoice_id=invoice.invoice_id,
        number=format_number(f"{partner.invoice_prefix}CN", counter),
        currency=invoice.currency,
        reason=reason.strip()[:500],
        subtotal_minor=total - discount - tax,
        discount_minor=discount,
        tax_minor=tax,
        total_minor=total,
        issued_at=moment,
        issue_date=local_today(invoice.timezone, moment),
        created_by=by,
    )
    periods: dict[int | None, date] = {
        line.id: line_period(invoice.period_start, line.origin_period_start)
        for line in invoice_lines
    }
    periods[None] = invoice.period_start
    entry = post_entry(
        session,
        partner_id,
        credit_note_entry(AccountCodes(session, partner_id), note, planned, moment, periods),
    )
    note.ledger_entry_id = entry.entry_id
    repo.add(note)
    for line in planned:
        line.credit_note_id = note.id or 0
        session.add(line)
    invoice.credited_minor += total
    if invoice.amount_due_minor <= 0:
        invoice.status = InvoiceStatus.PAID
    invoice.version += 1
    invoice.updated_at = moment
    session.add(invoice)
    session.flush()
    record_event(
        session,
        partner_id,
        BillingEventKind.CREDIT_NOTE_ISSUED,
        "credit_note",
        str(note.id),
        credit_note_payload(note, invoice),
    )
    emit(
        session,
        partner_id,
        EventType.CREDIT_NOTE_ISSUED,
        credit_note_data(note, invoice),
        key=str(note.id),
        now=moment,
    )
    if invoice.status is InvoiceStatus.PAID:
        paid = invoice_data(invoice) | {"paid_at": moment.isoformat()}
        emit(session, partner_id, EventType.INVOICE_PAID, paid, key=str(invoice.id), now=moment)
    document = None
    if documents:
        client = get_client(session, partner_id, invoice.client_id)
        doc = credit_note_document(session, partner, client, invoice, note, planned)
        document = publish(session, doc, directory=directory)
    return IssuedCreditNote(note, planned, document)
