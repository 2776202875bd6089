"""The one call the invoicing core makes when a document is issued: render the PDF, write it
(and the CSV of events) to disk, and queue the e-mail in the caller's transaction.

Issuing never fails for want of an address: a client without a billing e-mail (or a partner
without a sender address) still gets its PDF on disk, and the result says why nothing was
queued, for the operator to see. If the caller's transaction rolls back, the files stay on disk;
the number is re-used by the next issue and its files are replaced atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session, col

from .document import InvoiceDocument
from .events_csv import write_line_events_csv
from .message import MAX_CSV_ATTACHMENT_BYTES, MissingAddressError, build_invoice_email
from .models import OutgoingEmail
from .outbox import queue_email
from .pdf import document_path, render_invoice_pdf, write_invoice_pdf

__all__ = ["QueuedDocument", "queue_document"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueuedDocument:
    pdf_path: Path
    csv_path: Path | None
    email: OutgoingEmail | None
    not_emailed_reason: str | None = None


def _already_queued(session: Session, doc: InvoiceDocument) -> OutgoingEmail | None:
    query = (
        select(OutgoingEmail)
        .where(
            col(OutgoingEmail.partner_id) == doc.partner.partner_id,
            col(OutgoingEmail.kind) == doc.kind.value,
            col(OutgoingEmail.related_id) == doc.number,
        )
        .order_by(col(OutgoingEmail.id))
        .limit(1)
    )
    return session.execute(query).scalars().first()


def queue_document(
    session: Session,
    doc: InvoiceDocument,
    *,
    events: Iterable[tuple[str, str, datetime, Decimal]] | None = None,
    directory: Path | None = None,
    now: datetime | None = None,
    resend: bool = False,
) -> QueuedDocument:
    """PDF to `<documents_dir>/<partner>/<number>.pdf`, events (if given: the partner's
    `attach_usage_csv`, decided by the caller) to `<number>-usage.csv` beside it and attached
    when small enough, e-mail queued (not sent),
    due at `now` (default: the current time).

    Safe to run again for the same document (a document job restarted after a crash): the
    files are rewritten and the e-mail already queued for this number is returned instead of a
    second one. `resend=True` queues another copy (the client asked for it again)."""
    pdf = render_invoice_pdf(doc)
    pdf_path = write_invoice_pdf(doc, directory, pdf=pdf)
    csv_path: Path | None = None
    csv_bytes: bytes | None = None
    if events is not None:
        csv_path = document_path(doc, directory, suffix="-usage.csv")
        write_line_events_csv(events, csv_path)
        if csv_path.stat().st_size <= MAX_CSV_ATTACHMENT_BYTES:
            csv_bytes = csv_path.read_bytes()
        else:
            log.warning("%s: usage CSV too large to attach; it stays at %s", doc.number, csv_path)
    if not resend and (queued := _already_queued(session, doc)) is not None:
        return QueuedDocument(pdf_path, csv_path, queued)
    try:
        message = build_invoice_email(doc, pdf, events_csv=csv_bytes)
    except MissingAddressError as exc:
        log.warning("%s not e-mailed: %s", doc.number, exc)
        return QueuedDocument(pdf_path, csv_path, None, str(exc))
    email = queue_email(
        session,
        message,
        partner_id=doc.partner.partner_id,
        kind=doc.kind.value,
        related_id=doc.number,
        now=now,
    )
    return QueuedDocument(pdf_path, csv_path, email)
