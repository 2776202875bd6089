"""Ledger failures, each naming the entry (idempotency key) and what is wrong with it."""

from __future__ import annotations

__all__ = [
    "AccountNotFoundError",
    "AlreadyReversedError",
    "IdempotencyConflictError",
    "InvalidEntryError",
    "LedgerError",
    "UnbalancedEntryError",
]


class LedgerError(Exception):
    """Base class: nothing was written when one of these is raised."""


class InvalidEntryError(LedgerError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"entry {key!r}: {reason}")
        self.key = key
        self.reason = reason


class UnbalancedEntryError(InvalidEntryError):
    def __init__(self, key: str, imbalance: dict[str, int]) -> None:
        detail = ", ".join(f"{cur} off by {amount:+d}" for cur, amount in sorted(imbalance.items()))
        super().__init__(key, f"debits do not equal credits ({detail})")
        self.imbalance = imbalance


class IdempotencyConflictError(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"entry {key!r}: this idempotency key was already used for a different entry"
        )
        self.key = key


class AccountNotFoundError(LedgerError):
    def __init__(self, partner_id: str, code: str, currency: str) -> None:
        super().__init__(f"partner {partner_id!r} has no account {code!r} in {currency}")


class AlreadyReversedError(LedgerError):
    def __init__(self, entry_key: str, reversal_key: str) -> None:
        super().__init__(f"entry {entry_key!r} was already reversed by {reversal_key!r}")
