"""Server-side sign-in sessions: start one, resolve a cookie's token to its user, end it.

The cookie carries a random 256-bit token; the database keeps only its SHA-256, so a copy of
the table cannot be replayed as cookies. A session ends when it expires, when the user signs
out (`revoked_at`), or when the user is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from api.dashboard.models import DashboardSession, DashboardUser
from api.dashboard.users import get_user
from config.db_types import utcnow

__all__ = ["end_session", "session_user", "start_session"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user: DashboardUser, lifetime: timedelta, now: datetime | None = None
) -> str:
    """A new session for `user`; returns the token for the cookie. The user's sessions that
    ended more than a day ago are removed on the way."""
    moment = now or utcnow()
    session.execute(
        delete(DashboardSession).where(
            col(DashboardSession.user_id) == user.user_id,
            col(DashboardSession.expires_at) < moment - timedelta(days=1),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=_hash(token),
            user_id=user.user_id,
            created_at=moment,
            expires_at=moment + lifetime,
        )
    )
    session.flush()
    return token


def session_user(session: Session, token: str, now: datetime | None = None) -> DashboardUser | None:
    """The enabled user of a live session, or None."""
    row = session.get(DashboardSession, _hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return get_user(session, row.user_id)


def end_session(session: Session, token: str, now: datetime | None = None) -> None:
    session.execute(
        update(DashboardSession)
        .where(
            col(DashboardSession.token_hash) == _hash(token),
            col(DashboardSession.revoked_at).is_(None),
        )
        .values(revoked_at=now or utcnow())
    )
