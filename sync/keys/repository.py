"""Reading and rewriting encrypted columns (`*_enc`) of any table, for key rotation and the
start-up key check; the tables are found in the metadata by `sync.keys.rotation`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Column, Table, and_, select, update
from sqlmodel import Session

__all__ = ["encrypted_values", "replace_encrypted_values"]


def encrypted_values(
    session: Session,
    table: Table,
    columns: Sequence[Column[str]],
    *,
    lock: bool,
    limit: int | None = None,
) -> Iterator[tuple[dict[str, object], dict[str, str]]]:
    """(primary key, encrypted values that are set) per row that has any, in key order;
    `lock` holds the rows until the transaction ends (PostgreSQL)."""
    keys = list(table.primary_key.columns)
    query = select(*keys, *columns).order_by(*keys)
    if lock:
        query = query.with_for_update()
    if limit is not None:
        query = query.limit(limit)
    for row in session.execute(query).mappings():
        values = {c.name: row[c.name] for c in columns if row[c.name] is not None}
        if values:
            yield {k.name: row[k.name] for k in keys}, values


def replace_encrypted_values(
    session: Session, table: Table, key: Mapping[str, object], values: Mapping[str, str]
) -> None:
    """Store new encrypted values in the row with this primary key."""
    condition = and_(*(table.c[name] == value for name, value in key.items()))
    session.execute(update(table).where(condition).values(**values))
