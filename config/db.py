"""Engine and session factory for SQLite and PostgreSQL.

SQLite gets WAL, enforced foreign keys and a busy timeout on every connection, because the
ledger's integrity triggers and deferred foreign keys rely on `foreign_keys=ON` and several
processes (API, worker, scheduler) may share the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from config.db_faults import discard_stale_sqlite_connection
from config.settings import get_settings

__all__ = [
    "create_db_engine",
    "get_engine",
    "is_postgres",
    "is_sqlite",
    "session_scope",
    "set_engine",
]

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
    connection.exec_driver_sql("BEGIN")


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
    """The unit of work: services never commit, the caller's scope does (or rolls back)."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
