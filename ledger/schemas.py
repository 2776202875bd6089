"""What callers hand to the ledger and what its reports hand back: plain frozen values."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.models import AccountType, NormalSide

__all__ = [
    "BalanceRow",
    "EntrySpec",
    "PostingResult",
    "PostingSpec",
    "TrialBalance",
    "TrialBalanceRow",
]


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One leg: a signed amount in minor units, debit positive, credit negative."""

    account: str
    amount: int
    currency: str
    client_id: str | None = None
    usage_type: str | None = None

    def canonical(self) -> list[object]:
        return [self.account, self.currency, self.amount, self.client_id, self.usage_type]


@dataclass(frozen=True, slots=True)
class EntrySpec:
    idempotency_key: str
    effective_at: datetime
    postings: tuple[PostingSpec, ...]
    memo: str = ""
    source_type: str = "manual"
    source_id: str | None = None
    reverses_entry_id: uuid.UUID | None = None

    def body_hash(self) -> str:
        """Identity of the entry's content: a replay must match it exactly."""
        body = {
            "effective_at": self.effective_at.astimezone(UTC).isoformat(),
            "memo": self.memo,
            "source": [self.source_type, self.source_id],
            "reverses": str(self.reverses_entry_id) if self.reverses_entry_id else None,
            "postings": sorted(
                (p.canonical() for p in self.postings), key=lambda leg: json.dumps(leg)
            ),
        }
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class PostingResult:
    entry_ids: tuple[uuid.UUID, ...]
    posted: int
    replayed: int


@dataclass(frozen=True, slots=True)
class BalanceRow:
    account_code: str
    account_name: str
    account_type: AccountType
    normal_side: NormalSide
    currency: str
    client_id: str | None
    usage_type: str | None
    debits: int
    credits: int

    @property
    def net(self) -> int:
        """Debit-positive net movement."""
        return self.debits - self.credits

    @property
    def normal_balance(self) -> int:
        return self.net * self.normal_side.sign


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account_code: str
    account_name: str
    account_type: AccountType
    currency: str
    debit: int
    credit: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    partner_id: str
    as_of: datetime | None
    rows: tuple[TrialBalanceRow, ...]
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def is_balanced(self) -> bool:
        return all(debit == credit for debit, credit in self.totals.values())
