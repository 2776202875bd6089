"""Lookups keyed by long lists of values, as a join on one array parameter (PostgreSQL).

`column IN ($2, ..., $501)` is a trap on PostgreSQL: after five executions psycopg prepares
the statement, the planner switches to a generic plan, and on stale statistics that plan scans
every row of the partner and filters it against the whole list. A join on `unnest($2::text[])`
has one parameter whatever the list's length, and its plan (a nested loop over the unique
index) does not depend on statistics, so it stays flat as the table grows. SQLite has neither
problem and keeps plain IN lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.selectable import TableValuedAlias

__all__ = [
    "ARRAY_CHUNK",
    "IN_CHUNK",
    "Key",
    "key_array",
    "key_chunks",
    "keyed_queries",
    "on_postgres",
]

ARRAY_CHUNK = 10_000  # keys per array: one round trip each, few enough to keep the plan cheap
IN_CHUNK = 500  # values per IN list (SQLite)

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
Key = TypeVar("Key", str, int)


def on_postgres(session: Any) -> bool:
    """Whether `session` (a Session or Connection) talks to PostgreSQL, where lists of keys
    go in arrays."""
    return bool(session.get_bind().dialect.name == "postgresql")


def key_array(name: str, keys: Sequence[Key]) -> TableValuedAlias:
    """`unnest(:name)` as a one-column table (`.c.key`) to join against: `bigint[]` for
    integer ids, `text[]` for everything else (the element type must match the column's, or
    PostgreSQL cannot use the column's index for the join)."""
    integers = bool(keys) and isinstance(keys[0], int)
    element = BigInteger() if integers else String()
    values = bindparam(name, list(keys), type_=ARRAY(element))
    return func.unnest(values).table_valued("key").render_derived(name=f"{name}_k")


def key_chunks(keys: Sequence[Key], size: int) -> Iterator[list[Key]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def keyed_queries(
    query: _Query, column: ColumnElement[Any] | Mapped[Any], keys: Iterable[Key], *, postgres: bool
) -> Iterator[_Query]:
    """`query` restricted to rows whose `column` is one of `keys`, as as few queries as fit.

    PostgreSQL: a join on one array per `ARRAY_CHUNK` keys; elsewhere IN lists of `IN_CHUNK`.
    Repeated keys are dropped first (a join, unlike IN, would return a row once per copy).
    Keys are all text or all integers (the column's own type).
    """
    unique = list(dict.fromkeys(keys))
    if not postgres:
        for chunk in key_chunks(unique, IN_CHUNK):
            yield query.where(column.in_(chunk))
        return
    for chunk in key_chunks(unique, ARRAY_CHUNK):
        array = key_array("keys", chunk)
        yield query.join(array, column == array.c.key)


def probed_queries(
    query: _Query, column: ColumnElement[Any] | Mapped[Any], keys: Iterable[Key], *, postgres: bool
) -> Iterator[Select[Any]]:
    """Like `keyed_queries`, for a key that is unique within `query` (at most one row each:
    an idempotency key, an event id), and only for queries of columns (the rows come back as
    the same tuples, not as entities).

    PostgreSQL: each key is looked up on its own, in a `LATERAL (... LIMIT 1)` subquery per
    element of the array. A plain join leaves the choice to the planner, and on a table never
    analysed it believes the partner has a handful of rows, so it hashes the keys and reads
    every row of the partner for each chunk (20,000 rows read to find 600 keys, measured).
    A subquery with a limit cannot be turned into that join: it runs once per key, on the
    unique index, whatever the statistics say, so the cost follows the keys asked for, not
    the table. SQLite: IN lists, as `keyed_queries`.
    """
    unique = list(dict.fromkeys(keys))
    if not postgres:
        for chunk in key_chunks(unique, IN_CHUNK):
            yield query.where(column.in_(chunk))
        return
    for chunk in key_chunks(unique, ARRAY_CHUNK):
        array = key_array("keys", chunk)
        found = query.where(column == array.c.key).limit(1).lateral("found")
        yield select(*found.c).select_from(array).join(found, true())
