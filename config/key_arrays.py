"""Lookups keyed by long lists of values, as a join on one array parameter (PostgreSQL).

`column IN ($2, ..., $501)` is a trap on PostgreSQL: after five executions psycopg prepares
the statement, the planner switches to a generic plan, and on stale statistics that plan scans
every row of the partner and filters it against the whole list. A join on `unnest($2::text[])`
has one parameter whatever the list's length, and its plan (a nested loop over the unique
index) does not depend on statistics, so it stays flat as the table grows. SQLite has neither
problem and keeps plain IN lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias

__all__ = ["ARRAY_CHUNK", "key_array", "key_chunks"]

ARRAY_CHUNK = 10_000  # keys per array: one round trip each, few enough to keep the plan cheap


def key_array(name: str, keys: Sequence[Any]) -> TableValuedAlias:
    """`unnest(:name)` as a one-column table (`.c.key`) to join against."""
    values = bindparam(name, list(keys), type_=ARRAY(String))
    return func.unnest(values).table_valued("key").render_derived(name=f"{name}_k")


def key_chunks(keys: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])
