"""Recording a bank transfer by hand: the command line and `/v1/invoices/{key}/payments`."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from api.app import create_app
from billing.invoicing.models import Invoice
from billing.invoicing.service import get_invoice
from billing.tenants.models import Scope
from main import app
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import SIMPLE, balance, setup_partner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_record_and_list_on_the_command_line(session: Session, invoice: Invoice) -> None:
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    out = run(
        "payments",
        "record",
        "ACME-000001",
        "--amount",
        "12.34",
        "--reference",
        "BT-1",
        "--date",
        "2026-11-02",
    )
    assert "1,234" not in out and "12.34 USD recorded on ACME-000001: partially_paid" in out
    assert "already recorded" in run(
        "payments", "record", "ACME-000001", "--amount", "12.34", "--reference", "BT-1"
    )
    failed = run(
        "payments", "record", "ACME-000001", "--amount", "12.345", "--reference", "BT-2", code=1
    )
    assert "amount: 12.345 has more than 2 decimals for USD" in failed
    failed = run(
        "payments", "record", "ACME-000001", "--amount", "40", "--reference", "BT-3", code=1
    )
    assert "more than the 2066 still due" in failed
    run("payments", "record", "ACME-000001", "--amount", "20.66", "--reference", "BT-4")
    listed = json.loads(run("payments", "list", "--invoice", "ACME-000001", "--json"))
    assert [(p["external_id"], p["amount_minor"], p["source"], p["method"]) for p in listed] == [
        ("BT-1", 1234, "manual", "bank_transfer"),
        ("BT-4", 2066, "manual", "bank_transfer"),
    ]
    assert listed[0]["received_at"].startswith("2026-11-02T12:00")
    assert "BT-4" in run("payments", "list")
    session.expire_all()
    assert get_invoice(session, "acme", "ACME-000001").status == "paid"
    assert balance(session, "1000") == 3300 and balance(session, "1200") == 0


@pytest.fixture
def api(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def test_the_api(api: TestClient, session: Session, invoice: Invoice) -> None:
    setup_partner(session, SIMPLE.replace('id = "acme"', 'id = "globex"', 1))
    admin = {"Authorization": f"Bearer {make_key(session, 'acme', Scope.ADMIN)}"}
    read = {"Authorization": f"Bearer {make_key(session, 'acme', Scope.READ)}"}
    other = {"Authorization": f"Bearer {make_key(session, 'globex', Scope.ADMIN)}"}
    body = {"amount": "33.00", "reference": "WIRE-77", "received_on": "2026-11-05"}
    url = "/v1/invoices/ACME-000001/payments"
    assert api.post(url, json=body, headers=read).status_code == 403
    assert api.post(url, json=body, headers=other).status_code == 404
    assert api.post(url, json={**body, "amount": 33.0}, headers=admin).status_code == 422
    created = api.post(url, json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["amount_minor"] == 3300
    assert created.json()["invoice_number"] == "ACME-000001"
    assert api.post(url, json=body, headers=admin).status_code == 200  # replay
    over = api.post(url, json={**body, "reference": "WIRE-78"}, headers=admin)
    assert over.status_code == 400 and "amount_minor" in over.json()["detail"]
    page = api.get("/v1/payments", headers=read).json()
    assert [p["external_id"] for p in page["items"]] == ["WIRE-77"]
    assert page["next_cursor"] is None
    assert api.get("/v1/payments", headers=other).json()["items"] == []
    assert api.get("/v1/payments", params={"invoice": "NOPE"}, headers=read).status_code == 404
