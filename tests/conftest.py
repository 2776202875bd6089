"""Test databases: the migrated schema (never `create_all`), isolated per test.

SQLite: the schema is migrated once per run into a template file that each test copies; under
pytest-xdist the workers share it (the first to take the lock migrates, the others wait and
copy).
PostgreSQL (when REBILL_DATABASE_URL points at it): each test process (each xdist worker)
migrates a private schema, so concurrent runs and workers never collide; after each test the
tables it wrote to are emptied and the sequences it advanced reset; the schema is dropped at exit.
The tests' connections commit without waiting for the WAL flush (`synchronous_commit=off`):
what a commit makes visible to other connections is unchanged, only a crash of the database
server itself could lose the last commits, which no test relies on.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text
from sqlmodel import Session

from config import db as config_db
from config.secret_key import generate_key
from config.settings import get_settings
from migrations.metadata import target_metadata
from migrations.runner import upgrade_to_head

# Property tests test properties, not speed: no per-example deadline and no "too slow" health
# check, either of which fails a correct test on a loaded machine.
settings.register_profile("rebill", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rebill")

DATABASE_URL = os.environ.get("REBILL_DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgresql")


def _pg_options(schema: str) -> str:
    return f"-csearch_path={schema} -csynchronous_commit=off"


def _pg_engine(schema: str) -> Engine:
    return config_db.create_db_engine(DATABASE_URL, connect_args={"options": _pg_options(schema)})


def _xdist_worker(config: pytest.Config) -> str:
    """This process's name under pytest-xdist ("gw0", ...), or "" when pytest runs alone (read
    from the config, not the environment, which a pytest started by a test inherits)."""
    workerinput: dict[str, str] | None = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else ""


def _run_temp_root(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary root: under xdist each worker's base directory sits in the run's
    own directory, which all its workers share (and no other run does)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if _xdist_worker(config) else base


def _sqlite_template(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's migrated SQLite file, migrated by whichever process gets here first."""
    shared = _run_temp_root(config, tmp_path_factory) / "sqlite-template"
    shared.mkdir(exist_ok=True)
    template = shared / "template.sqlite3"
    with (shared / "migrate.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            partial = shared / "partial" / "template.sqlite3"
            engine = config_db.create_db_engine(f"sqlite:///{partial}")
            upgrade_to_head(engine)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            os.replace(partial, template)
    return template


def _empty_written_pg_tables(engine: Engine, schema: str) -> None:
    """What TRUNCATE ... RESTART IDENTITY of every table did (empty tables, sequences from
    their start), at the cost of the tables this test wrote to: truncating all 49 tables took
    about a second per test, most of a PostgreSQL run, and truncating one still takes about 0.1 s
    (new files for it and everything referencing it). As a superuser (the suite's usual
    `postgres` role) the written tables are emptied with DELETE with triggers and foreign-key
    checks off (`session_replication_role = replica`: the immutability triggers refuse a
    DELETE), a few milliseconds; otherwise with TRUNCATE."""
    names = [table.name for table in target_metadata.sorted_tables]
    probe = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in names
    )
    with engine.begin() as conn:
        written = list(conn.execute(text(probe)).scalars())
        if written and conn.execute(text("SHOW is_superuser")).scalar_one() == "on":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in written:
                conn.execute(text(f"DELETE FROM {name}"))
        elif written:
            conn.execute(text(f"TRUNCATE {', '.join(written)} CASCADE"))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, "
                "start_value, false) "
                "FROM pg_sequences WHERE schemaname = :schema AND last_value IS NOT NULL"
            ),
            {"schema": schema},
        )


@pytest.fixture(autouse=True)
def _own_data_dir_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test has its own data directory and its own random secret key (in the
    environment, so no file appears in the test's directories); a developer's
    REBILL_SECRET_KEY or data directory never reaches a test. Tests of the key file unset it."""
    monkeypatch.setenv("REBILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REBILL_SECRET_KEY", generate_key())
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def _database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if ON_POSTGRES:
        schema = f"rebill_test_{_xdist_worker(request.config) or 'main'}_{uuid.uuid4().hex[:12]}"
        admin = config_db.create_db_engine(DATABASE_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            engine = _pg_engine(schema)
            upgrade_to_head(engine)
            engine.dispose()
            yield schema
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    else:
        yield str(_sqlite_template(request.config, tmp_path_factory))


@pytest.fixture
def database_url(_database_template: str, tmp_path: Path) -> str:
    """A URL to a freshly migrated, empty database for this test."""
    if ON_POSTGRES:
        return DATABASE_URL
    target = tmp_path / "rebill.sqlite3"
    shutil.copyfile(_database_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def engine(
    _database_template: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    monkeypatch.setenv("REBILL_DATA_DIR", str(tmp_path / "data"))
    if ON_POSTGRES:
        created = _pg_engine(_database_template)
        joiner = "&" if "?" in DATABASE_URL else "?"
        options = quote(_pg_options(_database_template), safe="")
        monkeypatch.setenv("REBILL_DATABASE_URL", f"{DATABASE_URL}{joiner}options={options}")
    else:
        created = config_db.create_db_engine(database_url)
        monkeypatch.setenv("REBILL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    config_db.set_engine(created)
    try:
        yield created
    finally:
        config_db.set_engine(None)
        get_settings.cache_clear()
        if ON_POSTGRES:
            _empty_written_pg_tables(created, _database_template)
        created.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` (seconds to a minute each) first, in their usual order: under
    pytest-xdist they are then dealt round-robin to the workers at the start instead of one of
    them ending the run alone while the others idle. The rest keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


BROWSER_TESTS = (
    "tests/api/dashboard/test_browser.py::",
    "tests/api/dashboard/test_browser_invoices.py::",
    "tests/api/dashboard/test_browser_webhooks.py::",
    "tests/api/portal/test_browser_portal.py::",
    "tests/api/dashboard/test_browser_simulator.py::",
)


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


_BROWSER_LINE = pytest.StashKey[tuple[str, dict[str, bool]]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Whether the browser tests ran, and how to enable them if not: printed last (after
    pytest's own counts, by `pytest_unconfigure`) so that `make test` ends with it."""
    stats = terminalreporter.stats
    skipped = [r for r in stats.get("skipped", []) if r.nodeid.startswith(BROWSER_TESTS)]
    ran = [
        r
        for key in ("passed", "failed")
        for r in stats.get(key, [])
        if r.nodeid.startswith(BROWSER_TESTS) and r.when == "call"
    ]
    if skipped:
        config.stash[_BROWSER_LINE] = (
            f"browser tests skipped ({len(skipped)}): {_skip_reason(skipped[0])}; to run them: "
            "apt-get install chromium, and pip install -e '.[dev]' for playwright",
            {"yellow": True, "bold": True},
        )
    elif ran:
        config.stash[_BROWSER_LINE] = (f"browser tests ran: {len(ran)} (chromium)", {"green": True})


def pytest_unconfigure(config: pytest.Config) -> None:
    line = config.stash.get(_BROWSER_LINE, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line is not None and reporter is not None:
        reporter.write_line(line[0], **line[1])
