"""Documents and e-mail: branded invoice and credit-note PDFs, the CSV of events behind each
line, and the mail outbox that sends them without ever holding up issuing.

The invoicing core fills an `InvoiceDocument` (which has no field for wholesale cost or margin,
so the client can never see them) and calls `queue_document` inside its issuing transaction;
`send_due_emails` (or `python main.py mail send-pending`) delivers through the configured
backend. Imports `billing.rating`, `billing.tenants` and `config` only.
"""

from .backends import (
    FileMailBackend,
    MailBackend,
    MailDeliveryError,
    SmtpMailBackend,
    SmtpSecurity,
    mail_backend_from_settings,
)
from .delivery import QueuedDocument, queue_document
from .document import (
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
    TaxDetails,
    document_lines,
)
from .events_csv import LineEventRow, write_line_events_csv
from .message import MissingAddressError, build_invoice_email
from .models import EmailStatus, OutgoingEmail
from .outbox import (
    BACKOFF,
    MAX_ATTEMPTS,
    SendReport,
    list_emails,
    queue_email,
    retry_email,
    send_due_emails,
)
from .parties import ClientDetails, Logo, PartnerBranding
from .pdf import document_path, render_invoice_pdf, stored_path, write_invoice_pdf
from .render import render_email_html, render_email_text, render_invoice_html

__all__ = [
    "BACKOFF",
    "MAX_ATTEMPTS",
    "ClientDetails",
    "DocumentKind",
    "DocumentLine",
    "DocumentLineKind",
    "EmailStatus",
    "FileMailBackend",
    "InvoiceDocument",
    "LineEventRow",
    "Logo",
    "MailBackend",
    "MailDeliveryError",
    "MissingAddressError",
    "OutgoingEmail",
    "PartnerBranding",
    "QueuedDocument",
    "SendReport",
    "SmtpMailBackend",
    "SmtpSecurity",
    "TaxDetails",
    "build_invoice_email",
    "document_lines",
    "document_path",
    "list_emails",
    "mail_backend_from_settings",
    "queue_document",
    "queue_email",
    "render_email_html",
    "render_email_text",
    "render_invoice_html",
    "render_invoice_pdf",
    "retry_email",
    "send_due_emails",
    "stored_path",
    "write_invoice_pdf",
    "write_line_events_csv",
]
