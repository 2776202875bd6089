"""`/v1/invoices`: authentication, scopes, tenant isolation, and the reviewer's actions."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from api.app import create_app
from billing.tenants.models import Scope
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    last_month,
    month_text,
    send,
    setup_partner,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def keys(session: Session) -> dict[str, str]:
    setup_partner(session, SIMPLE)
    setup_partner(session, SIMPLE.replace('id = "acme"', 'id = "globex"', 1))
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    return {
        "read": make_key(session, "acme", Scope.READ),
        "admin": make_key(session, "acme", Scope.ADMIN),
        "ingest": make_key(session, "acme", Scope.INGEST),
        "other": make_key(session, "globex", Scope.ADMIN),
    }


def test_review_issue_and_correct_through_the_api(api: TestClient, keys: dict[str, str]) -> None:
    admin, read = h(keys["admin"]), h(keys["read"])
    closed = api.post("/v1/cycles/close", json={"period": month_text(last_month())}, headers=admin)
    assert closed.status_code == 200 and len(closed.json()["created"]) == 2
    page = api.get("/v1/invoices", params={"client": "c1"}, headers=read).json()
    [draft] = page["items"]
    assert draft["status"] == "draft" and draft["number"] is None
    assert draft["internal"] is None  # read keys never see cost
    assert api.post(f"/v1/invoices/{draft['id']}/issue", headers=admin).status_code == 409
    approved = api.post(f"/v1/invoices/{draft['id']}/approve", headers=admin).json()
    assert approved["status"] == "approved" and approved["internal"]["cost_minor"] == 400
    issued = api.post(f"/v1/invoices/{draft['id']}/issue", headers=admin)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["number"] == "ACME-000001" and body["status"] == "issued"
    for field in (
        "client",
        "period_start",
        "period_end",
        "currency",
        "subtotal_minor",
        "discount_minor",
        "tax_minor",
        "total_minor",
        "issued_at",
        "due_at",
    ):
        assert field in body
    assert body["total_minor"] == 3300
    line = next(ln for ln in body["lines"] if ln["usage_type"] == "voice")
    assert (line["quantity"], line["unit_price"], line["amount_minor"]) == ("100", "0.1", 1000)
    by_number = api.get("/v1/invoices/ACME-000001", headers=read).json()
    assert by_number["id"] == draft["id"]
    usage = api.get("/v1/invoices/ACME-000001/usage", headers=read).json()
    assert usage["ok"] is True
    [event] = next(ln for ln in usage["lines"] if ln["usage_type"] == "voice")["events"]
    assert event["event_id"] == "v1" and event["cost_minor"] is None
    admin_usage = api.get("/v1/invoices/ACME-000001/usage", headers=admin).json()
    assert (
        next(ln for ln in admin_usage["lines"] if ln["usage_type"] == "voice")["events"][0][
            "cost_minor"
        ]
        == 400
    )
    credit = api.post(
        "/v1/invoices/ACME-000001/credit-notes",
        json={"reason": "outage", "lines": [{"position": line["position"], "amount_minor": 500}]},
        headers=admin,
    )
    assert credit.status_code == 201, credit.text
    assert credit.json()["total_minor"] == 550 and credit.json()["number"] == "ACME-CN-000001"
    assert len(api.get("/v1/invoices/ACME-000001/credit-notes", headers=read).json()["items"]) == 1
    refused = api.post("/v1/invoices/ACME-000001/void", json={"reason": "x"}, headers=admin)
    assert refused.status_code == 409  # it has a credit note
    too_much = api.post(
        "/v1/invoices/ACME-000001/credit-notes",
        json={"reason": "x", "lines": [{"position": line["position"], "amount_minor": 10**6}]},
        headers=admin,
    )
    assert too_much.status_code == 400


def test_scopes_and_tenant_isolation(api: TestClient, keys: dict[str, str]) -> None:
    api.post(
        "/v1/cycles/close", json={"period": month_text(last_month())}, headers=h(keys["admin"])
    )
    [first, _] = api.get("/v1/invoices", headers=h(keys["read"])).json()["items"]
    assert api.get("/v1/invoices").status_code == 401
    assert api.get("/v1/invoices", headers=h("rbk_nonsense")).status_code == 401
    assert api.get("/v1/invoices", headers=h(keys["ingest"])).status_code == 403
    assert (
        api.post(f"/v1/invoices/{first['id']}/approve", headers=h(keys["read"])).status_code == 403
    )
    # Another partner's admin key: the invoice does not exist for it.
    other = h(keys["other"])
    assert api.get(f"/v1/invoices/{first['id']}", headers=other).status_code == 404
    assert api.post(f"/v1/invoices/{first['id']}/approve", headers=other).status_code == 404
    assert api.get(f"/v1/invoices/{first['id']}/usage", headers=other).status_code == 404
    assert api.get("/v1/invoices", headers=other).json()["items"] == []


def test_listing_filters_and_pages(api: TestClient, keys: dict[str, str]) -> None:
    admin = h(keys["admin"])
    api.post("/v1/cycles/close", json={"period": month_text(last_month())}, headers=admin)
    page = api.get("/v1/invoices", params={"limit": 1}, headers=admin).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.get(
        "/v1/invoices", params={"limit": 1, "cursor": page["next_cursor"]}, headers=admin
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert api.get("/v1/invoices", params={"status": "issued"}, headers=admin).json()["items"] == []
    month = month_text(last_month())
    assert (
        len(api.get("/v1/invoices", params={"period": month}, headers=admin).json()["items"]) == 2
    )
    assert (
        api.get("/v1/invoices", params={"period": "1999-01"}, headers=admin).json()["items"] == []
    )
    assert api.get("/v1/invoices/nope", headers=admin).status_code == 404
