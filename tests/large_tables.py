"""A ledger and an event table of tens of thousands of rows, for the property tests that must
hold where the PostgreSQL generic-plan trap would have appeared (issue 17).

The trap: a lookup keyed by a list, executed more than five times on one connection, is
prepared by psycopg; PostgreSQL may then switch to a generic plan, and on a table whose
statistics were never gathered that plan can scan every row of the partner and filter it
against the list. The conditions are built here: tens of thousands of rows written through the
service's own bulk paths (so every row is what the service writes), autovacuum off on every
table and no ANALYZE ever run, so the planner never learns how large the tables are.

One such database per test process, built on first use and kept for the whole session (the
conftest empties the shared test database after each test, which would throw the rows away,
and xdist deals a module's tests out to several processes, so a module-scoped build would be
repeated): on PostgreSQL a private schema dropped when the process ends, on SQLite a file
copied from the migrated template. The bulk rows belong to one partner (`BULK`); the
properties write to the same tables, to `BULK` itself or to partners of their own, so tests
never depend on one another's rows.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from billing.metering import ingest
from config import db as config_db
from config.settings import get_settings
from ledger import EntrySpec, PostingSpec, open_standard_chart, post_entries
from migrations.runner import upgrade_to_head
from tests.billing.factories import make_partner
from tests.conftest import DATABASE_URL, ON_POSTGRES

__all__ = [
    "BULK",
    "EVENTS",
    "LEDGER_ENTRIES",
    "LargeDatabase",
    "bulk_entry",
    "bulk_event",
    "generic_plan",
    "large_database",
    "prepared_statements",
    "recorded_statements",
    "unique_suffix",
    "use_database",
]

BULK = "bulk"
LEDGER_ENTRIES = 20_000
EVENTS = 20_000
BULK_CLIENTS = 100
_LEDGER_CHUNK = 5_000
_EVENT_CHUNK = 10_000
_LEDGER_START = datetime(2026, 1, 1, tzinfo=UTC)
_suffixes = itertools.count()
_KEY = pytest.StashKey["LargeDatabase"]()


def unique_suffix() -> str:
    """A suffix no other test or example of this run uses (keys, event ids, partner ids)."""
    return f"{uuid.uuid4().hex[:8]}-{next(_suffixes)}"


def bulk_entry(n: int) -> EntrySpec:
    """The `n`th entry of the bulk ledger, exactly as it was posted (replays rebuild it)."""
    amount = 100 + n % 977
    client, usage = f"c{n % BULK_CLIENTS}", ("sms", "voice_minutes")[n % 2]
    return EntrySpec(
        f"bulk:{n}",
        _LEDGER_START + timedelta(seconds=n),
        (
            PostingSpec("1150", amount, "USD", client, usage),
            PostingSpec("4000", -amount, "USD", client, usage),
        ),
        source_type="accrual",
    )


def bulk_event(n: int, base: datetime) -> dict[str, Any]:
    """The `n`th event of the bulk event table, as it was sent (replays resend it)."""
    body: dict[str, Any] = {
        "event_id": f"bulk-{n:06d}",
        "client": f"c{n % BULK_CLIENTS}",
        "occurred_at": (base - timedelta(seconds=7 * n)).isoformat(),
    }
    if n % 2:
        body.update(usage_type="voice_minutes", quantity=f"{n % 90}.{n % 100:02d}")
    else:
        body.update(usage_type="sms", quantity=str(n % 13))
    if n % 5 == 0:
        body["properties"] = {"n": n, "route": f"r{n % 7}"}
    return body


@dataclass
class LargeDatabase:
    engine: Engine
    url: str  # what another process sets REBILL_DATABASE_URL to
    schema: str | None = None  # PostgreSQL
    events_base: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    filled: set[str] = field(default_factory=set)

    def ensure_ledger(self) -> None:
        """`LEDGER_ENTRIES` two-leg entries of `BULK`, posted by `post_entries` in chunks."""
        if "ledger" in self.filled:
            return
        with Session(self.engine) as session:
            open_standard_chart(session, BULK, "USD")
            session.commit()
        for start in range(0, LEDGER_ENTRIES, _LEDGER_CHUNK):
            stop = min(LEDGER_ENTRIES, start + _LEDGER_CHUNK)
            with Session(self.engine) as session:
                result = post_entries(session, BULK, [bulk_entry(n) for n in range(start, stop)])
                session.commit()
            assert result.posted == stop - start
        self.filled.add("ledger")

    def ensure_events(self) -> None:
        """`EVENTS` usage events of `BULK`, stored by `ingest` in large batches."""
        if "events" in self.filled:
            return
        with Session(self.engine) as session:
            make_partner(session, BULK, clients=tuple(f"c{n}" for n in range(BULK_CLIENTS)))
        for start in range(0, EVENTS, _EVENT_CHUNK):
            stop = min(EVENTS, start + _EVENT_CHUNK)
            batch = [bulk_event(n, self.events_base) for n in range(start, stop)]
            with Session(self.engine) as session:
                result = ingest(session, BULK, batch)
                session.commit()
            assert (result.accepted, result.rejected) == (stop - start, 0), result.rejections[:3]
        self.filled.add("events")


def _freeze_statistics(engine: Engine) -> None:
    """Autovacuum off on every table (no ANALYZE will ever run on them)."""
    with engine.begin() as conn:
        names = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for name in list(names):
            conn.execute(text(f'ALTER TABLE "{name}" SET (autovacuum_enabled = false)'))


def _create(config: pytest.Config, sqlite_template: str, folder: Path) -> LargeDatabase:
    if not ON_POSTGRES:
        target = folder / "large.sqlite3"
        shutil.copyfile(sqlite_template, target)
        url = f"sqlite:///{target}"
        engine = config_db.create_db_engine(url)
        config.add_cleanup(engine.dispose)
        return LargeDatabase(engine, url)
    schema = f"rebill_large_{uuid.uuid4().hex[:12]}"
    admin = config_db.create_db_engine(DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    engine = config_db.create_db_engine(DATABASE_URL, connect_args={"options": options})

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    config.add_cleanup(drop)
    upgrade_to_head(engine)
    _freeze_statistics(engine)
    joiner = "&" if "?" in DATABASE_URL else "?"
    url = f"{DATABASE_URL}{joiner}options={quote(options, safe='')}"
    return LargeDatabase(engine, url, schema)


def large_database(
    config: pytest.Config, sqlite_template: str, tmp_path_factory: pytest.TempPathFactory
) -> LargeDatabase:
    """This process's large database, created (empty, migrated, statistics frozen) on first
    use; `ensure_ledger` and `ensure_events` fill what a test needs."""
    database = config.stash.get(_KEY, None)
    if database is None:
        database = _create(config, sqlite_template, tmp_path_factory.mktemp("large"))
        config.stash[_KEY] = database
    return database


@contextmanager
def use_database(database: LargeDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The large database as the process's engine and REBILL_DATABASE_URL (which processes
    started by the test inherit), as the conftest's `engine` fixture does for its own."""
    monkeypatch.setenv("REBILL_DATABASE_URL", database.url)
    get_settings.cache_clear()
    config_db.set_engine(database.engine)
    try:
        yield database.engine
    finally:
        config_db.set_engine(None)
        get_settings.cache_clear()


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL text of every statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def prepared_statements(session: Session, *fragments: str) -> list[tuple[str, str, int, int]]:
    """(name, statement, generic plans, custom plans) of the statements psycopg prepared on
    the session's connection whose text contains every one of `fragments`."""
    rows = session.execute(
        text(
            "SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements "
            "ORDER BY prepare_time"
        )
    )
    return [
        (name, sql, generic, custom)
        for name, sql, generic, custom in rows
        if all(fragment in sql for fragment in fragments)
    ]


