"""How a queue's worker gets its sessions: each step (claim, record) runs in a short
transaction of its own, so the worker takes a source of sessions rather than one session.
An engine or a session factory (tests pass one that counts or breaks sessions) both do."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

__all__ = ["SessionSource", "sessions_of"]

SessionSource = Engine | Callable[[], Session]


def sessions_of(source: SessionSource) -> Callable[[], Session]:
    """A factory of sessions that keep loaded objects usable after commit."""
    if isinstance(source, Engine):
        return lambda: Session(source, expire_on_commit=False)
    return source
