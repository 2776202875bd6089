"""The one bridge from invoicing to billing/documents: what the client sees of an invoice or a
credit note, rendered to PDF on disk and queued for e-mail in the caller's transaction.

Only client-facing fields cross this bridge (`InvoiceDocument` has no field for cost or margin).
Mail is queued, never sent here: issuing never waits for, or fails with, a mail server.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session

from billing.documents import (
    ClientDetails,
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
    Logo,
    PartnerBranding,
    TaxDetails,
    queue_document,
    write_invoice_pdf,
)
from billing.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceUsage,
)
from billing.invoicing.repository import InvoiceRepository
from billing.pricing.book import local_today
from billing.tenants.logos import get_logo
from billing.tenants.models import Client, Partner
from billing.tenants.repository import TenantRepository
from config.db_types import utcnow

__all__ = [
    "CardsOnFile",
    "DocumentOutcome",
    "cards_on_file",
    "credit_note_document",
    "invoice_document",
    "publish",
    "use_cards_on_file",
    "write_pdf",
]

EventRow = tuple[str, str, datetime, Decimal]

CardsOnFile = Callable[[Session, str, Collection[str]], frozenset[str]]
"""Which of a partner's clients (of the ids given) have a card on file that automatic charges
will use."""

_cards_lookup: list[CardsOnFile] = []


def use_cards_on_file(lookup: CardsOnFile | None) -> None:
    """Set who answers `cards_on_file`. Saved cards are Stripe's, kept by `sync.stripe`, a
    layer above billing that billing may not import: `sync.stripe` hands its lookup down when
    it is imported (the API, the worker, the scheduler and `main.py` all import it). Without
    one (billing used alone), no card is known, so no document promises a charge that might
    not happen. `None` removes the lookup."""
    _cards_lookup.clear()
    if lookup is not None:
        _cards_lookup.append(lookup)


def cards_on_file(session: Session, partner_id: str, client_ids: Collection[str]) -> frozenset[str]:
    """The clients among `client_ids` whose invoices a saved card will pay automatically."""
    if not _cards_lookup or not client_ids:
        return frozenset()
    return _cards_lookup[0](session, partner_id, client_ids)


@dataclass(frozen=True, slots=True)
class DocumentOutcome:
    number: str
    pdf_path: Path
    csv_path: Path | None
    emailed_to: str | None
    not_emailed_reason: str | None


def _units(session: Session, partner_id: str) -> dict[str, str]:
    return {t.code: t.unit for t in TenantRepository(session).usage_types(partner_id)}


def _document_line(
    line: InvoiceLine | CreditNoteLine, units: dict[str, str], tier: int | None = None
) -> DocumentLine:
    unit = units.get(line.usage_type) if line.usage_type else None
    block = getattr(line, "block_size", None)
    if block is not None and unit:
        unit = f"block of {block:,f} {unit}"
    return DocumentLine(
        kind=DocumentLineKind(line.kind.value),
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount_minor=line.amount_minor,
        usage_type=line.usage_type,
        unit=unit,
        tier=tier,
        position=line.position if isinstance(line, InvoiceLine) else None,
    )


def _covered_usage(
    session: Session,
    partner_id: str,
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    usage: Sequence[InvoiceUsage],
    units: dict[str, str],
) -> list[DocumentLine]:
    """The period's usage that a flat base fee covered: usage types with no line of their own
    (the plan does not price them, so rating charges nothing) printed as "included", with
    their quantity. A client paying a flat fee sees what it got for it. Only with a base fee:
    without one, unpriced usage is simply not billed, not "included" in anything."""
    if not any(line.kind is InvoiceLineKind.BASE_FEE for line in lines):
        return []
    priced = {line.usage_type for line in lines if line.usage_type}
    covered = [
        row
        for row in usage
        if row.origin_period_start == invoice.period_start
        and row.usage_type not in priced
        and row.quantity > 0
    ]
    if not covered:
        return []
    names = {t.code: t.display_name for t in TenantRepository(session).usage_types(partner_id)}
    return [
        DocumentLine(
            kind=DocumentLineKind.INCLUDED,
            description=f"{names.get(row.usage_type, row.usage_type)}, included in the base fee",
            quantity=row.quantity,
            unit_price=Decimal(0),
            amount_minor=0,
            usage_type=row.usage_type,
            unit=units.get(row.usage_type),
        )
        for row in sorted(covered, key=lambda r: r.usage_type)
    ]


def _with_covered(
    printed: list[DocumentLine], covered: list[DocumentLine]
) -> tuple[DocumentLine, ...]:
    """Covered usage right after the base fee that covers it."""
    at = max(i for i, line in enumerate(printed) if line.kind is DocumentLineKind.BASE_FEE) + 1
    return (*printed[:at], *covered, *printed[at:])


def invoice_document(
    session: Session,
    partner: Partner,
    client: Client,
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    units: dict[str, str] | None = None,
    *,
    card_on_file: bool | None = None,
    usage: Sequence[InvoiceUsage] | None = None,
    portal_url: str | None = None,
) -> InvoiceDocument:
    """The invoice as its client reads it. `card_on_file` is looked up (`cards_on_file`)
    and `usage` (the invoice's usage rows, for usage a flat fee covered) read when not
    given; the document itself never queries. `portal_url` (the client portal's link) is
    printed in the e-mail only.

    A draft (no number yet) is a preview for review: numbered `DRAFT-<id>`, dated today in
    the partner's time zone with its due date the net terms after, and marked as a draft on
    every page by the renderer (its status), so it cannot be mistaken for a request to pay."""
    number, issued, due = invoice.number, invoice.issue_date, invoice.due_at
    if number is None or issued is None:
        number = f"DRAFT-{invoice.invoice_id}"
        issued = local_today(partner.timezone, utcnow())
        due = issued + timedelta(days=invoice.net_terms_days)
    if card_on_file is None:
        card_on_file = invoice.auto_charge and client.id in cards_on_file(
            session, partner.id, (client.id,)
        )
    unit_names = units if units is not None else _units(session, partner.id)
    if usage is None:
        usage = InvoiceRepository(session).usage_rows([invoice.invoice_id])[invoice.invoice_id]
    printed = [_document_line(line, unit_names, line.tier) for line in lines]
    covered = _covered_usage(session, partner.id, invoice, lines, usage, unit_names)
    tax = (
        TaxDetails(invoice.tax_name or "Tax", invoice.tax_percent)
        if invoice.tax_percent is not None
        else None
    )
    return InvoiceDocument(
        kind=DocumentKind.INVOICE,
        number=number,
        status=str(invoice.status),
        issue_date=issued,
        due_date=due,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        partner=PartnerBranding.from_partner(partner, logo=Logo.of(get_logo(session, partner.id))),
        client=ClientDetails.from_client(client),
        lines=_with_covered(printed, covered) if covered else tuple(printed),
        tax=tax,
        auto_charge=invoice.auto_charge,
        card_on_file=card_on_file,
        net_days=invoice.net_terms_days,
        portal_url=portal_url,
    )


def credit_note_document(
    session: Session,
    partner: Partner,
    client: Client,
    invoice: Invoice,
    note: CreditNote,
    lines: Sequence[CreditNoteLine],
) -> InvoiceDocument:
    units = _units(session, partner.id)
    tax = (
        TaxDetails(invoice.tax_name or "Tax", invoice.tax_percent)
        if invoice.tax_percent is not None and note.tax_minor
        else None
    )
    return InvoiceDocument(
        kind=DocumentKind.CREDIT_NOTE,
        number=note.number,
        status="issued",
        issue_date=note.issue_date,
        due_date=None,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=note.currency,
        partner=PartnerBranding.from_partner(partner, logo=Logo.of(get_logo(session, partner.id))),
        client=ClientDetails.from_client(client),
        lines=tuple(_document_line(line, units) for line in lines),
        tax=tax,
        credited_invoice=invoice.number,
        credit_reason=note.reason,
    )


def publish(
    session: Session,
    doc: InvoiceDocument,
    *,
    events: Iterable[EventRow] | None = None,
    directory: Path | None = None,
) -> DocumentOutcome:
    """PDF (and the CSV of events behind each line) on disk, e-mail queued in this
    transaction."""
    queued = queue_document(session, doc, events=events, directory=directory)
    return DocumentOutcome(
        doc.number,
        queued.pdf_path,
        queued.csv_path,
        queued.email.to_address if queued.email is not None else None,
        queued.not_emailed_reason,
    )


def write_pdf(doc: InvoiceDocument, directory: Path | None = None) -> Path:
    """Render again (e.g. `invoices pdf`); nothing is queued."""
    return write_invoice_pdf(doc, directory)
