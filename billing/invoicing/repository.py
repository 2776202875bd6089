"""Every query invoicing runs. Every method takes the partner id first: there is no way to read
another tenant's invoices by accident. Bulk paths (a cycle of 10,000 clients) write with Core
statements over many rows at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from billing.invoicing.bulk import insert_storage_rows, stage_rows
from billing.invoicing.line_repository import LineQueries
from billing.invoicing.models import (
    BillingEvent,
    ClientBillingSettings,
    CreditNote,
    Invoice,
    InvoiceStatus,
    InvoiceUsage,
    NumberSequence,
    SequenceKind,
)
from billing.invoicing.rows import (
    BilledUsage,
    ClientInfo,
    InvoiceFilter,
    LateEvent,
    LineFigure,
    UsageFigure,
    chunks,
)
from billing.invoicing.usage_queries import UsageQueries
from billing.tenants.models import Client
from config.key_arrays import keyed_queries

__all__ = [
    "BilledUsage",
    "ClientInfo",
    "InvoiceFilter",
    "InvoiceRepository",
    "LateEvent",
    "LineFigure",
    "UsageFigure",
]

_INSERT_CHUNK = 2000
_Row = TypeVar("_Row", bound=SQLModel)


class InvoiceRepository(LineQueries, UsageQueries):
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def claim_sqlite_writer(self) -> None:
        """On SQLite, take the write lock before reading what this transaction will write
        (see `LedgerRepository.claim_sqlite_writer`); PostgreSQL locks rows instead."""
        if self.dialect == "sqlite":
            self.session.execute(text("UPDATE billing_partner SET id = id WHERE 0"))

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    def client_infos(self, partner_id: str, client_id: str | None = None) -> list[ClientInfo]:
        query = select(
            col(Client.id),
            col(Client.timezone),
            col(Client.billing_anchor_day),
            col(Client.currency),
            col(Client.created_at),
        ).where(col(Client.partner_id) == partner_id)
        if client_id is not None:
            query = query.where(col(Client.id) == client_id)
        return [ClientInfo(*row) for row in self.session.execute(query.order_by(col(Client.id)))]

    def next_invoice_ids(self, count: int) -> list[int]:
        """Ids for rows about to be inserted (SQLite, holding the write lock)."""
        top = self.session.scalar(select(func.coalesce(func.max(col(Invoice.id)), 0)))
        return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))

    # invoices -------------------------------------------------------------------
    def invoice(self, partner_id: str, invoice_id: int, *, lock: bool = False) -> Invoice | None:
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id, col(Invoice.id) == invoice_id
        )
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def invoice_by_number(self, partner_id: str, number: str) -> Invoice | None:
        query = select(Invoice).where(
            col(Invoice.partner_id) == partner_id, col(Invoice.number) == number
        )
        return self.session.scalars(query).first()

    def invoices_by_id(
        self, partner_id: str, invoice_ids: Sequence[int], *, lock: bool = False
    ) -> list[Invoice]:
        found: list[Invoice] = []
        query = select(Invoice).where(col(Invoice.partner_id) == partner_id)
        if lock and self.postgres:
            query = query.with_for_update(of=Invoice)
        for chunked in keyed_queries(query, col(Invoice.id), invoice_ids, postgres=self.postgres):
            found.extend(self.session.scalars(chunked.order_by(col(Invoice.id))))
        return found

    def invoices(
        self,
        partner_id: str,
        where: InvoiceFilter,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[Invoice]:
        query = select(Invoice).where(col(Invoice.partner_id) == partner_id)
        if where.status is not None:
            query = query.where(col(Invoice.status) == where.status)
        if where.client_id is not None:
            query = query.where(col(Invoice.client_id) == where.client_id)
        if where.period_start is not None:
            query = query.where(col(Invoice.period_start) == where.period_start)
        if where.period_from is not None:
            query = query.where(col(Invoice.period_start) >= where.period_from)
        if where.period_to is not None:
            query = query.where(col(Invoice.period_start) <= where.period_to)
        if after is not None:
            query = query.where(col(Invoice.id) > after)
        query = query.order_by(col(Invoice.id))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def approve_drafts(
        self, partner_id: str, by: str, moment: datetime, client_id: str | None = None
    ) -> int:
        table: Any = Invoice.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.partner_id == partner_id, table.c.status == InvoiceStatus.DRAFT.value)
            .values(
                status=InvoiceStatus.APPROVED.value,
                approved_at=moment,
                approved_by=by,
                version=table.c.version + 1,
                updated_at=moment,
            )
        )
        if client_id is not None:
            statement = statement.where(table.c.client_id == client_id)
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        self.session.expire_all()
        return int(result.rowcount)  # type: ignore[attr-defined]

    def ids_with_status(self, partner_id: str, status: InvoiceStatus) -> list[int]:
        query = (
            select(col(Invoice.id))
            .where(col(Invoice.partner_id) == partner_id, col(Invoice.status) == status)
            .order_by(col(Invoice.id))
        )
        return [int(i or 0) for i in self.session.scalars(query)]

    def closed_periods(
        self, partner_id: str, client_ids: Sequence[str] | None
    ) -> dict[str, set[date]]:
        """Client -> the period starts it has any invoice for (voided ones included: a voided
        period is billed again only on purpose, never by closing a cycle)."""
        query = select(col(Invoice.client_id), col(Invoice.period_start)).where(
            col(Invoice.partner_id) == partner_id
        )
        found: dict[str, set[date]] = {}
        queries: Iterable[Any] = (
            [query]
            if client_ids is None
            else keyed_queries(query, col(Invoice.client_id), client_ids, postgres=self.postgres)
        )
        for chunked in queries:
            for client_id, start in self.session.execute(chunked):
                found.setdefault(client_id, set()).add(start)
        return found

    def insert_invoices(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, date], int]:
        """Insert drafts, skipping any (client, period) that already has a live invoice (a
        concurrent close won the race); returns (client, period start) -> id of those written."""
        table: Any = Invoice.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(
                index_elements=["partner_id", "client_id", "period_start"],
                index_where=text("status <> 'void'"),
            )
            .returning(table.c.id, table.c.client_id, table.c.period_start)
        )
        written: dict[tuple[str, date], int] = {}
        if self.dialect == "postgresql" and rows:
            # Staged by COPY, then one set-based insert: psycopg would otherwise parse a huge
            # multi-row statement per batch.
            names = list(rows[0])
            connection = self.session.connection()
            staged = stage_rows(connection, Invoice, names, [tuple(r.values()) for r in rows])
            columns = ", ".join(names)
            result = connection.exec_driver_sql(
                f"INSERT INTO invoice ({columns}) SELECT {columns} FROM {staged} "
                "ON CONFLICT (partner_id, client_id, period_start) WHERE status <> 'void' "
                "DO NOTHING RETURNING id, client_id, period_start"
            )
            return {(client_id, start): int(id_) for id_, client_id, start in result}
        for chunk in chunks(list(rows), _INSERT_CHUNK):
            for id_, client_id, start in self.session.execute(statement, list(chunk)):
                written[(client_id, start)] = int(id_)
        return written

    def _update_by_id(
        self, model: type[SQLModel], names: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> bool:
        """PostgreSQL: stage `(id, *names)` rows and update them in one statement; returns
        False on SQLite, where an executemany is as fast."""
        if self.dialect != "postgresql":
            return False
        if rows:
            table: Any = model.__table__  # type: ignore[attr-defined]
            connection = self.session.connection()
            staged = stage_rows(connection, model, ["id", *names], rows)
            assignments = ", ".join(f"{name} = s.{name}" for name in names)
            connection.exec_driver_sql(
                f"UPDATE {table.name} AS t SET {assignments} FROM {staged} AS s WHERE t.id = s.id"
            )
        return True

    def insert_bulk(
        self, model: type[SQLModel], names: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Many rows in storage form, by COPY or multi-row INSERTs (see `bulk`)."""
        insert_storage_rows(self.session.connection(), model, names, rows)

    def set_cleared(self, rows: Sequence[UsageFigure]) -> None:
        """Record what issuing cleared on each usage row: on PostgreSQL one `UPDATE ... FROM
        unnest(ids, cleared, cost cleared)` per 10,000 rows (three integer arrays, no staging
        table), elsewhere an executemany."""
        if self.postgres:
            for chunk in chunks(list(rows), 10_000):
                self.session.connection().exec_driver_sql(
                    "UPDATE invoice_usage AS t SET unbilled_cleared_minor = s.cleared, "
                    "cost_cleared_minor = s.cost_cleared "
                    "FROM unnest(%(ids)s::bigint[], %(cleared)s::bigint[], "
                    "%(cost_cleared)s::bigint[]) AS s(id, cleared, cost_cleared) "
                    "WHERE t.id = s.id",
                    {
                        "ids": [r.id for r in chunk],
                        "cleared": [r.unbilled_cleared_minor for r in chunk],
                        "cost_cleared": [r.cost_cleared_minor for r in chunk],
                    },
                )
            return
        table: Any = InvoiceUsage.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                unbilled_cleared_minor=bindparam("cleared"),
                cost_cleared_minor=bindparam("cost_cleared"),
            )
        )
        params = [
            {
                "row_id": r.id,
                "cleared": r.unbilled_cleared_minor,
                "cost_cleared": r.cost_cleared_minor,
            }
            for r in rows
        ]
        for chunk in chunks(params, _INSERT_CHUNK):
            self.session.connection().execute(statement, list(chunk))

    def mark_issued(self, rows: Sequence[dict[str, Any]]) -> None:
        """Freeze issued invoices: number, dates, entry and status in one executemany. Each
        dict has `row_id` and every column below."""
        table: Any = Invoice.__table__  # type: ignore[attr-defined]
        names = (
            "number",
            "status",
            "issued_at",
            "issue_date",
            "due_at",
            "net_terms_days",
            "ledger_entry_id",
            "version",
            "updated_at",
        )
        staged = [(row["row_id"], *(row[name] for name in names)) for row in rows]
        if self._update_by_id(Invoice, names, staged):
            return
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(f"v_{name}") for name in names})
        )
        params = [
            {"row_id": row["row_id"], **{f"v_{name}": row[name] for name in names}} for row in rows
        ]
        for chunk in chunks(params, _INSERT_CHUNK):
            self.session.connection().execute(statement, list(chunk))

    # numbering ----------------------------------------------------------------
    def allocate_numbers(self, partner_id: str, kind: SequenceKind, count: int) -> int:
        """Reserve `count` consecutive numbers; returns the first. The UPDATE locks the
        sequence row until the transaction ends, so concurrent issuers queue behind it and a
        rollback hands the same numbers out again: no gaps, no duplicates."""
        table: Any = NumberSequence.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self.session.execute(
            dialect_insert(table)
            .values(partner_id=partner_id, kind=kind.value, last_value=0)
            .on_conflict_do_nothing(index_elements=["partner_id", "kind"])
        )
        statement = (
            update(table)
            .where(table.c.partner_id == partner_id, table.c.kind == kind.value)
            .values(last_value=table.c.last_value + count)
            .returning(table.c.last_value)
        )
        last = int(self.session.execute(statement).scalar_one())
        return last - count + 1

    # settings ------------------------------------------------------------------
    def auto_approve_overrides(self, partner_id: str) -> dict[str, bool]:
        query = select(
            col(ClientBillingSettings.client_id), col(ClientBillingSettings.auto_approve)
        ).where(
            col(ClientBillingSettings.partner_id) == partner_id,
            col(ClientBillingSettings.auto_approve).is_not(None),
        )
        return {client: bool(flag) for client, flag in self.session.execute(query)}

    def client_settings(self, partner_id: str, client_id: str) -> ClientBillingSettings | None:
        return self.session.get(ClientBillingSettings, (partner_id, client_id))

    # credit notes ---------------------------------------------------------------
    def credit_notes(self, partner_id: str, invoice_id: int) -> list[CreditNote]:
        query = (
            select(CreditNote)
            .where(
                col(CreditNote.partner_id) == partner_id, col(CreditNote.invoice_id) == invoice_id
            )
            .order_by(col(CreditNote.id))
        )
        return list(self.session.scalars(query))

    # billing events --------------------------------------------------------------
    def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append billing events (rows from `events.event_row`), in bulk."""
        if rows:
            names = list(rows[0])
            self.insert_bulk(BillingEvent, names, [tuple(row[n] for n in names) for row in rows])

    def billing_events(
        self, partner_id: str, *, after: int | None = None, limit: int = 100
    ) -> list[BillingEvent]:
        query = select(BillingEvent).where(col(BillingEvent.partner_id) == partner_id)
        if after is not None:
            query = query.where(col(BillingEvent.id) > after)
        return list(self.session.scalars(query.order_by(col(BillingEvent.id)).limit(limit)))
