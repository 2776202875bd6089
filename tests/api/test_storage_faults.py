"""A storage fault never kills the API: a real server (`main.py serve`) answers 503 with the
reason, logs it, keeps running, and serves again once the fault is gone.

Faults are made for real: SQLite files and folder made read-only (the server started without
root's permission override), a disk that refuses writes (the server's file-size limit set to 0
while it runs: every write fails as on a full disk), the database file truncated under the
running server (a SIGBUS with the old 1 GiB memory map), PostgreSQL not listening.
"""

from __future__ import annotations

import contextlib
import resource
import secrets
import shutil
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import Session

from billing.tenants.models import Scope
from config.db import create_db_engine
from migrations.runner import upgrade_to_head
from tests.api.live_server import can_drop_file_override, free_port, live_server
from tests.billing.factories import make_key, make_partner
from tests.conftest import ON_POSTGRES

SECRET = {"REBILL_SECRET_KEY": secrets.token_urlsafe(32)}


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A migrated SQLite file with partner acme and an admin key, WAL folded in."""
    path = tmp_path_factory.mktemp("storage") / "template.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    with Session(engine) as session:
        make_partner(session, "acme", clients=("alpha",))
        key = make_key(session, "acme", Scope.ADMIN)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path, key


@pytest.fixture
def sqlite_db(sqlite_template: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[Path, str]]:
    template, key = sqlite_template
    folder = tmp_path / "db"
    folder.mkdir()
    path = folder / "rebill.sqlite3"
    shutil.copyfile(template, path)
    yield path, key
    folder.chmod(0o755)  # let pytest clean up whatever a test left read-only


def env_for(path: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "REBILL_DATABASE_URL": f"sqlite:///{path}",
        "REBILL_DATA_DIR": str(tmp_path / "data"),
        **SECRET,
    }


def call(
    url: str, key: str, method: str = "GET", path: str = "/v1/clients", **kw: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.request(method, url + path, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def new_client(url: str, key: str, client_id: str) -> httpx.Response:
    return call(url, key, "POST", json={"id": client_id, "name": client_id.title()})


def assert_503(response: httpx.Response, words: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"].startswith("database unavailable: ")
    assert words in response.json()["detail"]


@pytest.mark.slow
@pytest.mark.skipif(
    not can_drop_file_override(),
    reason="cannot start a server without root's file permission override",
)
def test_a_read_only_database_is_503_then_recovers(
    sqlite_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, key = sqlite_db
    folder = path.parent
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)  # SQLite cannot create its -wal and -shm files
    with live_server(env_for(path, tmp_path), without_file_override=True) as server:
        for response in (call(server.url, key), new_client(server.url, key, "beta")):
            assert_503(response, "database file")
        assert server.alive()
        assert "database unavailable for GET /v1/clients" in server.log()
        folder.chmod(0o755)
        path.chmod(0o644)
        assert new_client(server.url, key, "beta").status_code == 201
        assert [c["id"] for c in call(server.url, key).json()["items"]] == ["alpha", "beta"]


@pytest.mark.slow
def test_a_disk_that_refuses_writes_is_503_then_recovers(
    sqlite_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, key = sqlite_db
    with live_server(env_for(path, tmp_path)) as server:
        assert new_client(server.url, key, "beta").status_code == 201
        _soft, hard = resource.prlimit(server.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (0, hard))  # every write: EFBIG
        try:
            assert_503(new_client(server.url, key, "gamma"), "disk")
            assert call(server.url, key).status_code in (200, 503)  # reads may need writes
            assert server.alive()
        finally:
            resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (hard, hard))
        assert new_client(server.url, key, "gamma").status_code == 201
        ids = [c["id"] for c in call(server.url, key).json()["items"]]
        assert ids == ["alpha", "beta", "gamma"]
        assert "database unavailable for POST /v1/clients" in server.log()


@pytest.mark.slow
def test_a_database_file_cut_short_under_the_server_is_503_not_a_crash(
    sqlite_db: tuple[Path, str], tmp_path: Path
) -> None:
    """With the file memory-mapped, reading a page past the new end was a SIGBUS: the server
    died without a word. Now the read fails and the API says so."""
    path, key = sqlite_db
    with live_server(env_for(path, tmp_path)) as server:
        assert call(server.url, key).status_code == 200
        with path.open("r+b") as handle:
            handle.truncate(4096)
        answer = call(server.url, key, path="/v1/usage?limit=5")
        assert server.alive(), server.log()
        assert answer.status_code == 503, answer.text
        assert "database unavailable" in answer.json()["detail"]


class _Forwarder:
    """A TCP port that forwards to PostgreSQL once `open()` is called (refused before)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.listener: socket.socket | None = None

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream, timeout=30)
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.slow
def test_postgresql_down_is_503_then_recovers(
    engine: object, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server points at a port where nothing listens: 503 with the reason. On a
    PostgreSQL run, the port then starts forwarding to the test database: served again."""
    import os

    target = (
        os.environ["REBILL_DATABASE_URL"]
        if ON_POSTGRES
        else ("postgresql+psycopg://postgres@127.0.0.1:5432/rebill")
    )
    upstream = urlsplit(target)
    forwarder = _Forwarder((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    key = "rbk_000000000000_unknown"
    if ON_POSTGRES:
        make_partner(session, "acme", clients=("alpha",))
        key = make_key(session, "acme", Scope.ADMIN)
    env = {
        "REBILL_DATABASE_URL": _through(target, forwarder.port),
        "REBILL_DATA_DIR": str(tmp_path / "data"),
        **SECRET,
    }
    with live_server(env) as server:
        assert_503(call(server.url, key), "cannot be reached")
        assert_503(new_client(server.url, key, "beta"), "cannot be reached")
        assert server.alive()
        assert "database unavailable for GET /v1/clients" in server.log()
        if not ON_POSTGRES:
            return
        forwarder.open()
        try:
            assert new_client(server.url, key, "beta").status_code == 201
            assert [c["id"] for c in call(server.url, key).json()["items"]] == ["alpha", "beta"]
        finally:
            forwarder.close()
