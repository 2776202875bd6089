"""Invoicing failures; the API maps each class to one status code, the CLI to one message.

Nothing was written when one of these is raised: services raise before their first write, or
the caller's unit of work rolls back.
"""

from __future__ import annotations

__all__ = [
    "InvalidCreditError",
    "InvalidTransitionError",
    "InvoiceKeyError",
    "InvoiceNotFoundError",
    "InvoicingError",
]


class InvoicingError(Exception):
    """Base class."""


class InvoiceNotFoundError(InvoicingError):
    def __init__(self, key: str) -> None:
        super().__init__(f"invoice {key!r} not found")
        self.key = key


class InvoiceKeyError(InvoicingError):
    """Digits too large for an invoice id, and no invoice has them as its number: bad input
    (400), not a missing invoice. The caller names the parameter it came from."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"{key[:40]!r} is not an invoice number of this partner, nor an invoice id "
            "(1 to 9223372036854775807)"
        )
        self.key = key


class InvalidTransitionError(InvoicingError):
    """The invoice's state does not allow this action (e.g. voiding a paid invoice)."""

    def __init__(self, invoice: str, status: str, action: str, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"invoice {invoice} is {status}; cannot {action}{detail}")
        self.invoice = invoice
        self.status = status
        self.action = action


class InvalidCreditError(InvoicingError):
    """A credit note that would credit more than was invoiced, or names no such line."""
