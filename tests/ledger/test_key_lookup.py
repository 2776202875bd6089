"""The idempotency lookup over more keys than one query takes (chunk boundaries included)."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session

from config.key_arrays import ARRAY_CHUNK
from ledger import open_standard_chart, post_entries
from ledger.repository import LedgerRepository
from tests.ledger.conftest import PARTNER, at, entry

OTHER = "globex"


def test_keys_posted_finds_own_keys_across_chunks_and_ignores_other_partners(
    books: Session,
) -> None:
    open_standard_chart(books, OTHER, "USD")
    keys = [f"k{n}" for n in range(ARRAY_CHUNK + 2_000)]
    # Either side of every chunk boundary (500 on SQLite, ARRAY_CHUNK on PostgreSQL).
    mine = [keys[i] for i in (0, 499, 500, ARRAY_CHUNK - 1, ARRAY_CHUNK, len(keys) - 1)]
    theirs = [keys[i] for i in (1, 500, ARRAY_CHUNK, ARRAY_CHUNK + 1)]  # some shared with mine
    post_entries(books, PARTNER, [entry(k, at(3, 1), ("1200", 10), ("4000", -10)) for k in mine])
    post_entries(books, OTHER, [entry(k, at(3, 1), ("1200", 7), ("4000", -7)) for k in theirs])
    books.commit()
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    bind = books.get_bind()
    engine = getattr(bind, "engine", bind)
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = LedgerRepository(books).keys_posted(PARTNER, keys)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert sorted(found) == sorted(mine)
    entries = LedgerRepository(books).recent_entries(PARTNER, limit=100)
    assert {e.idempotency_key: (e.id, e.body_hash) for e in entries} == found
    if engine.dialect.name == "postgresql":
        # One array per ARRAY_CHUNK keys, never an IN list (the generic-plan trap).
        assert len(statements) == 2
        assert all("unnest" in s and " IN (" not in s for s in statements)
