"""The units of work in `config.db`: a write scope commits or rolls back, and on SQLite holds
the write lock from its first statement; a read scope never writes; `session_factory` turns an
engine or a factory into sessions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from config.db import create_db_engine, read_scope, session_factory, session_scope, write_scope


@pytest.fixture
def sqlite_file(tmp_path: Path) -> tuple[Engine, Path]:
    path = tmp_path / "scopes.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine, path


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [int(x) for x in connection.execute(text("SELECT x FROM t ORDER BY x")).scalars()]


def _other_writer_waits(path: Path) -> bool:
    """True when another process's write is refused at once (the lock is held)."""
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("INSERT INTO t VALUES (99)")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        other.close()
    return False


def test_a_write_scope_commits_on_success(sqlite_file: tuple[Engine, Path]) -> None:
    engine, _ = sqlite_file
    with write_scope(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    assert _rows(engine) == [1]


def test_a_write_scope_rolls_back_on_error(sqlite_file: tuple[Engine, Path]) -> None:
    engine, _ = sqlite_file
    with pytest.raises(ValueError, match="refused"), write_scope(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise ValueError("refused")
    assert _rows(engine) == []


def test_a_write_scope_holds_the_sqlite_write_lock_from_its_first_read(
    sqlite_file: tuple[Engine, Path],
) -> None:
    engine, path = sqlite_file
    with write_scope(engine) as session:
        session.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert _other_writer_waits(path)
    assert not _other_writer_waits(path)  # released at commit


def test_a_deferred_scope_takes_the_lock_only_when_it_writes(
    sqlite_file: tuple[Engine, Path],
) -> None:
    engine, path = sqlite_file
    with session_scope(engine) as session:
        session.execute(text("SELECT count(*) FROM t")).scalar_one()
        assert not _other_writer_waits(path)
    assert _rows(engine) == [99]


def test_a_read_scope_never_writes(sqlite_file: tuple[Engine, Path]) -> None:
    engine, _ = sqlite_file
    with read_scope(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    assert _rows(engine) == []


def test_session_factory_takes_an_engine_or_a_factory(sqlite_file: tuple[Engine, Path]) -> None:
    engine, _ = sqlite_file
    with session_factory(engine)() as session:
        assert session.get_bind() is engine
        assert session.expire_on_commit is False

    def made() -> Session:
        return Session(engine)

    assert session_factory(made) is made
