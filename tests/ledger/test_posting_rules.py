"""What the ledger refuses in code, and that a refused batch writes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from ledger import (
    AccountNotFoundError,
    EntrySpec,
    IdempotencyConflictError,
    InvalidEntryError,
    PostingSpec,
    UnbalancedEntryError,
    balances,
    open_standard_chart,
    post_entries,
    trial_balance,
)
from tests.ledger.conftest import PARTNER, at, entry


def test_entries_balance_per_currency_not_across_currencies(books: Session) -> None:
    open_standard_chart(books, PARTNER, "EUR")
    mixed = EntrySpec(
        "fx", at(10, 1), (PostingSpec("1000", 100, "USD"), PostingSpec("1000", -100, "EUR"))
    )
    with pytest.raises(UnbalancedEntryError) as caught:
        post_entries(books, PARTNER, [mixed])
    assert caught.value.imbalance == {"USD": 100, "EUR": -100}
    both = EntrySpec(
        "two-books",
        at(10, 1),
        (
            PostingSpec("1200", 500, "USD"),
            PostingSpec("4100", -500, "USD"),
            PostingSpec("1200", 700, "EUR"),
            PostingSpec("4100", -700, "EUR"),
        ),
    )
    post_entries(books, PARTNER, [both])
    assert trial_balance(books, PARTNER).totals == {"EUR": (700, 700), "USD": (500, 500)}


@pytest.mark.parametrize(
    ("legs", "reason"),
    [
        ((("1200", 100),), "at least two postings"),
        ((("1200", 0), ("4100", 0)), "must not be zero"),
    ],
)
def test_malformed_entries_are_refused(books: Session, legs: tuple, reason: str) -> None:
    with pytest.raises(InvalidEntryError, match=reason):
        post_entries(books, PARTNER, [entry("bad", at(10, 1), *legs)])


def test_amounts_must_be_integer_minor_units(books: Session) -> None:
    spec = EntrySpec(
        "x", at(10, 1), (PostingSpec("1200", 1.5, "USD"), PostingSpec("4100", -1.5, "USD"))
    )  # type: ignore[arg-type]
    with pytest.raises(
        InvalidEntryError, match=r"postings\[0\].amount must be integer minor units"
    ):
        post_entries(books, PARTNER, [spec])


def test_naive_effective_time_is_refused(books: Session) -> None:
    spec = entry("naive", at(10, 1).replace(tzinfo=None), ("1200", 1), ("4100", -1))
    with pytest.raises(InvalidEntryError, match="time zone"):
        post_entries(books, PARTNER, [spec])


def test_unknown_account_and_wrong_currency_are_refused(books: Session) -> None:
    with pytest.raises(AccountNotFoundError, match="9999"):
        post_entries(books, PARTNER, [entry("x", at(10, 1), ("9999", 1), ("4100", -1))])
    gbp = EntrySpec("y", at(10, 1), (PostingSpec("1200", 1, "GBP"), PostingSpec("4100", -1, "GBP")))
    with pytest.raises(AccountNotFoundError, match="GBP"):
        post_entries(books, PARTNER, [gbp])


def test_a_batch_with_one_bad_entry_writes_nothing(books: Session) -> None:
    good = entry("good", at(10, 1), ("1200", 100), ("4100", -100))
    bad = entry("bad", at(10, 1), ("1200", 100), ("4100", -99))
    with pytest.raises(UnbalancedEntryError):
        post_entries(books, PARTNER, [good, bad])
    assert trial_balance(books, PARTNER).rows == ()


def test_the_same_key_twice_in_one_batch(books: Session) -> None:
    first = entry("k", at(10, 1), ("1200", 100), ("4100", -100))
    result = post_entries(books, PARTNER, [first, first])
    assert (result.posted, result.replayed) == (1, 1)
    assert result.entry_ids[0] == result.entry_ids[1]
    other = entry("k2", at(10, 1), ("1200", 100), ("4100", -100))
    clash = entry("k2", at(10, 2), ("1200", 100), ("4100", -100))
    with pytest.raises(IdempotencyConflictError):
        post_entries(books, PARTNER, [other, clash])


def test_partners_never_see_each_others_books(books: Session) -> None:
    open_standard_chart(books, "other", "USD")
    post_entries(books, "other", [entry("k", at(10, 1), ("1200", 100), ("4100", -100))])
    post_entries(books, PARTNER, [entry("k", at(10, 1), ("1200", 7), ("4100", -7))])
    assert trial_balance(books, PARTNER).totals == {"USD": (7, 7)}
    assert trial_balance(books, "other").totals == {"USD": (100, 100)}


def test_balances_group_by_client_and_usage_type_over_a_range(books: Session) -> None:
    legs = [
        ("a", "dental-co", "voice_minutes", 1500, at(10, 3)),
        ("b", "dental-co", "sms", 200, at(10, 4)),
        ("c", "vet-co", "voice_minutes", 900, at(10, 5)),
        ("d", "vet-co", "voice_minutes", 100, at(11, 1)),  # outside October
    ]
    post_entries(
        books,
        PARTNER,
        [
            EntrySpec(
                key,
                when,
                (
                    PostingSpec("1150", amount, "USD", client, usage),
                    PostingSpec(f"4000.{usage}", -amount, "USD", client, usage),
                ),
            )
            for key, client, usage, amount, when in legs
        ],
    )
    rows = balances(books, PARTNER, at(10, 1, 0), at(11, 1, 0), by_client=True, by_usage_type=True)
    revenue = {
        (r.client_id, r.usage_type): r.normal_balance
        for r in rows
        if r.account_code.startswith("4000")
    }
    assert revenue == {
        ("dental-co", "voice_minutes"): 1500,
        ("dental-co", "sms"): 200,
        ("vet-co", "voice_minutes"): 900,
    }
    per_account = balances(books, PARTNER, at(10, 1, 0), at(11, 1, 0))
    unbilled = next(r for r in per_account if r.account_code == "1150")
    assert (unbilled.debits, unbilled.credits, unbilled.client_id) == (2600, 0, None)


def test_nul_characters_are_refused_before_reaching_the_database(books: Session) -> None:
    spec = entry("nul", at(10, 1), ("1200", 1), ("4100", -1), memo="a\x00b")
    with pytest.raises(InvalidEntryError, match="NUL"):
        post_entries(books, PARTNER, [spec])


@pytest.mark.slow
def test_two_processes_posting_the_same_keys_store_each_entry_once(
    books: Session, database_url: str
) -> None:
    """Concurrent writers racing on the same idempotency keys: each entry exists once."""
    import multiprocessing
    import os

    books.commit()
    url = os.environ["REBILL_DATABASE_URL"]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_post_shared_batch, [url, url])
    assert sum(posted for posted, _ in results) == 200
    assert sum(replayed for _, replayed in results) == 200
    assert trial_balance(books, PARTNER).totals == {"USD": (200 * 100, 200 * 100)}


def _post_shared_batch(url: str) -> tuple[int, int]:
    from sqlmodel import Session as WorkerSession

    from config.db import create_db_engine

    engine = create_db_engine(url)
    specs = [entry(f"shared:{n}", at(10, 1), ("1200", 100), ("4100", -100)) for n in range(200)]
    posted = replayed = 0
    for start in range(0, 200, 50):
        with WorkerSession(engine) as worker:
            result = post_entries(worker, PARTNER, specs[start : start + 50])
            worker.commit()
        posted += result.posted
        replayed += result.replayed
    engine.dispose()
    return posted, replayed
