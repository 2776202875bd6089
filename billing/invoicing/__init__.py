"""Invoicing: billing cycles, drafts, review, issue, corrections and the dispute pack.

The flow: `close_cycles` drafts every due (client, period) from rated usage (and late usage
of issued periods as prior-period adjustments); drafts are re-rated with `refresh_draft` until
`approve_invoice` (or auto-approval); `issue_invoices` numbers, freezes and posts them and
queues their PDFs and e-mails; `void_invoice`, `create_credit_note` and `mark_uncollectible`
correct without editing history; `explain_invoice` shows the events behind every line.
"""

from billing.invoicing.closing import CloseResult, close_cycles, redraft, refresh_draft
from billing.invoicing.credits import CreditRequest, IssuedCreditNote, create_credit_note
from billing.invoicing.errors import (
    InvalidCreditError,
    InvalidTransitionError,
    InvoiceNotFoundError,
    InvoicingError,
)
from billing.invoicing.explain import InvoiceExplanation, explain_invoice
from billing.invoicing.issuing import IssueResult, format_number, issue_invoice, issue_invoices
from billing.invoicing.models import (
    BillingEvent,
    BillingEventKind,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    InvoiceUsage,
)
from billing.invoicing.service import (
    approve_invoice,
    approve_invoices,
    get_invoice,
    list_invoices,
    mark_uncollectible,
    set_auto_approve,
    void_invoice,
)

__all__ = [
    "BillingEvent",
    "BillingEventKind",
    "CloseResult",
    "CreditNote",
    "CreditNoteLine",
    "CreditRequest",
    "InvalidCreditError",
    "InvalidTransitionError",
    "Invoice",
    "InvoiceExplanation",
    "InvoiceLine",
    "InvoiceLineKind",
    "InvoiceNotFoundError",
    "InvoiceStatus",
    "InvoiceUsage",
    "InvoicingError",
    "IssueResult",
    "IssuedCreditNote",
    "approve_invoice",
    "approve_invoices",
    "close_cycles",
    "create_credit_note",
    "explain_invoice",
    "format_number",
    "get_invoice",
    "issue_invoice",
    "issue_invoices",
    "list_invoices",
    "mark_uncollectible",
    "redraft",
    "refresh_draft",
    "set_auto_approve",
    "void_invoice",
]
