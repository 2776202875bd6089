"""`POST /v1/simulations`: the answer, 422 problems naming the field, admin keys only, and
nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from billing.tenants import Scope
from config.problems import PROBLEM_MEDIA_TYPE
from tests.billing.factories import make_key
from tests.billing.simulation.helpers import row_counts
from tests.billing.simulation.world import NOW, setup

URL = "/v1/simulations"


@pytest.fixture
def api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr("billing.simulation.endpoints.utcnow", lambda: NOW)
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def keys(session: Session) -> dict[str, dict[str, str]]:
    setup(session)
    admin = make_key(session, "sim", Scope.ADMIN)
    read = make_key(session, "sim", Scope.READ)
    session.commit()
    return {
        "admin": {"Authorization": f"Bearer {admin}"},
        "read": {"Authorization": f"Bearer {read}"},
    }


def test_simulation_answers_and_writes_nothing(
    api: TestClient, keys: dict[str, dict[str, str]], session: Session
) -> None:
    counts = row_counts(session)
    body = {
        "periods": ["2026-11"],
        "changes": [
            {
                "kind": "plan_price",
                "plan": "std",
                "usage_type": "voice",
                # a JSON number, kept exact
                "price": {"model": "per_unit", "unit_price": 0.12},
            }
        ],
        "top": 1,
    }
    answer = api.post(URL, json=body, headers=keys["admin"])
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert payload["written"] is False and payload["periods"] == ["2026-11"]
    [total] = payload["portfolio"]
    assert (total["before"]["revenue"], total["after"]["revenue"]) == (13519, 14289)
    assert [m["client"] for m in payload["rises"]] == ["c"]  # top 1: c rises 6.27 with no tax
    assert payload["falls"] == []
    session.expire_all()
    assert row_counts(session) == counts


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"kind": "plan_price", "plan": "std", "usage_type": "voice",
          "price": {"model": "per_unit", "unit_price": "-1"}}, "body.changes[0].price.unit_price"),
        ({"kind": "plan_price", "plan": "std", "usage_type": "voice",
          "price": {"model": "per_unit", "unit_price": "0.001"}}, None),
        ({"kind": "wholesale", "usage_type": "nope",
          "price": {"model": "per_unit", "unit_price": "1"}}, "body.changes[0].price"),
        ({"kind": "client_price", "client": "zz", "usage_type": "voice",
          "price": {"model": "per_unit", "unit_price": "1"}}, "body.changes[0].client"),
        ({"kind": "raise_everything"}, "body.changes[0].kind"),
        ({"kind": "plan_fees", "plan": "std", "base_fee": "1", "colour": "red"},
         "body.changes[0].colour"),
    ],
)  # fmt: skip
def test_bad_proposal_is_a_422_naming_the_field(
    api: TestClient, keys: dict[str, dict[str, str]], change: dict[str, Any], path: str | None
) -> None:
    answer = api.post(
        URL, json={"periods": ["2026-11"], "changes": [change]}, headers=keys["admin"]
    )
    if path is None:  # sub-cent unit prices are rates, accepted
        assert answer.status_code == 200, answer.text
        return
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert [e["path"] for e in answer.json()["errors"]] == [path]


def test_bad_period_and_keys(api: TestClient, keys: dict[str, dict[str, str]]) -> None:
    answer = api.post(URL, json={"periods": ["2026-13"]}, headers=keys["admin"])
    assert answer.status_code == 422
    assert [e["path"] for e in answer.json()["errors"]] == ["body.periods[0]"]
    answer = api.post(URL, json={"periods": []}, headers=keys["admin"])
    assert answer.status_code == 422
    assert api.post(URL, json={"periods": ["2026-11"]}, headers=keys["read"]).status_code == 403
    assert api.post(URL, json={"periods": ["2026-11"]}).status_code == 401


def test_openapi_says_no_idempotency_key(api: TestClient) -> None:
    operation = api.get("/openapi.json").json()["paths"][URL]["post"]
    assert "Idempotency-Key" in operation["description"]
    assert not any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    assert "422" in operation["responses"]
