"""Approving, issuing, voiding and writing off invoices. Services never commit: the caller's
unit of work does, so everything an action does (number, freeze, ledger entry, billing event,
queued e-mail) lands together or not at all.

Issuing, in one transaction, for one invoice or a batch (a cycle of 10,000 invoices is one
number allocation, one bulk ledger posting and one bulk event insert):
1. lock: the partner's accrual lock (so no accrual run changes what is being cleared) and the
   invoices' rows; on SQLite the write lock first;
2. what accrual put in unbilled receivable for each (period, usage type) of the client up to
   the invoice's period and no standing invoice cleared yet is recorded on the invoice's usage
   rows (the entry clears it; see `posting`);
3. the next numbers of the partner's sequence (`UPDATE ... RETURNING`, no gaps, no duplicates);
4. issue date and due date (net terms, in the client's calendar), status `issued`; from here
   the database refuses any change to amounts, lines and usage;
5. the ledger entry, the `invoice.issued` billing event, and (unless told not to) the PDF
   written and the e-mail queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from billing.invoicing.closing import redraft
from billing.invoicing.documents import DocumentOutcome, invoice_document, publish
from billing.invoicing.errors import InvalidTransitionError, InvoiceNotFoundError
from billing.invoicing.events import event_row, invoice_payload, record_event
from billing.invoicing.models import (
    BillingEventKind,
    ClientBillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceUsage,
    SequenceKind,
)
from billing.invoicing.posting import AccountCodes, invoice_entry, uncollectible_entry
from billing.invoicing.repository import BilledUsage, InvoiceFilter, InvoiceRepository
from billing.pricing.book import local_today
from billing.pricing.repository import PricingRepository
from billing.rating import BillingPeriod
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.db_types import utcnow
from ledger import EntrySpec, post_entries, post_entry, reverse_entry

__all__ = [
    "IssueResult",
    "approve_invoice",
    "approve_invoices",
    "format_number",
    "get_invoice",
    "issue_invoice",
    "issue_invoices",
    "list_invoices",
    "mark_uncollectible",
    "set_auto_approve",
    "void_invoice",
]

_SEPARATORS = ("-", "_", ".", "/")
NUMBER_DIGITS = 6


@dataclass
class IssueResult:
    invoices: list[Invoice] = field(default_factory=list)
    documents: list[DocumentOutcome] = field(default_factory=list)


def format_number(prefix: str, counter: int, digits: int = NUMBER_DIGITS) -> str:
    """`ACME-` + 42 -> `ACME-000042`; a prefix ending in a letter or digit gets a `-`."""
    joiner = "" if not prefix or prefix.endswith(_SEPARATORS) else "-"
    return f"{prefix}{joiner}{counter:0{digits}d}"


def get_invoice(session: Session, partner_id: str, key: str | int) -> Invoice:
    """By id (digits) or by number."""
    repo = InvoiceRepository(session)
    text = str(key)
    invoice = repo.invoice_by_number(partner_id, text)
    if invoice is None and text.isdigit():
        invoice = repo.invoice(partner_id, int(text))
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


def _label(invoice: Invoice) -> str:
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
        raise InvalidTransitionError(_label(invoice), invoice.status, "approve")
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
    session: Session, partner_id: str, *, by: str, client_id: str | None = None
) -> list[Invoice]:
    """Every draft of the partner (or of one client)."""
    repo = InvoiceRepository(session)
    drafts = repo.invoices(partner_id, InvoiceFilter(InvoiceStatus.DRAFT, client_id))
    return [approve_invoice(session, partner_id, d.invoice_id, by=by) for d in drafts]


def set_auto_approve(
    session: Session, partner_id: str, client_id: str, value: bool | None
) -> ClientBillingSettings:
    """The client's own auto-approve choice; None follows the partner's setting."""
    get_client(session, partner_id, client_id)
    repo = InvoiceRepository(session)
    settings = repo.client_settings(partner_id, client_id) or ClientBillingSettings(
        partner_id=partner_id, client_id=client_id
    )
    settings.auto_approve = value
    return repo.add(settings)


def _reconcile_accruals(
    session: Session,
    repo: InvoiceRepository,
    partner_id: str,
    invoices: Sequence[Invoice],
    usage: dict[int, list[InvoiceUsage]],
) -> None:
    """Record on each usage row what its entry clears, and bring pricing's accrual state to
    what is now billed.

    Invariant: for a (client, period, usage type), unbilled receivable holds what accrual
    recognised beyond what issued invoices billed (accrued - billed). So an invoice clears
    `accrued - billed before`, books the rest of what it bills as a usage revenue true-up, and
    sets the accrual state to `billed after` (as if accrual had recognised the true-up), so the
    next accrual run posts nothing for usage already billed, and only late usage from then on.
    Wholesale cost is reconciled the same way. Voiding undoes the state change (`void_invoice`).
    """
    client_ids = sorted({invoice.client_id for invoice in invoices})
    starts = {row.origin_period_start for rows in usage.values() for row in rows}
    pricing = PricingRepository(session)
    accrued = {
        (row.client_id, row.period_start, row.usage_type): row
        for row in pricing.accrued(partner_id, starts, client_ids)
    }
    billed = repo.billed_usage(partner_id, client_ids, issued_only=True)
    ends = repo.period_ends(partner_id, client_ids, starts)
    states: dict[tuple[str, date, str], dict[str, Any]] = {}
    for invoice in sorted(invoices, key=lambda i: (i.period_start, i.invoice_id)):
        for row in usage[invoice.invoice_id]:
            key = (invoice.client_id, row.origin_period_start, row.usage_type)
            acc = accrued.get(key)
            state = states.get(key)
            charge = state["charge"] if state else (acc.charge if acc else 0)
            cost = state["cost"] if state else (acc.cost if acc else 0)
            before = billed.setdefault(key, BilledUsage())
            row.unbilled_cleared_minor = charge - before.charge
            row.cost_cleared_minor = cost - before.cost
            before.charge += row.charge_minor
            before.cost += row.cost_minor
            session.add(row)
            states[key] = {
                "partner_id": partner_id,
                "client_id": invoice.client_id,
                "usage_type": row.usage_type,
                "period_start": row.origin_period_start,
                "period_end": ends.get((invoice.client_id, row.origin_period_start))
                or invoice.period_end + timedelta(days=1),
                "currency": invoice.currency,
                "cost_currency": invoice.cost_currency,
                "charge": before.charge,
                "cost": before.cost,
                "accruals": acc.accruals if acc else 0,
                "watermark": f"invoiced {invoice.number}"[:64],
                "updated_at": utcnow(),
            }
    session.flush()
    pricing.save_accrued(list(states.values()))


def issue_invoices(
    session: Session,
    partner_id: str,
    keys: Sequence[str | int],
    *,
    now: datetime | None = None,
    documents: bool = True,
    directory: Path | None = None,
) -> IssueResult:
    """Issue approved invoices (see the module doc); all or nothing."""
    moment = now or utcnow()
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    PricingRepository(session).lock_accruals(partner_id)
    partner = get_partner(session, partner_id)
    ids = [get_invoice(session, partner_id, key).invoice_id for key in keys]
    invoices = repo.invoices_by_id(partner_id, ids, lock=True)
    for invoice in invoices:
        if invoice.status is not InvoiceStatus.APPROVED:
            why = "approve it first" if invoice.status is InvoiceStatus.DRAFT else ""
            raise InvalidTransitionError(_label(invoice), invoice.status, "issue", why)
    if not invoices:
        return IssueResult()
    invoices.sort(key=lambda i: (i.period_start, i.client_id, i.invoice_id))
    invoice_ids = [i.invoice_id for i in invoices]
    lines = repo.lines(invoice_ids)
    usage = repo.usage_rows(invoice_ids)
    first = repo.allocate_numbers(partner_id, SequenceKind.INVOICE, len(invoices))
    net_days = int(partner.settings.get("net_terms_days", 30))
    codes = AccountCodes(session, partner_id)
    specs: list[EntrySpec] = []
    posted: list[Invoice] = []
    for offset, invoice in enumerate(invoices):
        invoice.number = format_number(partner.invoice_prefix, first + offset)
        invoice.issued_at = moment
        invoice.issue_date = local_today(invoice.timezone, moment)
        invoice.net_terms_days = net_days
        invoice.due_at = invoice.issue_date + timedelta(days=net_days)
    _reconcile_accruals(session, repo, partner_id, invoices, usage)
    for invoice in invoices:
        spec = invoice_entry(
            codes, invoice, lines[invoice.invoice_id], usage[invoice.invoice_id], moment
        )
        if spec is not None:
            specs.append(spec)
            posted.append(invoice)
    entry_ids = post_entries(session, partner_id, specs).entry_ids if specs else ()
    for invoice, entry_id in zip(posted, entry_ids, strict=True):
        invoice.ledger_entry_id = entry_id
    for invoice in invoices:
        invoice.status = InvoiceStatus.ISSUED
        invoice.version += 1
        invoice.updated_at = moment
        session.add(invoice)
    session.flush()
    repo.add_events(
        [
            event_row(
                partner_id,
                BillingEventKind.INVOICE_ISSUED,
                "invoice",
                str(invoice.id),
                invoice_payload(invoice),
                moment,
            )
            for invoice in invoices
        ]
    )
    result = IssueResult(invoices=list(invoices))
    if documents:
        result.documents = _publish(session, partner_id, invoices, lines, directory)
    return result


def _publish(
    session: Session,
    partner_id: str,
    invoices: Sequence[Invoice],
    lines: dict[int, list[InvoiceLine]],
    directory: Path | None,
) -> list[DocumentOutcome]:
    from billing.invoicing.explain import line_event_rows

    partner = get_partner(session, partner_id)
    tenants = TenantRepository(session)
    units = {t.code: t.unit for t in tenants.usage_types(partner_id)}
    outcomes = []
    for invoice in invoices:
        client = get_client(session, partner_id, invoice.client_id)
        doc = invoice_document(session, partner, client, invoice, lines[invoice.invoice_id], units)
        events = line_event_rows(session, invoice)
        outcomes.append(publish(session, doc, events=events, directory=directory))
    return outcomes


def issue_invoice(
    session: Session,
    partner_id: str,
    key: str | int,
    *,
    now: datetime | None = None,
    documents: bool = True,
    directory: Path | None = None,
) -> Invoice:
    result = issue_invoices(
        session, partner_id, [key], now=now, documents=documents, directory=directory
    )
    return result.invoices[0]


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
            _label(invoice), invoice.status, "void", "only issued, unpaid invoices can be voided"
        )
    if invoice.amount_paid_minor or invoice.credited_minor:
        raise InvalidTransitionError(
            _label(invoice), invoice.status, "void", "it has payments or credit notes"
        )
    moment = now or utcnow()
    PricingRepository(session).lock_accruals(partner_id)
    usage = repo.usage_rows([invoice.invoice_id])[invoice.invoice_id]
    repo.shift_accruals(
        partner_id,
        invoice.client_id,
        [
            (
                row.origin_period_start,
                row.usage_type,
                row.charge_minor - row.unbilled_cleared_minor,
                row.cost_minor - row.cost_cleared_minor,
            )
            for row in usage
        ],
    )
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
        raise InvalidTransitionError(_label(invoice), invoice.status, "mark uncollectible")
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
