"""Lookups keyed by long lists, text keys and integer keys, across every chunk boundary.

On PostgreSQL each list must go as one array per `ARRAY_CHUNK` keys, never as an IN list
(after five executions an IN list falls into a generic plan that scans the partner's rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import Session

from billing.tenants.repository import TenantRepository
from config.key_arrays import ARRAY_CHUNK
from ledger import AccountRole, open_standard_chart, post_entries
from sync.reconcile.books_repository import entry_sums_by_role
from tests.billing.factories import make_partner
from tests.ledger.conftest import PARTNER, at, entry


@contextmanager
def recorded(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _no_in_lists_on_postgres(
    session: Session, statements: list[str], column: str, expected: int
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        assert len(statements) == expected
        assert all("unnest" in s and f"{column} IN (" not in s for s in statements)


def test_integer_keys_sum_the_entries_asked_for_and_only_those(session: Session) -> None:
    books = session
    open_standard_chart(books, PARTNER, "USD")
    specs = [entry(f"k{n}", at(3, 1), ("1200", 10 + n), ("4000", -10 - n)) for n in range(6)]
    posted = post_entries(books, PARTNER, specs)
    books.commit()
    ids = list(posted.entry_ids)  # in the order of `specs`
    asked = ids[:4]  # the last two entries exist but are not asked for
    # Ids that do not exist push the real ones either side of every chunk boundary.
    missing = list(range(10**9, 10**9 + ARRAY_CHUNK + 1_000))
    keys = [asked[0], *missing[:499], asked[1], *missing[499:ARRAY_CHUNK], asked[2]]
    keys += [*missing[ARRAY_CHUNK:], asked[3], asked[3]]  # a repeat counts once

    with recorded(books) as statements:
        sums = entry_sums_by_role(books, keys, {AccountRole.ACCOUNTS_RECEIVABLE.value})

    assert sums == {(i, AccountRole.ACCOUNTS_RECEIVABLE.value): 10 + n for n, i in enumerate(asked)}
    _no_in_lists_on_postgres(books, statements, "entry_id", expected=2)


def test_text_keys_find_own_clients_and_ignore_another_partners(session: Session) -> None:
    make_partner(session, "acme", clients=("a-0", "a-1", "a-2"))
    make_partner(session, "globex", clients=("a-0", "g-1"))
    unknown = [f"nobody-{n}" for n in range(ARRAY_CHUNK + 10)]
    keys = ["a-0", *unknown[:ARRAY_CHUNK], "a-2", "g-1", *unknown[ARRAY_CHUNK:]]

    with recorded(session) as statements:
        found = TenantRepository(session).client_statuses("acme", keys)

    assert found == {"a-0": "active", "a-2": "active"}
    _no_in_lists_on_postgres(session, statements, "id", expected=2)
