"""The one bridge from invoicing to billing/documents: what the client sees of an invoice or a
credit note, rendered to PDF on disk and queued for e-mail in the caller's transaction.

Only client-facing fields cross this bridge (`InvoiceDocument` has no field for cost or margin).
Mail is queued, never sent here: issuing never waits for, or fails with, a mail server.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
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
from billing.invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from billing.tenants.logos import get_logo
from billing.tenants.models import Client, Partner
from billing.tenants.repository import TenantRepository

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
        tier_label=None if tier is None else f"Tier {tier + 1}",
    )


def invoice_document(
    session: Session,
    partner: Partner,
    client: Client,
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    units: dict[str, str] | None = None,
    *,
    card_on_file: bool | None = None,
) -> InvoiceDocument:
    """The invoice as its client reads it. `card_on_file` is looked up (`cards_on_file`)
    when not given; the document itself never queries."""
    assert invoice.number is not None and invoice.issue_date is not None
    if card_on_file is None:
        card_on_file = invoice.auto_charge and client.id in cards_on_file(
            session, partner.id, (client.id,)
        )
    unit_names = units if units is not None else _units(session, partner.id)
    tax = (
        TaxDetails(invoice.tax_name or "Tax", invoice.tax_percent)
        if invoice.tax_percent is not None
        else None
    )
    return InvoiceDocument(
        kind=DocumentKind.INVOICE,
        number=invoice.number,
        status=str(invoice.status),
        issue_date=invoice.issue_date,
        due_date=invoice.due_at,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        partner=PartnerBranding.from_partner(partner, logo=Logo.of(get_logo(session, partner.id))),
        client=ClientDetails.from_client(client),
        lines=tuple(_document_line(line, unit_names, line.tier) for line in lines),
        tax=tax,
        auto_charge=invoice.auto_charge,
        card_on_file=card_on_file,
        net_days=invoice.net_terms_days,
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
