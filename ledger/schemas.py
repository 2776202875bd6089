"""What callers hand to the ledger and what its reports hand back: plain frozen values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ledger.models import AccountType, NormalSide

__all__ = [
    "BalanceRow",
    "EntrySpec",
    "PostingResult",
    "PostingSpec",
    "TrialBalance",
    "TrialBalanceRow",
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _order(leg: tuple[str | int | None, ...]) -> tuple[tuple[int, str | int], ...]:
    """Sort key of a canonical leg: the order of plain tuple comparison wherever that order
    exists (so hashes of entries posted before stay the same), and None before any value
    where plain comparison would fail (a leg with and one without a usage type)."""
    return tuple((0, "") if value is None else (1, value) for value in leg)


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One leg: a signed amount in minor units, debit positive, credit negative.
    `service_period` is the first day of the client's billing period it belongs to."""

    account: str
    amount: int
    currency: str
    client_id: str | None = None
    usage_type: str | None = None
    service_period: date | None = None

    def canonical(self) -> tuple[str | int | None, ...]:
        """The leg's identity for the body hash. A leg without a service period hashes as it
        did before the dimension existed, so replays of entries posted then still match."""
        base = (self.account, self.currency, self.amount, self.client_id, self.usage_type)
        if self.service_period is None:
            return base
        return (*base, self.service_period.isoformat())


@dataclass(frozen=True, slots=True)
class EntrySpec:
    idempotency_key: str
    effective_at: datetime
    postings: tuple[PostingSpec, ...]
    memo: str = ""
    source_type: str = "manual"
    source_id: str | None = None
    reverses_entry_id: int | None = None

    def body_hash(self) -> str:
        """Identity of the entry's content (leg order aside): a replay must match it exactly."""
        micros = (self.effective_at - _EPOCH) // _MICROSECOND
        canonical = [leg.canonical() for leg in self.postings]
        try:
            legs = sorted(canonical)
        except TypeError:  # a leg with and one without a usage type, say
            legs = sorted(canonical, key=_order)
        body = repr(
            (micros, self.memo, self.source_type, self.source_id, self.reverses_entry_id, legs)
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PostingResult:
    entry_ids: tuple[int, ...]
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
    service_period: date | None = None

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
