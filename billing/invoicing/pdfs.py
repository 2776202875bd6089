"""An issued invoice's or credit note's PDF, as the client received it.

Issuing writes the PDF to `<documents_dir>/<partner>/<number>.pdf` (`billing.documents`) and
e-mails the same bytes; that file is the document of record, and it is served as it is. It is
not rendered again when it exists: a new render would print today's branding, logo, client
address and wording, so the copy fetched later could differ from the one the client was sent
(and rendering costs a WeasyPrint layout, most of a second, where reading costs a file read).
A document without its file (issued with `--no-documents`, or a documents directory that is
not shared with the process that issued it) is rendered from the stored invoice and written,
so every later fetch answers those same bytes.

A file older than the document's issue is not its own: an issue that rolled back leaves its
file, and the next invoice takes the number; if that one was issued without documents, the
old file would be another client's invoice. Such a file is rendered again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from billing.documents import render_invoice_pdf, stored_path, write_invoice_pdf
from billing.invoicing.documents import credit_note_document, invoice_document
from billing.invoicing.errors import InvalidTransitionError, InvoicingError
from billing.invoicing.models import CreditNote, Invoice
from billing.invoicing.repository import InvoiceRepository
from billing.tenants.service import get_client, get_partner

__all__ = ["CreditNoteNotFoundError", "credit_note_pdf", "find_credit_note", "invoice_pdf"]

# File times can be coarser than the clock (2 s on FAT, 1 s on some network file systems).
_MTIME_SLACK = timedelta(seconds=2)


class CreditNoteNotFoundError(InvoicingError):
    def __init__(self, key: str) -> None:
        super().__init__(f"credit note {key[:40]!r} not found on this invoice")


def _stored(path: Path, issued_at: datetime | None) -> bytes | None:
    """The file's bytes when it is this document's (written at or after its issue)."""
    try:
        written = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        if issued_at is not None and written + _MTIME_SLACK < issued_at:
            return None
        return path.read_bytes()
    except FileNotFoundError:
        return None


def invoice_pdf(session: Session, invoice: Invoice) -> bytes:
    """The PDF of an issued (or since voided, paid, credited) invoice; drafts have none."""
    if invoice.number is None:
        raise InvalidTransitionError(
            str(invoice.id), str(invoice.status), "give a PDF", "issue the invoice first"
        )
    stored = _stored(stored_path(invoice.partner_id, invoice.number), invoice.issued_at)
    if stored is not None:
        return stored
    lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]
    partner = get_partner(session, invoice.partner_id)
    client = get_client(session, invoice.partner_id, invoice.client_id)
    doc = invoice_document(session, partner, client, invoice, lines)
    pdf = render_invoice_pdf(doc)
    write_invoice_pdf(doc, pdf=pdf)
    return pdf


def find_credit_note(session: Session, invoice: Invoice, key: str) -> CreditNote:
    """One of the invoice's credit notes, by number or id."""
    for note in InvoiceRepository(session).credit_notes(invoice.partner_id, invoice.invoice_id):
        if key in (note.number, str(note.id)):
            return note
    raise CreditNoteNotFoundError(key)


def credit_note_pdf(session: Session, invoice: Invoice, note: CreditNote) -> bytes:
    """The credit note's PDF, by the same rule as the invoice's."""
    stored = _stored(stored_path(note.partner_id, note.number), note.issued_at)
    if stored is not None:
        return stored
    assert note.id is not None
    lines = InvoiceRepository(session).credit_note_lines([note.id])[note.id]
    partner = get_partner(session, invoice.partner_id)
    client = get_client(session, invoice.partner_id, invoice.client_id)
    doc = credit_note_document(session, partner, client, invoice, note, lines)
    pdf = render_invoice_pdf(doc)
    write_invoice_pdf(doc, pdf=pdf)
    return pdf
