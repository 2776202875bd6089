"""`create_app(engine=...)` serves that engine: the session and the key lookup come from the
app (`app.state.engine`), never from the process engine behind its back."""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy import Engine, create_engine

from api.app import create_app
from config import db as config_db
from tests.api.conftest import Keys

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_an_app_built_with_an_engine_never_uses_the_process_engine(
    engine: Engine, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(engine=engine)
    unusable = create_engine("sqlite:////nonexistent-directory/rebill.sqlite3")
    monkeypatch.setattr(config_db, "_engine", unusable)

    with TestClient(app) as client:
        answer = client.get("/v1/clients", headers=Keys.header(keys.acme))
    assert answer.status_code == 200
    assert [c["id"] for c in answer.json()["items"]] == ["alpha", "beta"]

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        assert client.get("/v1/clients", headers=Keys.header(keys.acme)).status_code != 200