def _literal(value: str | list[str]) -> str:
    if isinstance(value, list):
        return f"ARRAY[{', '.join(map(_literal, value))}]::varchar[]"
    return "'" + value.replace("'", "''") + "'"


def generic_plan(session: Session, name: str, partner: str, keys: list[str]) -> Any:
    """The generic plan (EXPLAIN, JSON) PostgreSQL has for the statement psycopg prepared
    as `name`, a lookup of `keys` of `partner` (one text parameter and one array).

    PostgreSQL 16 and later explain the statement's text with `GENERIC_PLAN`; before, the
    session is made to use generic plans only (`plan_cache_mode = force_generic_plan`) and
    the prepared statement itself is explained, given `partner` and `keys` as its
    parameters (by type), which a generic plan does not look at.
    """
    version = int(session.execute(text("SHOW server_version_num")).scalar_one())
    statement, types = session.execute(
        text(
            "SELECT statement, parameter_types::text[] FROM pg_prepared_statements "
            "WHERE name = :name"
        ),
        {"name": name},
    ).one()
    connection = session.connection()
    if version >= 160000:
        explain = f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {statement}"
        return connection.exec_driver_sql(explain.replace("%", "%%")).scalar_one()
    values = [
        "1"
        if kind in ("smallint", "integer", "bigint")
        else _literal(keys if kind.endswith("[]") else partner)
        for kind in types
    ]  # an integer is the per-key LIMIT 1 of `config.key_arrays.probed_queries`
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    explain = f"EXPLAIN (FORMAT JSON) EXECUTE {name} ({', '.join(values)})"
    plan = connection.exec_driver_sql(explain.replace("%", "%%")).scalar_one()
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
    return plan
