"""The service-period dimension: stored per leg, kept by reversals, read by period whatever the
effective date, part of an entry's identity only when present."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from ledger import (
    EntrySpec,
    IdempotencyConflictError,
    PostingSpec,
    balances,
    post_entries,
    post_entry,
    reverse_entry,
    trial_balance,
)
from ledger.repository import LedgerRepository
from tests.ledger.conftest import PARTNER, at

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


def _sale(
    key: str, when: datetime, amount: int, period: date | None, client: str = "c1"
) -> EntrySpec:
    return EntrySpec(
        key,
        when,
        (
            PostingSpec("1150", amount, "USD", client, "sms", period),
            PostingSpec("4000.sms", -amount, "USD", client, "sms", period),
        ),
    )


def _revenue(
    books: Session, periods: tuple[date, date]
) -> dict[tuple[str | None, date | None], int]:
    found: dict[tuple[str | None, date | None], int] = {}
    for row in balances(books, PARTNER, by_client=True, by_period=True, periods=periods):
        if row.account_code == "4000.sms":
            found[(row.client_id, row.service_period)] = row.credits - row.debits
    return found


def test_periods_are_read_by_service_period_not_by_date(books: Session) -> None:
    # November revenue booked on 6 December (an invoice issued a week late) stays November's.
    post_entries(
        books,
        PARTNER,
        [
            _sale("nov-usage", at(11, 20), 700, NOV),
            _sale("nov-issued-late", at(12, 6), 300, NOV),
            _sale("dec-usage", at(12, 6), 50, DEC),
            _sale("untagged", at(11, 20), 9, None),
        ],
    )
    assert _revenue(books, (NOV, NOV)) == {("c1", NOV): 1000}
    assert _revenue(books, (NOV, DEC)) == {("c1", NOV): 1000, ("c1", DEC): 50}
    # Read by effective date, December holds November's late part: the old, wrong reading.
    december = balances(books, PARTNER, at(12, 1, 0), at(12, 31, 0))
    assert sum(r.credits for r in december if r.account_code == "4000.sms") == 350
    assert trial_balance(books, PARTNER).is_balanced


def test_a_reversal_keeps_the_period_of_what_it_reverses(books: Session) -> None:
    original = post_entry(books, PARTNER, _sale("issue", at(12, 6), 1000, NOV))
    reversal = reverse_entry(books, PARTNER, original.entry_id, effective_at=at(12, 20))
    legs = LedgerRepository(books).postings_of([reversal.entry_id])
    assert {(p.amount, p.service_period) for p, _ in legs} == {(-1000, NOV), (1000, NOV)}
    assert _revenue(books, (NOV, NOV)) == {("c1", NOV): 0}


def test_the_period_is_part_of_the_body_only_when_present(books: Session) -> None:
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    untagged = _sale("k", when, 100, None)
    # The hash an untagged entry had before the dimension existed (the pre-0015 formula).
    micros = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    legs = sorted([("1150", "USD", 100, "c1", "sms"), ("4000.sms", "USD", -100, "c1", "sms")])
    before = hashlib.sha256(repr((micros, "", "manual", None, None, legs)).encode()).hexdigest()
    assert untagged.body_hash() == before
    assert _sale("k", when, 100, NOV).body_hash() != before
    post_entry(books, PARTNER, untagged)
    with pytest.raises(IdempotencyConflictError):
        post_entries(books, PARTNER, [_sale("k", when, 100, NOV)])


def test_the_database_refuses_to_retag_a_posted_row(books: Session) -> None:
    post_entry(books, PARTNER, _sale("issue", at(12, 6), 1000, None))
    books.commit()
    with pytest.raises((IntegrityError, DBAPIError)):
        books.execute(text("UPDATE ledger_posting SET service_period = '2026-11-01'"))
        books.flush()
    books.rollback()
