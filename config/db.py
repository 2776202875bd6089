"""Engine and session factory for SQLite and PostgreSQL.

SQLite gets WAL, enforced foreign keys and a busy timeout on every connection, because the
ledger's integrity triggers and deferred foreign keys rely on `foreign_keys=ON` and several
processes (API, worker, scheduler) may share the file.

Transactions are opened here and nowhere else (tests/test_architecture.py checks it): a
command, job or endpoint opens one unit of work with `session_scope`, `write_scope` or
`read_scope`, passes the session down to services and repositories, and the scope commits or
rolls back. Services never commit, so two services called in one scope succeed or fail together.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from config.db_faults import discard_stale_sqlite_connection
from config.settings import get_settings

__all__ = [
    "SessionSource",
    "create_db_engine",
    "get_engine",
    "is_postgres",
    "is_sqlite",
    "read_scope",
    "session_factory",
    "session_scope",
    "set_engine",
    "write_scope",
]

SessionSource = Engine | Callable[[], Session]
"""Where a long-running loop gets its sessions: an engine, or a factory that tests swap for
one whose sessions fail on purpose (to prove that a crash between two commits loses nothing)."""

_BEGIN_OPTION = "rebill_sqlite_begin"

_engine: Engine | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so SAVEPOINTs
    # and transactional DDL behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Bulk inserts touch index pages all over the file: a 32 MiB page cache (default 2 MiB)
    # and checkpointing every ~40 MB of WAL (default 4 MB) instead of after nearly every
    # 1,000-row commit make usage ingestion ~15-40% faster (bench/ingest.py).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    # No memory map (SQLite's default, stated): with the file mapped, a storage fault under it
    # (a file truncated or replaced, an I/O error) is a SIGBUS that kills the server without a
    # word; read() turns the same fault into an error the API answers with 503. The map made
    # aggregating a period ~40% faster (bench/cycle.py); PostgreSQL is the choice for volume.
    cursor.execute("PRAGMA mmap_size=0")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write scope asks for BEGIN IMMEDIATE through an execution option on its engine.
    connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def _create_private(path: Path) -> None:
    """A new SQLite file is created readable by its owner only (0600), in a new directory
    that is 0700, like the PDFs and e-mails beside it: it holds every invoice and
    credential. SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        uri = parsed.query.get("uri") == "true" or str(parsed.database).startswith("file:")
        if parsed.database and parsed.database != ":memory:" and not uri:
            _create_private(Path(parsed.database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "handle_error", discard_stale_sqlite_connection)
        return engine
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("connect_timeout", 10)
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = create_db_engine(get_settings().resolved_database_url)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process engine (tests and commands that target another database)."""
    global _engine
    _engine = engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """The unit of work: services never commit, the caller's scope does (or rolls back).

    The transaction begins deferred: on SQLite the write lock is taken at the first write, so
    a scope that reads for a while (or calls a remote system) before it writes does not hold
    other writers off meanwhile. Use `write_scope` when it reads what it is about to write.
    """
    with _scope(engine or get_engine(), commit=True) as session:
        yield session


@contextmanager
def write_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work that reads what it then writes: commit on success, rollback on error.

    On SQLite it begins with BEGIN IMMEDIATE, taking the write lock before the first read: a
    deferred transaction that has read and then writes fails at once (SQLITE_BUSY_SNAPSHOT,
    no busy wait) when another process committed in between; this one waits its turn instead.
    On PostgreSQL it is an ordinary transaction (row locks are the repositories' business).
    Keep it short and never call a remote system inside it: it holds SQLite's one write lock.
    """
    bind = engine or get_engine()
    if is_sqlite(bind):
        bind = bind.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    with _scope(bind, commit=True) as session:
        yield session


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reading only: it never commits; closing it rolls the transaction back.

    Whatever a read scope adds or changes is discarded, so a report or a status page cannot
    write by accident, and reading never takes SQLite's write lock.
    """
    with _scope(engine or get_engine(), commit=False) as session:
        yield session


def session_factory(source: SessionSource) -> Callable[[], Session]:
    """Sessions from an engine (not expiring on commit, as in the scopes above) or a factory."""
    if isinstance(source, Engine):
        engine = source
        return lambda: Session(engine, expire_on_commit=False)
    return source


@contextmanager
def _scope(bind: Engine, *, commit: bool) -> Iterator[Session]:
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        if commit:
            session.commit()
        # A read scope ends in close(), which rolls the connection back without expiring the
        # objects read, so they stay usable after the scope (rollback() would expire them).
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
