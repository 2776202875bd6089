"""Shared bench plumbing: fresh migrated databases and a figure printer."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from config.db import create_db_engine
from migrations.runner import upgrade_to_head

PG_URL = os.environ.get("REBILL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1/test")


def fresh_sqlite(folder: Path | None = None) -> tuple[Engine, Path]:
    root = folder or Path(tempfile.mkdtemp(prefix="rebill-bench-"))
    path = root / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    return engine, path


@contextmanager
def fresh_postgres() -> Iterator[Engine | None]:
    """A migrated private schema, dropped afterwards; None when PostgreSQL is unreachable."""
    schema = f"rebill_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_db_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        print(f"  (PostgreSQL unavailable: {exc.__class__.__name__})")
        yield None
        return
    engine = create_db_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade_to_head(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


def figure(label: str, value: float, unit: str, target: str = "") -> None:
    suffix = f"   target: {target}" if target else ""
    print(f"  {label:<52} {value:>14,.0f} {unit}{suffix}")


GOALS: list[tuple[str, bool]] = []
"""Every goal checked in this process, in order, for `goal_summary`."""


def ratio(label: str, value: float, reference: float, at_least: float) -> bool:
    """Print `value / reference` beside its goal (a ratio measured in one run, so the machine's
    speed cancels out) and remember whether it was met."""
    share = value / reference if reference else 0.0
    met = share >= at_least
    verdict = "met" if met else "NOT MET"
    print(f"  {label:<52} {share:>14.2f}    target: >= {at_least:.2f}  {verdict}")
    GOALS.append((label, met))
    return met


def at_most(label: str, value: float, limit: float, unit: str) -> bool:
    """Print an absolute figure beside its ceiling (seconds, for a step that must stay under
    a bound) and remember whether it was met."""
    met = value <= limit
    verdict = "met" if met else "NOT MET"
    print(f"  {label:<52} {value:>14,.2f} {unit}   target: <= {limit:,.2f}  {verdict}")
    GOALS.append((label, met))
    return met


def goal_summary() -> None:
    """One closing line per script: how many of its goals were met."""
    if GOALS:
        missed = [label for label, met in GOALS if not met]
        print(f"  goals met: {len(GOALS) - len(missed)} of {len(GOALS)}")
        for label in missed:
            print(f"    not met: {label}")


def freeze_statistics(engine: Engine) -> None:
    """PostgreSQL: switch autovacuum off on every table of the engine's schema, so its tables
    stay never analysed (where generic plans over stale statistics hurt). No-op elsewhere."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            conn.execute(text(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))


def analyse(engine: Engine) -> None:
    """Fresh statistics for every table (ANALYZE on PostgreSQL and SQLite)."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
