"""The books: double-entry, append-only, per partner and per currency."""

from ledger.chart import STANDARD_CHART, AccountRole, account_for, open_standard_chart
from ledger.errors import (
    AccountNotFoundError,
    AlreadyReversedError,
    IdempotencyConflictError,
    InvalidEntryError,
    LedgerError,
    UnbalancedEntryError,
)
from ledger.models import Account, AccountType, JournalEntry, NormalSide, Posting
from ledger.reports import account_balance, balances, trial_balance
from ledger.schemas import (
    BalanceRow,
    EntrySpec,
    PostingResult,
    PostingSpec,
    TrialBalance,
    TrialBalanceRow,
)
from ledger.service import post_entries, post_entry, reverse_entry, validate_entry

__all__ = [
    "STANDARD_CHART",
    "Account",
    "AccountNotFoundError",
    "AccountRole",
    "AccountType",
    "AlreadyReversedError",
    "BalanceRow",
    "EntrySpec",
    "IdempotencyConflictError",
    "InvalidEntryError",
    "JournalEntry",
    "LedgerError",
    "NormalSide",
    "Posting",
    "PostingResult",
    "PostingSpec",
    "TrialBalance",
    "TrialBalanceRow",
    "UnbalancedEntryError",
    "account_balance",
    "account_for",
    "balances",
    "open_standard_chart",
    "post_entries",
    "post_entry",
    "reverse_entry",
    "trial_balance",
    "validate_entry",
]
