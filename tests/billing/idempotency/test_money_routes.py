"""Payments and credit notes with `Idempotency-Key`: a retry moves no money twice."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from billing.invoicing.models import Invoice
from billing.invoicing.repository import InvoiceRepository
from billing.payments.recording import payments_for_invoice
from billing.tenants.models import Scope
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    run_accrual,
    send,
    setup_partner,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

URL = "/v1/invoices/ACME-000001"


@pytest.fixture
def invoice(session: Session) -> Invoice:
    """c1: 100 minutes at 0.10 + base fee 20.00 + VAT 10% = 33.00, issued."""
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    [issued] = close_and_issue(session, month, client_id="c1")
    return issued


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def admin(session: Session, invoice: Invoice) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(session, 'acme', Scope.ADMIN)}"}


def test_a_payment_retried_is_recorded_once(
    api: TestClient, engine: Engine, invoice: Invoice, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": "pay-1"}
    body = {"amount": "10.00", "reference": "WIRE-1", "received_on": "2026-11-05"}
    first = api.post(f"{URL}/payments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    for _ in range(3):
        again = api.post(f"{URL}/payments", json=body, headers=headers)
        assert (again.status_code, again.content) == (201, first.content)
        assert again.headers["Idempotent-Replayed"] == "true"
    with Session(engine) as session:
        assert [
            p.amount_minor for p in payments_for_invoice(session, "acme", invoice.invoice_id)
        ] == [1000]
    # A 4xx (overpayment) under another key is kept and replayed as it was.
    over = {**body, "amount": "40.00", "reference": "WIRE-2"}
    refused = api.post(f"{URL}/payments", json=over, headers={**admin, "Idempotency-Key": "p2"})
    assert refused.status_code == 400
    replayed = api.post(f"{URL}/payments", json=over, headers={**admin, "Idempotency-Key": "p2"})
    assert (replayed.status_code, replayed.json()) == (400, refused.json())
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_a_credit_note_retried_is_issued_once(
    api: TestClient, engine: Engine, invoice: Invoice, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": "cn-1"}
    body = {"reason": "outage"}
    first = api.post(f"{URL}/credit-notes", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = api.post(f"{URL}/credit-notes", json=body, headers=headers)
    assert (again.status_code, again.content) == (201, first.content)
    with Session(engine) as session:
        assert len(InvoiceRepository(session).credit_notes("acme", invoice.invoice_id)) == 1
    # Without the key a second full credit is refused by the invoicing rules, as before.
    assert api.post(f"{URL}/credit-notes", json=body, headers=admin).status_code == 400
