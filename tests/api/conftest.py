"""An HTTP client on the app (against the test database) and API keys for two partners."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from api.app import create_app
from billing.tenants import Scope
from tests.billing.factories import make_key, make_partner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note that it prefers another httpx package
    from fastapi.testclient import TestClient


@dataclass(frozen=True)
class Keys:
    acme: str  # ingest + read
    acme_read: str
    acme_admin: str
    globex: str  # ingest + read
    globex_admin: str
    platform: str

    @staticmethod
    def header(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def keys(session: Session) -> Keys:
    make_partner(session, "acme", clients=("alpha", "beta"))
    make_partner(session, "globex", clients=("gamma",))
    return Keys(
        acme=make_key(session, "acme", Scope.INGEST, Scope.READ),
        acme_read=make_key(session, "acme", Scope.READ),
        acme_admin=make_key(session, "acme", Scope.ADMIN),
        globex=make_key(session, "globex", Scope.INGEST, Scope.READ),
        globex_admin=make_key(session, "globex", Scope.ADMIN),
        platform=make_key(session, None, Scope.ADMIN),
    )
