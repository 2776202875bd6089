"""Issuing invoices, one or a whole cycle, in one transaction. Services never commit.

1. lock: the partner's accrual lock (so no accrual run moves what is being cleared) and the
   invoices' rows; on SQLite the write lock first;
2. the next numbers of the partner's sequence: one row-locking `UPDATE ... RETURNING` for the
   whole batch, so there are no gaps and no duplicates even with two issuers at once;
3. issue date and due date (net terms, in the client's calendar);
4. each invoice is cut into (service period, component) parts; what each part clears of
   pricing's accruals is recorded on the usage rows, and the accrual state is brought up to
   what is now billed (see `recognition`);
5. one ledger entry per invoice (`invoice:{partner}:{number}`, see `posting`), posted in bulk:
   it reclassifies unbilled to accounts receivable and books only what accrual did not;
6. status `issued`: from here the database refuses any change to amounts, lines and usage;
7. an `invoice.issued` billing event per invoice, and unless told not to, the PDF written and the
   e-mail queued (billing/documents).
A cycle of 10,000 invoices is one number allocation, a few executemany updates, one bulk ledger
posting and one bulk event insert; lines and usage are read as plain rows, not ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from billing.documents.files import safe_file_name, sweep_stale_temporaries
from billing.invoicing.documents import (
    DocumentOutcome,
    cards_on_file,
    invoice_document,
    publish,
)
from billing.invoicing.errors import InvalidTransitionError, InvoiceNotFoundError
from billing.invoicing.events import event_row, invoice_payload
from billing.invoicing.models import BillingEventKind, Invoice, InvoiceStatus, SequenceKind
from billing.invoicing.posting import AccountCodes, invoice_entry
from billing.invoicing.recognition import recognise
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice, label
from billing.pricing.book import local_today
from billing.pricing.repository import PricingRepository
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from billing.webhooks import EventType, emit_many
from billing.webhooks.events import invoice_data
from config.db_types import utcnow
from config.settings import get_settings
from ledger import EntrySpec, post_entries

__all__ = ["NUMBER_DIGITS", "IssueResult", "format_number", "issue_invoice", "issue_invoices"]

NUMBER_DIGITS = 6
_SEPARATORS = ("-", "_", ".", "/")


@dataclass
class IssueResult:
    invoices: list[Invoice] = field(default_factory=list)
    documents: list[DocumentOutcome] = field(default_factory=list)


def format_number(prefix: str, counter: int, digits: int = NUMBER_DIGITS) -> str:
    """`ACME-` + 42 -> `ACME-000042`; a prefix ending in a letter or digit gets a `-`."""
    joiner = "" if not prefix or prefix.endswith(_SEPARATORS) else "-"
    return f"{prefix}{joiner}{counter:0{digits}d}"


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
    ids = [
        key if isinstance(key, int) else get_invoice(session, partner_id, key).invoice_id
        for key in keys
    ]
    invoices = repo.invoices_by_id(partner_id, ids, lock=True)
    if len(invoices) != len(set(ids)):
        missing = set(ids) - {i.invoice_id for i in invoices}
        raise InvoiceNotFoundError(str(min(missing)))
    for invoice in invoices:
        if invoice.status is not InvoiceStatus.APPROVED:
            why = "approve it first" if invoice.status is InvoiceStatus.DRAFT else ""
            raise InvalidTransitionError(label(invoice), invoice.status, "issue", why)
    if not invoices:
        return IssueResult()
    invoices.sort(key=lambda i: (i.period_start, i.client_id, i.invoice_id))
    invoice_ids = [i.invoice_id for i in invoices]
    lines = repo.line_figures(invoice_ids)
    usage = repo.usage_figures(invoice_ids)
    first = repo.allocate_numbers(partner_id, SequenceKind.INVOICE, len(invoices))
    net_days = int(partner.settings.get("net_terms_days", 30))
    for offset, invoice in enumerate(invoices):
        issue_date = local_today(invoice.timezone, moment)
        for name, value in (
            ("number", format_number(partner.invoice_prefix, first + offset)),
            ("issued_at", moment),
            ("issue_date", issue_date),
            ("net_terms_days", net_days),
            ("due_at", issue_date + timedelta(days=net_days)),
        ):
            set_committed_value(invoice, name, value)
    parts = recognise(session, repo, partner_id, invoices, lines, usage)
    codes = AccountCodes(session, partner_id)
    specs: list[EntrySpec] = []
    posted: list[Invoice] = []
    for invoice in invoices:
        spec = invoice_entry(codes, invoice, parts[invoice.invoice_id], moment)
        if spec is not None:
            specs.append(spec)
            posted.append(invoice)
    entry_ids = post_entries(session, partner_id, specs).entry_ids if specs else ()
    for invoice, entry_id in zip(posted, entry_ids, strict=True):
        set_committed_value(invoice, "ledger_entry_id", entry_id)
    for invoice in invoices:
        set_committed_value(invoice, "status", InvoiceStatus.ISSUED)
        set_committed_value(invoice, "version", invoice.version + 1)
        set_committed_value(invoice, "updated_at", moment)
    repo.mark_issued(
        [
            {
                "row_id": i.invoice_id,
                "number": i.number,
                "status": i.status,
                "issued_at": i.issued_at,
                "issue_date": i.issue_date,
                "due_at": i.due_at,
                "net_terms_days": i.net_terms_days,
                "ledger_entry_id": i.ledger_entry_id,
                "version": i.version,
                "updated_at": i.updated_at,
            }
            for i in invoices
        ]
    )
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
    emit_many(
        session,
        partner_id,
        EventType.INVOICE_ISSUED,
        [(str(invoice.id), invoice_data(invoice)) for invoice in invoices],
        now=moment,
    )
    result = IssueResult(invoices=list(invoices))
    if documents:
        result.documents = _publish(session, partner_id, invoices, directory)
    return result


def _publish(
    session: Session, partner_id: str, invoices: Sequence[Invoice], directory: Path | None
) -> list[DocumentOutcome]:
    """PDF and queued e-mail per invoice, with the CSV of the events behind each line when
    the partner attaches it (`attach_usage_csv`, default on), and a client-portal link
    (`billing.portal`) made in this transaction, so the link the e-mail carries exists
    exactly when the e-mail does. First, the temporary files an
    earlier run left when it was killed mid-write are removed."""
    from billing.invoicing.explain import line_event_rows
    from billing.portal.service import issue_link

    root = directory if directory is not None else get_settings().documents_dir
    sweep_stale_temporaries(root / safe_file_name(partner_id))
    partner = get_partner(session, partner_id)
    attach_csv = partner.settings.get("attach_usage_csv", True) is not False
    units = {t.code: t.unit for t in TenantRepository(session).usage_types(partner_id)}
    lines = InvoiceRepository(session).lines([i.invoice_id for i in invoices])
    usage = InvoiceRepository(session).usage_rows([i.invoice_id for i in invoices])
    cards = cards_on_file(session, partner_id, {i.client_id for i in invoices if i.auto_charge})
    outcomes = []
    for invoice in invoices:
        client = get_client(session, partner_id, invoice.client_id)
        doc = invoice_document(
            session,
            partner,
            client,
            invoice,
            lines[invoice.invoice_id],
            units,
            card_on_file=invoice.auto_charge and client.id in cards,
            usage=usage[invoice.invoice_id],
            portal_url=issue_link(session, invoice).url,
        )
        events = line_event_rows(session, invoice) if attach_csv else None
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
