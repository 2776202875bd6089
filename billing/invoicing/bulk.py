"""Writing thousands of rows at once in the form the database stores them.

Values go through each column type's own bind processor (so they are stored exactly as the ORM
would store them: UTC timestamps, decimal text, enum values), each distinct value once per
column, then PostgreSQL takes the rows by COPY and SQLite by multi-row INSERTs (fewer statements
than executemany, and no per-row parameter processing in SQLAlchemy).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlmodel import SQLModel

__all__ = ["insert_storage_rows", "stage_rows"]

_MISSING = object()
_ROWS_PER_STATEMENT = 50  # x up to 40 columns: within SQLite's parameter limit


def insert_storage_rows(
    connection: Connection,
    model: type[SQLModel],
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert `rows` (tuples in `names` order) into `model`'s table."""
    if not rows:
        return
    table: Any = model.__table__  # type: ignore[attr-defined]
    stored = _storage_form(connection, table, names, rows)
    columns = ", ".join(names)
    if connection.dialect.name == "postgresql":
        _copy(connection, table.name, columns, stored)
        return
    one = "(" + ", ".join("?" for _ in names) + ")"
    head = f"INSERT INTO {table.name} ({columns}) VALUES "
    full = head + ", ".join([one] * _ROWS_PER_STATEMENT)
    for start in range(0, len(stored), _ROWS_PER_STATEMENT):
        chunk = stored[start : start + _ROWS_PER_STATEMENT]
        sql = full if len(chunk) == _ROWS_PER_STATEMENT else head + ", ".join([one] * len(chunk))
        connection.exec_driver_sql(sql, tuple(v for row_values in chunk for v in row_values))


def stage_rows(
    connection: Connection,
    model: type[SQLModel],
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> str:
    """PostgreSQL only: the rows in a temporary table (same column types as `model`'s, dropped
    at commit), for one set-based `INSERT ... SELECT` or `UPDATE ... FROM` instead of a
    statement per row. Returns the temporary table's name."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    stored = _storage_form(connection, table, names, rows)
    columns = ", ".join(names)
    staged = f"staged_{table.name}_{uuid.uuid4().hex[:12]}"
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS "
        f"SELECT {columns} FROM {table.name} WITH NO DATA"
    )
    _copy(connection, staged, columns, stored)
    return staged


def _copy(connection: Connection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for values in rows:
            copy.write_row(values)


def _storage_form(
    connection: Connection, table: Any, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    dialect = connection.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    # Each distinct value is processed once per column (a cycle repeats the same dates,
    # watermark, kinds and prices thousands of times).
    active: list[tuple[int, Any, dict[Any, Any]]] = [
        (i, p, {}) for i, p in enumerate(processors) if p is not None
    ]
    stored: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for index, process, memo in active:
            value = values[index]
            if value is None:
                continue
            try:
                done = memo.get(value, _MISSING)
            except TypeError:  # unhashable (JSON): process every time
                values[index] = process(value)
                continue
            if done is _MISSING:
                done = memo[value] = process(value)
            values[index] = done
        stored.append(tuple(values))
    return stored
