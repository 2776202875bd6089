"""`python -m tests.sync.cursor_race_worker worker --once`: the real worker command, except that
on PostgreSQL a process whose INSERT INTO sync_cursor created the row keeps its transaction
open until another backend waits on it, then says so on stderr and goes on.

Started twice on a database no worker has run on, this makes the first fan-out's collision
certain instead of a matter of timing: the second worker cannot see the first one's cursor (not
committed yet), so it inserts its own and waits on the first's transaction, which only then
commits. Before the fix that second insert failed with an IntegrityError.

SQLite needs no hold: the fan-out takes the database's write lock before it reads the cursor,
so the two fan-outs run one after the other.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from sqlalchemy import Engine, event

HELD_MESSAGE = "held the first sync_cursor insert until another worker waited on it"
#: How long the first worker waits for the second to reach its insert (process start included).
BOUND_SECONDS = 240.0

#: Backends waiting on this one. From pg_locks, which is read afresh on every query:
#: pg_stat_activity is a snapshot taken once per transaction, and this one stays open.
_WAITERS = (
    "SELECT count(*) FROM pg_locks "
    "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
)


def _hold_first_cursor_insert(
    connection: Any,
    cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    if connection.dialect.name != "postgresql" or cursor.rowcount != 1:
        return
    if not statement.lstrip().upper().startswith("INSERT INTO SYNC_CURSOR"):
        return
    raw = cursor.connection  # the same transaction, without SQLAlchemy's events
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        waiters = raw.execute(_WAITERS).fetchone()[0]
        if waiters:
            print(HELD_MESSAGE, file=sys.stderr, flush=True)
            return
        time.sleep(0.05)
    raise RuntimeError(f"no other worker reached the cursor insert within {BOUND_SECONDS:.0f} s")


def main() -> None:
    event.listen(Engine, "after_cursor_execute", _hold_first_cursor_insert)
    from main import app

    app(prog_name="rebill")


if __name__ == "__main__":
    main()
