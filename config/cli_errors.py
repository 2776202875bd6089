"""What the command line says when the database or the secret key is the problem: one short
line that names the database (never its password), the reason and what to do, instead of a
traceback full of SQL. `rebill --debug ...` shows the traceback as well."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from config.secret_key import SecretKeyError
from config.settings import get_settings

__all__ = ["describe_failure", "safe_database_url"]


def safe_database_url(url: str | None = None) -> str:
    """The database URL for people: the password masked."""
    raw = url or get_settings().resolved_database_url
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return "(an unparseable REBILL_DATABASE_URL)"


def _driver_reason(exc: DBAPIError) -> str:
    """The driver's own message, first line only (the SQL and its parameters are left out)."""
    text = str(exc.orig).strip() if exc.orig is not None else ""
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _database_failure(exc: SQLAlchemyError) -> str:
    where = safe_database_url()
    if not isinstance(exc, DBAPIError):
        return f"database error on {where}: {type(exc).__name__}"
    reason = _driver_reason(exc)
    lowered = reason.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database {where} is not set up: run `rebill init` ({reason})"
    if "database is locked" in lowered or "lock timeout" in lowered:
        return (
            f"the database {where} is locked by another process and stayed locked: try again, "
            f"or stop the process that holds it ({reason})"
        )
    if any(
        words in lowered
        for words in ("readonly database", "unable to open", "disk i/o", "disk is full")
    ):
        return (
            f"the database file of {where} cannot be written: check that it and its directory "
            f"are writable by this user and the disk has room ({reason})"
        )
    if isinstance(exc, OperationalError):
        return f"the database {where} is not reachable or refused the work: {reason}"
    return f"the database {where} refused the work: {reason}"


def describe_failure(exc: BaseException) -> str | None:
    """The short message for a failure a user can act on, or None (a bug: show it whole)."""
    if isinstance(exc, SecretKeyError):
        return f"secret key: {exc}"
    if isinstance(exc, SQLAlchemyError):
        return _database_failure(exc)
    return None
