"""Raw SQL cannot unbalance or rewrite the books, on SQLite or PostgreSQL.

These statements bypass every line of our code; only the schema's triggers and deferred
constraints stand in the way.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from ledger import post_entry, trial_balance
from tests.ledger.conftest import PARTNER, at, entry


def _new_entry_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT COALESCE(MAX(id), 0) + 1000 FROM ledger_entry")).scalar_one()
        )


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        entries = conn.execute(text("SELECT COUNT(*) FROM ledger_entry")).scalar_one()
        postings = conn.execute(text("SELECT COUNT(*) FROM ledger_posting")).scalar_one()
    return int(entries), int(postings)


def _account_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM ledger_account WHERE partner_id = :p AND code = :c"),
                {"p": PARTNER, "c": code},
            ).scalar_one()
        )


def _raw_entry(engine: Engine, legs: list[tuple[str, int]], *, seal: bool = True) -> int:
    """Insert postings, then (optionally) the sealing entry row, in one raw transaction."""
    entry_id = _new_entry_id(engine)
    params: dict[str, Any] = {
        "e": entry_id,
        "p": PARTNER,
        "t": at(10, 1).replace(tzinfo=None),
    }
    with engine.begin() as conn:
        for code, amount in legs:
            conn.execute(
                text(
                    "INSERT INTO ledger_posting (entry_id, partner_id, account_id, amount, currency, effective_at) "
                    "VALUES (:e, :p, :a, :amount, 'USD', :t)"
                ),
                {**params, "a": _account_id(engine, code), "amount": amount},
            )
        if seal:
            conn.execute(
                text(
                    "INSERT INTO ledger_entry (id, partner_id, idempotency_key, body_hash, effective_at, "
                    "recorded_at, memo, source_type) VALUES (:e, :p, :k, 'raw', :t, :t, 'raw', 'manual')"
                ),
                {**params, "k": f"raw-{entry_id}"},
            )
    return entry_id


@pytest.fixture
def posted(books: Session, engine: Engine) -> Engine:
    post_entry(books, PARTNER, entry("invoice:1", at(10, 31), ("1200", 9900), ("4100", -9900)))
    books.commit()
    return engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_posting SET amount = amount + 1",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_entry SET memo = 'edited'",
        "DELETE FROM ledger_entry",
    ],
)
def test_posted_rows_cannot_be_changed(posted: Engine, statement: str) -> None:
    before = _counts(posted)
    with pytest.raises(DBAPIError, match="immutable"), posted.begin() as conn:
        conn.execute(text(statement))
    assert _counts(posted) == before


def test_a_balanced_raw_entry_is_accepted(posted: Engine, books: Session) -> None:
    """The control: the same raw path succeeds when debits equal credits."""
    _raw_entry(posted, [("1200", 500), ("4100", -500)])
    assert trial_balance(books, PARTNER).totals == {"USD": (10400, 10400)}


def test_an_unbalanced_raw_entry_cannot_be_committed(posted: Engine) -> None:
    before = _counts(posted)
    with pytest.raises(DBAPIError, match="balance"):
        _raw_entry(posted, [("1200", 500), ("4100", -499)])
    assert _counts(posted) == before


def test_a_single_legged_raw_entry_cannot_be_committed(posted: Engine) -> None:
    before = _counts(posted)
    with pytest.raises(DBAPIError):
        _raw_entry(posted, [("1200", 0)])
    assert _counts(posted) == before


def test_postings_without_their_entry_cannot_be_committed(posted: Engine) -> None:
    before = _counts(posted)
    with pytest.raises(DBAPIError, match=r"(?i)foreign key"):
        _raw_entry(posted, [("1200", 500), ("4100", -500)], seal=False)
    assert _counts(posted) == before


def test_no_posting_can_join_a_sealed_entry(posted: Engine) -> None:
    with posted.connect() as conn:
        existing = conn.execute(text("SELECT id FROM ledger_entry")).scalar_one()
    before = _counts(posted)
    with pytest.raises(DBAPIError, match="sealed"), posted.begin() as conn:
        for amount in (1, -1):
            conn.execute(
                text(
                    "INSERT INTO ledger_posting (entry_id, partner_id, account_id, amount, currency, effective_at) "
                    "VALUES (:e, :p, :a, :amount, 'USD', :t)"
                ),
                {
                    "e": existing,
                    "p": PARTNER,
                    "a": _account_id(posted, "1200"),
                    "amount": amount,
                    "t": at(10, 1).replace(tzinfo=None),
                },
            )
    assert _counts(posted) == before


def test_a_posting_in_another_currency_than_its_account_is_refused(posted: Engine) -> None:
    with pytest.raises(DBAPIError, match="currency"), posted.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_posting (entry_id, partner_id, account_id, amount, currency, effective_at) "
                "VALUES (:e, :p, :a, 1, 'EUR', :t)"
            ),
            {
                "e": _new_entry_id(posted),
                "p": PARTNER,
                "a": _account_id(posted, "1200"),
                "t": at(10, 1).replace(tzinfo=None),
            },
        )


def test_trigger_lookups_by_key_never_plan_a_sequential_scan(engine: Engine) -> None:
    """PostgreSQL keeps a PL/pgSQL query's plan for the life of the connection: a trigger
    planned on freshly analysed, empty tables would scan every entry for each posting ever
    after (16.7 s of COPY for 10,000 invoices in bench/cycle.py). Both row triggers of the
    ledger run with sequential scans off (migration 0020_ledger_trigger_plans)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PL/pgSQL triggers and their cached plans are PostgreSQL's")
    with engine.connect() as conn:
        settings = dict(
            conn.execute(
                text(
                    "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
                    "('ledger_posting_check', 'ledger_entry_balanced') "
                    "AND pronamespace = current_schema()::regnamespace"
                )
            ).all()
        )
    assert settings == {
        "ledger_posting_check": ["enable_seqscan=off"],
        "ledger_entry_balanced": ["enable_seqscan=off"],
    }
