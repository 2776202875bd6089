"""A database that is down, locked or unwritable is one short line from the CLI (which
database, why, what to do): no traceback, no SQL, no password. `--debug` adds the traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from config.cli_errors import describe_failure
from tests.processes import ROOT, rebill

DOWN = "postgresql+psycopg://rebill:hunter2@127.0.0.1:1/rebill"


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.slow
def test_a_database_that_is_down(tmp_path: Path) -> None:
    done = rebill("invoices", "list", "--partner", "acme", env={"REBILL_DATABASE_URL": DOWN})
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert line.startswith("rebill: the database postgresql+psycopg://rebill:***@127.0.0.1:1/")
    assert "not reachable" in line
    assert "hunter2" not in done.stderr and "SELECT" not in done.stderr


@pytest.mark.slow
def test_debug_shows_the_traceback() -> None:
    done = rebill("--debug", "init", env={"REBILL_DATABASE_URL": DOWN})
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("rebill: the database")


@pytest.mark.slow
def test_a_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    sqlite3.connect(path).close()
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    done = rebill("init", env={"REBILL_DATABASE_URL": url})
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert "cannot be written" in line and "readonly" in line
    assert "CREATE" not in done.stderr
    assert not (ROOT / "file:").exists()  # a URI is not a path to create


@pytest.mark.slow
def test_a_database_path_that_cannot_be_opened(tmp_path: Path) -> None:
    done = rebill("init", env={"REBILL_DATABASE_URL": f"sqlite:///{tmp_path}"})
    assert done.returncode == 1
    assert "cannot be written" in _one_line(done.stderr)


@pytest.mark.slow
def test_a_database_not_set_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    done = rebill("invoices", "list", "--partner", "acme", env={"REBILL_DATABASE_URL": url})
    assert done.returncode == 1
    assert "run `rebill init`" in _one_line(done.stderr)


@pytest.mark.slow
def test_a_locked_database(tmp_path: Path) -> None:
    """Locked past the busy timeout (here none, so the test does not wait 30 s)."""
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    message = describe_failure(caught.value)
    assert message is not None
    assert "locked by another process" in message
    assert "INSERT" not in message
