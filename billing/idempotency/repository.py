"""Every query on `api_idempotency_key`. Each takes the partner first (a key is scoped to one
partner), and each write that follows a read is conditional on what was read (the `claim`
token, or the answer still missing), so two requests racing for one key cannot both win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from billing.idempotency.models import IdempotencyKey

__all__ = ["IdempotencyRepository"]


def _rows(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert_if_absent(self, row: IdempotencyKey) -> bool:
        """`INSERT ... ON CONFLICT DO NOTHING` on (partner_id, key): True when this row went in.
        On PostgreSQL a concurrent uncommitted insert of the same key makes this wait for that
        transaction (the guard keeps it to one statement), then do nothing."""
        values = row.model_dump()
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(IdempotencyKey)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(col(IdempotencyKey.claim))
        )
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
        return self.session.execute(statement).scalar_one_or_none() is not None

    def find(self, partner_id: str, key: str) -> IdempotencyKey | None:
        query = select(IdempotencyKey).where(
            col(IdempotencyKey.partner_id) == partner_id, col(IdempotencyKey.key) == key
        )
        return self.session.execute(query).scalar_one_or_none()

    def take_over(self, seen: IdempotencyKey, row: IdempotencyKey) -> bool:
        """Start the key anew for `row`'s request, if it is still as `seen` (same holder, and
        still without an answer if it had none): of two requests taking over one key, one wins,
        and a request that finished meanwhile keeps its answer."""
        where = [
            col(IdempotencyKey.partner_id) == seen.partner_id,
            col(IdempotencyKey.key) == seen.key,
            col(IdempotencyKey.claim) == seen.claim,
        ]
        if seen.status_code is None:
            where.append(col(IdempotencyKey.status_code).is_(None))
        statement = (
            update(IdempotencyKey)
            .where(*where)
            .values(
                method=row.method,
                path=row.path,
                fingerprint=row.fingerprint,
                claim=row.claim,
                created_at=row.created_at,
                status_code=None,
                response_body=None,
                is_error=False,
            )
        )
        return _rows(self.session.execute(statement)) == 1

    def store_answer(
        self, partner_id: str, key: str, claim: str, status_code: int, body: str, *, is_error: bool
    ) -> bool:
        """The answer of the request holding the key under `claim`; False when it no longer
        holds it (taken over) or it has an answer already."""
        statement = (
            update(IdempotencyKey)
            .where(
                col(IdempotencyKey.partner_id) == partner_id,
                col(IdempotencyKey.key) == key,
                col(IdempotencyKey.claim) == claim,
                col(IdempotencyKey.status_code).is_(None),
            )
            .values(status_code=status_code, response_body=body, is_error=is_error)
        )
        return _rows(self.session.execute(statement)) == 1

    def release(self, partner_id: str, key: str, claim: str) -> None:
        """Forget a key whose request failed without an answer to keep (held under `claim`)."""
        self.session.execute(
            delete(IdempotencyKey).where(
                col(IdempotencyKey.partner_id) == partner_id,
                col(IdempotencyKey.key) == key,
                col(IdempotencyKey.claim) == claim,
                col(IdempotencyKey.status_code).is_(None),
            )
        )

    def delete_created_before(self, moment: datetime) -> int:
        statement = delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < moment)
        return _rows(self.session.execute(statement))

    def count(self, partner_id: str) -> int:
        """How many keys the partner holds (tests and the prune job's report)."""
        query = select(func.count()).where(col(IdempotencyKey.partner_id) == partner_id)
        return int(self.session.execute(query).scalar_one())
