"""Telling a storage fault (the database cannot be reached, read or written right now) from a
bug, and saying what it is in words an operator can act on.

The API answers a storage fault with 503 and this reason instead of crashing or a bare 500,
and the CLI can print it instead of a traceback. SQLite errors are classified by their result
code (`sqlite3.Error.sqlite_errorname`), PostgreSQL errors by SQLSTATE class (a connection
that never opened has none). Anything else is not a storage fault and stays an error.
"""

from __future__ import annotations

from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

__all__ = ["discard_stale_sqlite_connection", "storage_fault"]

# SQLite result codes (primary, before any `_EXTENDED` suffix) -> what the operator should know.
_SQLITE: dict[str, str] = {
    "SQLITE_READONLY": "the database file is read-only: check its permissions, its directory's "
    "and the disk's",
    "SQLITE_CANTOPEN": "the database file cannot be opened: check that it and its directory "
    "exist and are writable",
    "SQLITE_IOERR": "the disk failed to read or write the database file",
    "SQLITE_FULL": "the disk holding the database is full",
    "SQLITE_CORRUPT": "the database file is damaged, or was changed while the server ran",
    "SQLITE_NOTADB": "the database file is damaged, or was changed while the server ran",
    "SQLITE_BUSY": "the database is locked by another process; try again",
    "SQLITE_LOCKED": "the database is locked by another process; try again",
    "SQLITE_PERM": "the database file may not be accessed: check its permissions",
    "SQLITE_AUTH": "the database file may not be accessed: check its permissions",
}
# A connection that saw these is not reused: opened read-only, or on a file since replaced.
_SQLITE_STALE = frozenset(
    {
        "SQLITE_READONLY",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_CORRUPT",
        "SQLITE_NOTADB",
        "SQLITE_CANTOPEN",
        "SQLITE_PERM",
    }
)

# PostgreSQL SQLSTATE classes that say the server, not the request, is the problem.
_POSTGRES: dict[str, str] = {
    "08": "the database server cannot be reached",
    "53": "the database server is out of resources (disk, memory or connections)",
    "57": "the database server is shutting down, starting or refused the session",
    "58": "the database server had a system or disk error",
    "40": "the request conflicted with another one in the database; try again",
}


def _sqlite_code(original: BaseException | None) -> str | None:
    name = getattr(original, "sqlite_errorname", None)
    if not isinstance(name, str):
        return None
    for code in _SQLITE:
        if name == code or name.startswith(code + "_"):
            return code
    return None


def storage_fault(exc: BaseException) -> str | None:
    """Why the database cannot serve this request now, or None when `exc` is not a storage
    fault (a constraint violation, a bad query: those remain errors)."""
    if isinstance(exc, PoolTimeoutError):
        return "every database connection is in use; try again"
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig
    code = _sqlite_code(original)
    if code is not None:
        return _SQLITE[code]
    module = type(original).__module__
    if module.startswith("sqlite3"):
        message = str(original)
        if message.startswith("no such table"):
            return "the database is not initialised: run `init`"
        if exc.connection_invalidated:
            return "the database connection was lost"
        return None
    if module.startswith("psycopg"):
        state = getattr(original, "sqlstate", None)
        if state is None:  # no answer from a server at all: refused, timed out, reset
            return _POSTGRES["08"] if exc.connection_invalidated or _is_connection(exc) else None
        return _POSTGRES.get(str(state)[:2])
    return "the database connection was lost" if exc.connection_invalidated else None


def _is_connection(exc: DBAPIError) -> bool:
    import psycopg

    return isinstance(exc.orig, psycopg.OperationalError | psycopg.InterfaceError)


def discard_stale_sqlite_connection(context: ExceptionContext) -> None:
    """SQLAlchemy `handle_error` hook for SQLite: a file-level fault invalidates the connection
    (and the pool), so once the fault is fixed fresh connections open the file again instead
    of reusing one that opened it read-only or on a file since replaced."""
    code = _sqlite_code(context.original_exception)
    if code in _SQLITE_STALE:
        context.is_disconnect = True
