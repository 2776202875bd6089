"""Payment failures, each naming the field (or the invoice) and the reason.

Nothing was written when one of these is raised: services raise before their first write, or
the caller's unit of work rolls back.
"""

from __future__ import annotations

__all__ = [
    "DuplicateConflictError",
    "InvalidPaymentError",
    "OverpaymentError",
    "PaymentNotFoundError",
    "PaymentStateError",
    "PaymentsError",
]


class PaymentsError(Exception):
    """Base class."""


class InvalidPaymentError(PaymentsError, ValueError):
    """Bad input: names the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DuplicateConflictError(InvalidPaymentError):
    """The external id was already recorded with a different body (amount, invoice, ...)."""

    def __init__(self, kind: str, external_id: str, field: str, stored: object, given: object):
        super().__init__(
            field,
            f"{kind} {external_id!r} was already recorded with {field} {stored}, not {given}",
        )
        self.external_id = external_id


class OverpaymentError(InvalidPaymentError):
    def __init__(self, invoice: str, amount: int, due: int, currency: str) -> None:
        super().__init__(
            "amount_minor",
            f"{amount} minor units ({currency}) is more than the {due} still due on invoice "
            f"{invoice}; overpayments are refused (record what was applied, refund the rest)",
        )
        self.invoice = invoice


class PaymentStateError(PaymentsError):
    """The invoice (or payment) is in a state that does not take this."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject


class PaymentNotFoundError(PaymentsError):
    def __init__(self, key: object) -> None:
        super().__init__(f"payment {key!r} not found")
        self.key = key
