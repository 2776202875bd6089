"""The SQLite database is created readable by its owner only, with its WAL and shared-memory
files, in a private directory: it holds every invoice and the encrypted credentials."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from config.db import create_db_engine


def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "rebill.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        files = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    engine.dispose()
    assert files == {
        "rebill.sqlite3": 0o600,
        "rebill.sqlite3-wal": 0o600,
        "rebill.sqlite3-shm": 0o600,
    }
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    path.touch(mode=0o640)
    path.chmod(0o640)
    create_db_engine(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o640
