"""What the queue needs to know about a table that holds work items.

Storage design: the queue keeps its state in the columns of each domain's own table (the
outbox row, the charge row, the e-mail row, the run row) and this module names those
columns; there is no separate `work_items` table. Why:

* every reader of those tables (CLI listings, dashboard, reconciliation, the partner's retry
  buttons, years of tests) reads the status where it already is: a second table would put
  each item's truth in two places that a crash between two writes could make disagree;
* no migration has to carry in-flight items (leased, waiting, dead) of existing databases
  across, and nothing about the tables changes for an operator;
* the one thing that must not exist four times, the code that claims, leases, backs off,
  kills and revives items, is written once (`workqueue.repository`) over a `QueueTable`.

A new kind of work (outgoing partner webhooks) gets its own table with these columns and
one `QueueTable`, and with it every guarantee in docs/work-queue.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Table

__all__ = ["QueueTable", "table_of"]


def table_of(model: type) -> Table:
    """The table of a SQLModel class (its `__table__`, typed)."""
    found = getattr(model, "__table__", None)
    if not isinstance(found, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return found


@dataclass(frozen=True)
class QueueTable:
    """One kind of work and the columns of the table that holds it.

    `kind` names the work (logs, docs). Statuses are the table's own values:
    `waiting` are due once `next_attempt_at` has come (the first is where a retried item
    goes); `leased` is the status of a claimed item (None: the table has no such status, and a
    claim only moves `lease_column` out, so the item is due again when the lease runs out);
    `dead` is where an item goes when it is refused for good or out of attempts.
    `lease_column` holds the lease's end (it may be `next_attempt_at` itself);
    `owner_column` who holds the lease (None: the attempt number identifies the lease).
    `updated_column`, `error_column` are kept up to date when the table has them.
    `subject_columns` is the per-subject ordering key: an item is never claimed while an
    earlier item (lower id) of the same subject is in one of `holds_back`.
    """

    kind: str
    table: Table
    waiting: tuple[str, ...]
    dead: str
    leased: str | None = None
    lease_column: str = "next_attempt_at"
    owner_column: str | None = None
    subject_columns: tuple[str, ...] = ()
    holds_back: tuple[str, ...] = ()
    lease: timedelta = timedelta(minutes=5)
    error_column: str | None = "last_error"
    updated_column: str | None = None
    error_limit: int = 4000
    id_column: str = "id"

    def __post_init__(self) -> None:
        if not self.waiting:
            raise ValueError("waiting: at least one status must be due")
        if self.subject_columns and not self.holds_back:
            raise ValueError("holds_back: needed when subject_columns order the items")
        names = [self.id_column, "status", "attempts", "next_attempt_at", self.lease_column]
        names += [n for n in (self.owner_column, self.error_column, self.updated_column) if n]
        for name in [*names, *self.subject_columns]:
            if name not in self.table.c:
                raise ValueError(f"{self.kind}: table {self.table.name} has no column {name}")

    def column(self, name: str) -> Column[object]:
        found = self.table.c[name]
        assert isinstance(found, Column)
        return found

    @property
    def id(self) -> Column[object]:
        return self.column(self.id_column)

    @property
    def status(self) -> Column[object]:
        return self.column("status")

    @property
    def attempts(self) -> Column[object]:
        return self.column("attempts")

    @property
    def next_attempt_at(self) -> Column[object]:
        return self.column("next_attempt_at")

    @property
    def lease_until(self) -> Column[object]:
        return self.column(self.lease_column)
