"""`DatabaseTokenSource`: a connection's access token, refreshed before it expires, with the
rotated refresh token saved before the new access token is handed out.

Why the care: Xero refresh tokens are single-use and QuickBooks' may change on any refresh, so
two workers refreshing the same connection at once would have the second spend a refresh
token the first already spent: `invalid_grant`, and the connection is lost until the partner
connects again. Hence one refresher at a time per connection:
- in one process, an `asyncio.Lock` per (event loop, connection);
- across processes, the connection row's lock (`SELECT ... FOR UPDATE` on PostgreSQL, the
  database write lock on SQLite), held while the token endpoint is called;
and after taking the lock the row is read again: when `token_version` moved (someone else
refreshed while we waited) their token is used and our stale refresh token is never sent.
The new tokens are committed before the access token is returned, so a crash right after can
lose at most an access token, never the only valid refresh token.

Database work runs in a worker thread (`asyncio.to_thread`) so waiting for a lock held by
another process never blocks this process's event loop.

`invalid_grant` marks the connection `needs_reauth` (with `last_error`), calls
`on_needs_reauth(connection_id, reason)` once (sync/notices.py e-mails the partner), and
raises `AuthExpiredError`; from then on this source raises at once without touching the
network, until the partner connects again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from config.db import read_scope, session_factory
from config.db_types import utcnow
from connectors.base import AuthExpiredError, RetryableError

from .crypto import TokenCipher, cipher_from_settings
from .models import Connection, ConnectionStatus
from .providers import InvalidGrantError, OAuthProvider, oauth_provider
from .repository import get_connection, lock_connection

__all__ = ["REFRESH_MARGIN", "DatabaseTokenSource", "ReauthNotifier", "log_needs_reauth"]

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
"""An access token expiring sooner than this is refreshed before use."""

ReauthNotifier = Callable[[str, str], None]

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _local_lock(connection_id: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(connection_id, asyncio.Lock())


def log_needs_reauth(connection_id: str, reason: str) -> None:
    """The default notifier: a warning in the log (the status shows in `connections list`)."""
    log.warning("connection %s needs re-authorisation: %s", connection_id, reason)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    access_token: str
    expires_at: datetime | None
    version: int


class DatabaseTokenSource:
    """`connectors.http.TokenSource` backed by the `connector_connection` row."""

    def __init__(
        self,
        engine: Engine,
        connection_id: str,
        *,
        provider: OAuthProvider | None = None,
        cipher: TokenCipher | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_needs_reauth: ReauthNotifier | None = None,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self._engine = engine
        self.connection_id = connection_id
        self._provider = provider
        self._cipher = cipher or cipher_from_settings()
        self._transport = transport
        self._notify = on_needs_reauth or log_needs_reauth
        self._margin = margin
        self._cached: _Snapshot | None = None

    # -- TokenSource ------------------------------------------------------------------------
    async def access_token(self) -> str:
        cached = self._cached
        if cached is not None and self._fresh(cached.expires_at):
            return cached.access_token
        snapshot = await asyncio.to_thread(self._read)
        if self._fresh(snapshot.expires_at):
            self._cached = snapshot
            return snapshot.access_token
        return await self._refresh(seen_version=snapshot.version, rejected=None)

    async def refresh_after_rejection(self, rejected: str) -> str:
        """The remote refused `rejected` (401): refresh, unless the stored token is already a
        different one (another worker refreshed meanwhile), which is then returned."""
        self._cached = None
        snapshot = await asyncio.to_thread(self._read)
        if snapshot.access_token != rejected and self._fresh(snapshot.expires_at):
            self._cached = snapshot
            return snapshot.access_token
        return await self._refresh(seen_version=snapshot.version, rejected=rejected)

    async def force_refresh(self) -> str:
        """Refresh now whatever the expiry (`connections refresh`)."""
        snapshot = await asyncio.to_thread(self._read)
        return await self._refresh(seen_version=snapshot.version, rejected=snapshot.access_token)

    # -- internals -------------------------------------------------------------------------
    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at - self._margin > utcnow()

    def _usable(self, row: Connection | None) -> Connection:
        """The row if it can be used; else AuthExpiredError (read from the database only: a
        connection that needs re-authorisation costs no network call, and works again as
        soon as the partner reconnects)."""
        if row is None:
            raise AuthExpiredError(f"connection {self.connection_id} does not exist", status=None)
        if row.status != ConnectionStatus.ACTIVE or not row.refresh_token_enc:
            self._cached = None
            detail = f": {row.last_error}" if row.last_error else ""
            raise AuthExpiredError(
                f"{row.provider.value} connection {row.name!r} of partner {row.partner_id} is "
                f"{row.status.value}{detail}; connect it with `python main.py connections "
                f"connect {row.provider.value} --partner {row.partner_id} --name {row.name}`",
                status=None,
            )
        return row

    def _snapshot(self, row: Connection) -> _Snapshot:
        access = self._cipher.decrypt(row.access_token_enc) if row.access_token_enc else ""
        expires = row.access_expires_at if access else None
        return _Snapshot(access, expires, row.token_version)

    def _read(self) -> _Snapshot:
        with read_scope(self._engine) as session:
            return self._snapshot(self._usable(get_connection(session, self.connection_id)))

    def _oauth(self, row: Connection) -> OAuthProvider:
        if self._provider is None:
            self._provider = oauth_provider(row.provider.value)
        return self._provider

    async def _refresh(self, *, seen_version: int, rejected: str | None) -> str:
        async with _local_lock(self.connection_id):
            # Not a scope: the session crosses awaits (the remote refresh), and its commit
            # and close run in worker threads.
            session = session_factory(self._engine)()
            try:
                return await self._refresh_locked(session, seen_version, rejected)
            finally:
                await asyncio.to_thread(session.close)

    async def _refresh_locked(
        self, session: Session, seen_version: int, rejected: str | None
    ) -> str:
        row = self._usable(await asyncio.to_thread(lock_connection, session, self.connection_id))
        current = self._snapshot(row)
        if rejected is None:
            done = row.token_version != seen_version or self._fresh(current.expires_at)
        else:
            done = current.access_token != rejected and self._fresh(current.expires_at)
        if done:  # someone refreshed while we waited: use theirs, never spend a stale token
            await asyncio.to_thread(session.rollback)  # releases the lock; nothing to write
            self._cached = current
            return current.access_token
        assert row.refresh_token_enc is not None  # _usable checked
        refresh_token = self._cipher.decrypt(row.refresh_token_enc)
        try:
            grant = await self._oauth(row).refresh(refresh_token, transport=self._transport)
        except InvalidGrantError as exc:
            await asyncio.to_thread(self._mark_needs_reauth, session, row, exc.message)
            raise
        except BaseException:
            await asyncio.to_thread(session.rollback)
            raise
        version = row.token_version + 1
        values: dict[str, object] = {
            "access_token_enc": self._cipher.encrypt(grant.access_token),
            "refresh_token_enc": self._cipher.encrypt(grant.refresh_token),
            "access_expires_at": grant.access_expires_at,
            "token_version": version,
            "last_error": None,
            "updated_at": utcnow(),
        }
        if grant.refresh_expires_at is not None:
            values["refresh_expires_at"] = grant.refresh_expires_at
        await asyncio.to_thread(self._write, session, row.token_version, values)
        log.info("connection %s: tokens refreshed (version %s)", row.id, version)
        self._cached = _Snapshot(grant.access_token, grant.access_expires_at, version)
        return grant.access_token

    def _write(self, session: Session, seen_version: int, values: dict[str, object]) -> None:
        """Save and commit (before anyone uses the new token). A statement, not a flush: a
        process that never imported the partner model can still save (the ORM would need it
        to resolve the partner foreign key); the version condition is a second guard."""
        statement = (
            update(Connection)
            .where(col(Connection.id) == self.connection_id)
            .where(col(Connection.token_version) == seen_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = session.execute(statement)
        if getattr(result, "rowcount", 1) != 1:
            session.rollback()
            raise RetryableError(f"connection {self.connection_id} changed during a refresh")
        session.commit()

    def _mark_needs_reauth(self, session: Session, row: Connection, reason: str) -> None:
        self._write(
            session,
            row.token_version,
            {
                "status": ConnectionStatus.NEEDS_REAUTH,
                "last_error": reason,
                "token_version": row.token_version + 1,
                "updated_at": utcnow(),
            },
        )
        self._cached = None
        try:
            self._notify(row.id, reason)
        except Exception:  # a failed notice must not hide the auth failure
            log.exception(
                "connection %s: telling the partner about re-authorisation failed", row.id
            )
