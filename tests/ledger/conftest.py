from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from ledger import AccountRole, EntrySpec, PostingSpec, account_for, open_standard_chart

PARTNER = "acme"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def entry(
    key: str, when: datetime, *legs: tuple[str, int], memo: str = "", **kw: object
) -> EntrySpec:
    return EntrySpec(
        idempotency_key=key,
        effective_at=when,
        postings=tuple(PostingSpec(code, amount, "USD") for code, amount in legs),
        memo=memo,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def books(session: Session) -> Session:
    """A partner with the standard USD chart and voice/sms revenue and cost sub-accounts."""
    open_standard_chart(session, PARTNER, "USD")
    for usage in ("voice_minutes", "sms"):
        account_for(session, PARTNER, AccountRole.USAGE_REVENUE, "USD", usage)
        account_for(session, PARTNER, AccountRole.WHOLESALE_COST, "USD", usage)
    session.commit()
    return session


@pytest.fixture
def balance(books: Session) -> Callable[[str], int]:
    from ledger import account_balance

    def read(code: str) -> int:
        return account_balance(books, PARTNER, code, "USD")

    return read
