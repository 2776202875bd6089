"""Sign-in throttling shared by every API process: at most `attempts` failed sign-ins per
e-mail and per client address within a sliding `window`, counted in the database.

Counting in each process's memory (as before) let N processes allow N times the attempts and
forgot them at every restart. Two processes checking at the same moment may both let one more
attempt through: the limit is exceeded by at most the number of processes, never multiplied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from api.dashboard.models import SignInFailure
from config.db_types import utcnow

__all__ = ["SignInThrottle"]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class SignInThrottle:
    def __init__(
        self,
        attempts: int,
        window_seconds: float,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.attempts = attempts
        self.window = timedelta(seconds=window_seconds)
        self.clock = clock

    def blocked(self, session: Session, *keys: str) -> bool:
        """Whether any key has used up its failures within the window."""
        since = self.clock() - self.window
        worst = session.execute(
            select(func.count())
            .select_from(SignInFailure)
            .where(
                col(SignInFailure.key_hash).in_([_hash(k) for k in keys]),
                col(SignInFailure.failed_at) > since,
            )
            .group_by(col(SignInFailure.key_hash))
            .order_by(func.count().desc())
            .limit(1)
        ).scalar()
        return (worst or 0) >= self.attempts

    def failed(self, session: Session, *keys: str) -> None:
        """Count a failure against each key; failures older than the window are dropped."""
        now = self.clock()
        session.execute(
            delete(SignInFailure).where(col(SignInFailure.failed_at) <= now - self.window)
        )
        session.add_all(SignInFailure(key_hash=_hash(k), failed_at=now) for k in keys)
        session.flush()

    def succeeded(self, session: Session, *keys: str) -> None:
        """Forget the failures of these keys (the e-mail that just signed in)."""
        session.execute(
            delete(SignInFailure).where(col(SignInFailure.key_hash).in_([_hash(k) for k in keys]))
        )
