"""Every query the ledger runs. Inserts use Core statements over many rows at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, case, func, null, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from config.db_types import utcnow
from config.key_arrays import probed_queries
from ledger.models import Account, JournalEntry, Posting
from ledger.schemas import EntrySpec

__all__ = ["LedgerRepository"]

_CHUNK = 500
_ROWS_PER_STATEMENT = 100  # x 10 columns: far below SQLite's and PostgreSQL's parameter limits
_POSTING_COLUMNS = (
    "entry_id",
    "partner_id",
    "account_id",
    "amount",
    "currency",
    "client_id",
    "usage_type",
    "effective_at",
    "service_period",
)
_ENTRY_COLUMNS = (
    "id",
    "partner_id",
    "idempotency_key",
    "body_hash",
    "effective_at",
    "recorded_at",
    "memo",
    "source_type",
    "source_id",
    "reverses_entry_id",
)


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_sqlite_writer(self) -> None:
        """On SQLite, take the write lock before reading keys and allocating ids.

        Otherwise a transaction that read and then writes fails at once (SQLITE_BUSY_SNAPSHOT)
        when another process committed in between; this way it waits its turn. No row changes.
        """
        if not self.has_concurrent_writers:
            self.session.execute(text("UPDATE ledger_account SET id = id WHERE 0"))

    @property
    def has_concurrent_writers(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

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
    def keys_posted(self, partner_id: str, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Idempotency key -> (entry id, body hash) for the keys already on the books.

        PostgreSQL looks each key up in the unique index, one array of 10,000 keys per
        statement (`config.key_arrays.probed_queries`: an IN list, or a plain join on the
        array, can get a plan that reads the partner's whole ledger); SQLite keeps IN lists.
        """
        found: dict[str, tuple[int, str]] = {}
        columns = (
            col(JournalEntry.idempotency_key),
            col(JournalEntry.id),
            col(JournalEntry.body_hash),
        )
        query = select(*columns).where(col(JournalEntry.partner_id) == partner_id)
        column = col(JournalEntry.idempotency_key)
        for chunked in probed_queries(query, column, keys, postgres=self.has_concurrent_writers):
            rows = self.session.execute(chunked)
            found.update((key, (int(id_), body)) for key, id_, body in rows)
        return found

    def entry(self, partner_id: str, entry_id: int) -> JournalEntry | None:
        entry = self.session.get(JournalEntry, entry_id)
        return entry if entry is not None and entry.partner_id == partner_id else None

    def reversal_of(self, entry_id: int) -> JournalEntry | None:
        query = select(JournalEntry).where(col(JournalEntry.reverses_entry_id) == entry_id)
        return self.session.scalars(query).first()

    def postings_of(self, entry_ids: Sequence[int]) -> list[tuple[Posting, Account]]:
        rows: list[tuple[Posting, Account]] = []
        for start in range(0, len(entry_ids), _CHUNK):
            query = (
                select(Posting, Account)
                .join(Account, col(Account.id) == col(Posting.account_id))
                .where(col(Posting.entry_id).in_(entry_ids[start : start + _CHUNK]))
                .order_by(col(Posting.id))
            )
            rows.extend((p, a) for p, a in self.session.execute(query))
        return rows

    def recent_entries(
        self, partner_id: str, limit: int, source_type: str | None = None
    ) -> list[JournalEntry]:
        query = select(JournalEntry).where(col(JournalEntry.partner_id) == partner_id)
        if source_type:
            query = query.where(col(JournalEntry.source_type) == source_type)
        order = (col(JournalEntry.effective_at).desc(), col(JournalEntry.id).desc())
        return list(self.session.scalars(query.order_by(*order).limit(limit)))

    def allocate_entry_ids(self, count: int) -> list[int]:
        """Entry ids are needed before the entry rows exist (postings are written first)."""
        if count == 0:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            query = text(
                "SELECT nextval(pg_get_serial_sequence('ledger_entry', 'id')) "
                "FROM generate_series(1, :n)"
            )
            return [int(v) for v in self.session.scalars(query, {"n": count})]
        # SQLite: one writer at a time; a concurrent writer fails its commit rather than sharing ids.
        top = self.session.scalar(select(func.coalesce(func.max(col(JournalEntry.id)), 0)))
        return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))

    def insert_sealed(
        self,
        partner_id: str,
        specs: Sequence[EntrySpec],
        ids: dict[str, int],
        hashes: dict[str, str],
        accounts: dict[tuple[str, str], Account],
    ) -> None:
        """Postings first, entries last: each entry row seals its postings (see models).

        Rows go to the driver as tuples in one executemany per table. The timestamps are the
        only columns needing conversion; each distinct one is bound once with the column
        type's own processor, so stored values are exactly what the ORM would write.
        """
        connection = self.session.connection()
        dialect = connection.dialect
        entry_table: Table = JournalEntry.__table__  # type: ignore[attr-defined]
        processor = entry_table.c.effective_at.type._cached_bind_processor(dialect)
        posting_table: Table = Posting.__table__  # type: ignore[attr-defined]
        day_processor = posting_table.c.service_period.type._cached_bind_processor(dialect)
        bound: dict[datetime, Any] = {}
        days: dict[date, Any] = {}

        def bind_day(day: date | None) -> Any:
            if day is None:
                return None
            value = days.get(day)
            if value is None:
                value = days[day] = day_processor(day) if day_processor else day
            return value

        def bind(moment: datetime) -> Any:
            value = bound.get(moment)
            if value is None:
                value = bound[moment] = processor(moment) if processor else moment
            return value

        recorded_at = bind(utcnow())
        postings: list[tuple[Any, ...]] = []
        entries: list[tuple[Any, ...]] = []
        for spec in specs:
            key = spec.idempotency_key
            entry_id = ids[key]
            when = bind(spec.effective_at)
            for leg in spec.postings:
                account = accounts[(leg.account, leg.currency)]
                postings.append(
                    (
                        entry_id,
                        partner_id,
                        account.id,
                        leg.amount,
                        leg.currency,
                        account.client_id if leg.client_id is None else leg.client_id,
                        account.usage_type if leg.usage_type is None else leg.usage_type,
                        when,
                        bind_day(leg.service_period),
                    )
                )
            entries.append(
                (
                    entry_id,
                    partner_id,
                    key,
                    hashes[key],
                    when,
                    recorded_at,
                    spec.memo,
                    spec.source_type,
                    spec.source_id,
                    spec.reverses_entry_id,
                )
            )
        for table, names, rows in (
            ("ledger_posting", _POSTING_COLUMNS, postings),
            ("ledger_entry", _ENTRY_COLUMNS, entries),
        ):
            _insert_rows(connection, table, names, rows)

    # balances -----------------------------------------------------------------
    def account_sum(
        self,
        partner_id: str,
        account_id: int,
        as_of: datetime | None,
        client_id: str | None = None,
        usage_type: str | None = None,
    ) -> int:
        """The account's balance. The partner leads the condition because it leads the
        balance index (partner, account, time, amount), which then answers the sum alone;
        on the account id only, the database reads every posting of every partner."""
        query = select(func.coalesce(func.sum(col(Posting.amount)), 0)).where(
            col(Posting.partner_id) == partner_id, col(Posting.account_id) == account_id
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
        return {int(a): int(s) for a, s in self.session.execute(query)}

    def movements(
        self,
        partner_id: str,
        start: datetime | None,
        end: datetime | None,
        *,
        by_client: bool,
        by_usage_type: bool,
        by_period: bool = False,
        periods: tuple[date, date] | None = None,
        client_id: str | None = None,
    ) -> list[tuple[int, str | None, str | None, date | None, int, int]]:
        """(account id, client, usage type, service period, debits, credits) over effective
        times [start, end) and, with `periods`, service periods from its first to its last
        day (inclusive; untagged postings are then left out); with `client_id`, that client's
        postings only."""
        client_col = Posting.client_id if by_client else None
        usage_col = Posting.usage_type if by_usage_type else None
        period_col = Posting.service_period if by_period else None
        amount = col(Posting.amount)
        debit = func.sum(case((amount > 0, amount), else_=0))
        credit = func.sum(case((amount < 0, -amount), else_=0))
        dimensions = (client_col, usage_col, period_col)
        columns: list[Any] = [
            col(Posting.account_id),
            *(null() if dim is None else dim for dim in dimensions),
        ]
        query = select(*columns, debit, credit).where(col(Posting.partner_id) == partner_id)
        if start is not None:
            query = query.where(col(Posting.effective_at) >= start)
        if end is not None:
            query = query.where(col(Posting.effective_at) < end)
        if client_id is not None:
            query = query.where(col(Posting.client_id) == client_id)
        if periods is not None:
            query = query.where(
                col(Posting.service_period) >= periods[0],
                col(Posting.service_period) <= periods[1],
            )
        group: list[Any] = [Posting.account_id, *(dim for dim in dimensions if dim is not None)]
        rows = self.session.execute(query.group_by(*group))
        return [(int(a), c, u, p, int(d), int(cr)) for a, c, u, p, d, cr in rows]


def _insert_rows(
    connection: Connection, table: str, names: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: COPY. SQLite: multi-row INSERTs (`_ROWS_PER_STATEMENT` rows each), which
    beat executemany by a fifth to a third there."""
    if connection.dialect.name == "postgresql":
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
        try:
            with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except connection.dialect.dbapi.IntegrityError as exc:  # type: ignore[union-attr]
            # The driver's own error, raised past SQLAlchemy: translate it so callers (the
            # savepoint retry on a racing idempotency key) see the usual IntegrityError.
            raise IntegrityError(statement, None, exc) from exc
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    one_row = f"({', '.join(marker for _ in names)})"
    head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
    full = head + ", ".join([one_row] * _ROWS_PER_STATEMENT)
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        statement = (
            full if len(chunk) == _ROWS_PER_STATEMENT else head + ", ".join([one_row] * len(chunk))
        )
        connection.exec_driver_sql(statement, tuple(value for row in chunk for value in row))
