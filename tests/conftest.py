"""Test databases: the migrated schema (never `create_all`), isolated per test.

SQLite: the schema is migrated once into a template file that each test copies.
PostgreSQL (when REBILL_DATABASE_URL points at it): each test run migrates a private schema, so
concurrent runs never collide; tables are truncated between tests; the schema is dropped at exit.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

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


def _pg_engine(schema: str) -> Engine:
    return config_db.create_db_engine(
        DATABASE_URL, connect_args={"options": f"-csearch_path={schema}"}
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
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ON_POSTGRES:
        schema = f"rebill_test_{uuid.uuid4().hex[:12]}"
        admin = config_db.create_db_engine(DATABASE_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = _pg_engine(schema)
        upgrade_to_head(engine)
        engine.dispose()
        yield schema
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        engine = config_db.create_db_engine(f"sqlite:///{path}")
        upgrade_to_head(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(path)


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
        search_path = f"options=-csearch_path%3D{_database_template}"
        monkeypatch.setenv("REBILL_DATABASE_URL", f"{DATABASE_URL}{joiner}{search_path}")
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
            tables = ", ".join(t.name for t in target_metadata.sorted_tables)
            with created.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        created.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


BROWSER_TESTS = "tests/api/dashboard/test_browser.py::"


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
