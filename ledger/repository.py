"""Every query the ledger runs. Inserts use Core statements over many rows at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, null, select
from sqlmodel import Session, col

from ledger.models import Account, JournalEntry, Posting

__all__ = ["LedgerRepository"]

_CHUNK = 500


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # accounts -----------------------------------------------------------------
    def accounts(self, partner_id: str, currency: str | None = None) -> list[Account]:
        query = select(Account).where(col(Account.partner_id) == partner_id)
        if currency is not None:
            query = query.where(col(Account.currency) == currency)
        return list(self.session.scalars(query.order_by(col(Account.code), col(Account.currency))))

    def account(self, partner_id: str, code: str, currency: str) -> Account | None:
        query = select(Account).where(
            col(Account.partner_id) == partner_id,
            col(Account.code) == code,
            col(Account.currency) == currency,
        )
        return self.session.scalars(query).first()

    def add_account(self, account: Account) -> Account:
        self.session.add(account)
        self.session.flush()
        return account

    # entries ------------------------------------------------------------------
    def entries_by_key(self, partner_id: str, keys: Iterable[str]) -> dict[str, JournalEntry]:
        found: dict[str, JournalEntry] = {}
        key_list = list(keys)
        for start in range(0, len(key_list), _CHUNK):
            chunk = key_list[start : start + _CHUNK]
            query = select(JournalEntry).where(
                col(JournalEntry.partner_id) == partner_id,
                col(JournalEntry.idempotency_key).in_(chunk),
            )
            found.update((e.idempotency_key, e) for e in self.session.scalars(query))
        return found

    def entry(self, partner_id: str, entry_id: uuid.UUID) -> JournalEntry | None:
        entry = self.session.get(JournalEntry, entry_id)
        return entry if entry is not None and entry.partner_id == partner_id else None

    def reversal_of(self, entry_id: uuid.UUID) -> JournalEntry | None:
        query = select(JournalEntry).where(col(JournalEntry.reverses_entry_id) == entry_id)
        return self.session.scalars(query).first()

    def postings_of(self, entry_ids: Sequence[uuid.UUID]) -> list[tuple[Posting, Account]]:
        rows: list[tuple[Posting, Account]] = []
        for start in range(0, len(entry_ids), _CHUNK):
            query = (
                select(Posting, Account)
                .join(Account, col(Account.id) == col(Posting.account_id))
                .where(col(Posting.entry_id).in_(entry_ids[start : start + _CHUNK]))
                .order_by(col(Posting.id))
            )
            rows.extend((p, a) for p, a in self.session.execute(query).tuples())
        return rows

    def recent_entries(
        self, partner_id: str, limit: int, source_type: str | None = None
    ) -> list[JournalEntry]:
        query = select(JournalEntry).where(col(JournalEntry.partner_id) == partner_id)
        if source_type:
            query = query.where(col(JournalEntry.source_type) == source_type)
        order = (col(JournalEntry.effective_at).desc(), col(JournalEntry.id).desc())
        return list(self.session.scalars(query.order_by(*order).limit(limit)))

    def insert_sealed(self, postings: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
        """Postings first, entries last: each entry row seals its postings (see models)."""
        if postings:
            self.session.execute(insert(Posting), postings)
        if entries:
            self.session.execute(insert(JournalEntry), entries)

    # balances -----------------------------------------------------------------
    def account_sum(
        self,
        account_id: int,
        as_of: datetime | None,
        client_id: str | None = None,
        usage_type: str | None = None,
    ) -> int:
        query = select(func.coalesce(func.sum(col(Posting.amount)), 0)).where(
            col(Posting.account_id) == account_id
        )
        if as_of is not None:
            query = query.where(col(Posting.effective_at) <= as_of)
        if client_id is not None:
            query = query.where(col(Posting.client_id) == client_id)
        if usage_type is not None:
            query = query.where(col(Posting.usage_type) == usage_type)
        return int(self.session.scalar(query) or 0)

    def sums_by_account(self, partner_id: str, as_of: datetime | None) -> dict[int, int]:
        query = select(col(Posting.account_id), func.sum(col(Posting.amount))).where(
            col(Posting.partner_id) == partner_id
        )
        if as_of is not None:
            query = query.where(col(Posting.effective_at) <= as_of)
        query = query.group_by(col(Posting.account_id))
        return {int(a): int(s) for a, s in self.session.execute(query).tuples()}

    def movements(
        self,
        partner_id: str,
        start: datetime | None,
        end: datetime | None,
        by_client: bool,
        by_usage_type: bool,
    ) -> list[tuple[int, str | None, str | None, int, int]]:
        """(account id, client, usage type, debits, credits) over [start, end)."""
        client_col = Posting.client_id if by_client else None
        usage_col = Posting.usage_type if by_usage_type else None
        amount = col(Posting.amount)
        debit = func.sum(case((amount > 0, amount), else_=0))
        credit = func.sum(case((amount < 0, -amount), else_=0))
        columns: list[Any] = [
            col(Posting.account_id),
            client_col if client_col is not None else null(),
            usage_col if usage_col is not None else null(),
        ]
        query = select(*columns, debit, credit).where(col(Posting.partner_id) == partner_id)
        if start is not None:
            query = query.where(col(Posting.effective_at) >= start)
        if end is not None:
            query = query.where(col(Posting.effective_at) < end)
        group: list[Any] = [Posting.account_id]
        if client_col is not None:
            group.append(client_col)
        if usage_col is not None:
            group.append(usage_col)
        rows = self.session.execute(query.group_by(*group)).tuples()
        return [(int(a), c, u, int(d), int(cr)) for a, c, u, d, cr in rows]
