"""`GET /v1/invoices/{key}/pdf` and `.../credit-notes/{note}/pdf`: the stored document, byte
for byte, with the invoice's own scope rules (another partner's key gets 404)."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from api.app import create_app
from billing.documents import stored_path
from billing.tenants.models import Scope
from config.problems import PROBLEM_MEDIA_TYPE
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import SIMPLE, at, last_month, month_text, send, setup_partner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NUMBER = "ACME-000001"
PDF_URL = f"/v1/invoices/{NUMBER}/pdf"


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def api(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def keys(session: Session, api: TestClient) -> dict[str, str]:
    """Partner acme with one issued invoice (`NUMBER`) and one draft; partner globex."""
    setup_partner(session, SIMPLE)
    setup_partner(session, SIMPLE.replace('id = "acme"', 'id = "globex"', 1))
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    keys = {
        "read": make_key(session, "acme", Scope.READ),
        "admin": make_key(session, "acme", Scope.ADMIN),
        "ingest": make_key(session, "acme", Scope.INGEST),
        "other": make_key(session, "globex", Scope.ADMIN),
    }
    session.commit()
    admin = h(keys["admin"])
    api.post("/v1/cycles/close", json={"period": month_text(month)}, headers=admin)
    draft = api.get("/v1/invoices", params={"client": "c1"}, headers=admin).json()["items"][0]
    api.post(f"/v1/invoices/{draft['id']}/approve", headers=admin)
    issued = api.post(f"/v1/invoices/{draft['id']}/issue", headers=admin)
    assert issued.json()["number"] == NUMBER, issued.text
    return keys


def test_the_invoice_pdf_is_the_stored_document(api: TestClient, keys: dict[str, str]) -> None:
    answer = api.get(PDF_URL, headers=h(keys["read"]))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert NUMBER in text_of(answer.content)
    assert answer.content == stored_path("acme", NUMBER).read_bytes()
    invoice_id = api.get(f"/v1/invoices/{NUMBER}", headers=h(keys["read"])).json()["id"]
    assert api.get(f"/v1/invoices/{invoice_id}/pdf", headers=h(keys["read"])).content == (
        answer.content
    )


def test_scope_rules_are_the_invoices(api: TestClient, keys: dict[str, str]) -> None:
    other = api.get(PDF_URL, headers=h(keys["other"]))
    assert other.status_code == 404  # as if it did not exist, like the invoice's JSON
    assert other.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert api.get(f"/v1/invoices/{NUMBER}", headers=h(keys["other"])).status_code == 404
    assert api.get(PDF_URL).status_code == 401
    assert api.get(PDF_URL, headers=h(keys["ingest"])).status_code == 403
    assert api.get("/v1/invoices/ACME-999999/pdf", headers=h(keys["read"])).status_code == 404
    draft = api.get("/v1/invoices", params={"status": "draft"}, headers=h(keys["read"]))
    draft_id = draft.json()["items"][0]["id"]
    refused = api.get(f"/v1/invoices/{draft_id}/pdf", headers=h(keys["read"]))
    assert refused.status_code == 409 and "issue the invoice first" in refused.json()["detail"]


def test_a_stored_pdf_is_not_rendered_again(api: TestClient, keys: dict[str, str]) -> None:
    path = stored_path("acme", NUMBER)
    path.write_bytes(b"%PDF-1.7 as e-mailed")
    assert api.get(PDF_URL, headers=h(keys["read"])).content == b"%PDF-1.7 as e-mailed"


def test_a_missing_or_stale_pdf_is_rendered_and_kept(api: TestClient, keys: dict[str, str]) -> None:
    path = stored_path("acme", NUMBER)
    path.unlink()
    answer = api.get(PDF_URL, headers=h(keys["read"]))
    assert answer.status_code == 200 and NUMBER in text_of(answer.content)
    assert path.read_bytes() == answer.content  # kept: the next fetch is the same document
    path.write_bytes(b"%PDF-1.7 another invoice's, from a rolled-back issue")
    os.utime(path, (0, 0))  # written long before this invoice was issued
    again = api.get(PDF_URL, headers=h(keys["read"]))
    assert again.content.startswith(b"%PDF-") and NUMBER in text_of(again.content)


def test_a_credit_note_pdf(api: TestClient, keys: dict[str, str]) -> None:
    admin = h(keys["admin"])
    credit = api.post(f"/v1/invoices/{NUMBER}/credit-notes", json={"reason": "x"}, headers=admin)
    assert credit.status_code == 201, credit.text
    note = credit.json()["number"]
    url = f"/v1/invoices/{NUMBER}/credit-notes/{note}/pdf"
    answer = api.get(url, headers=h(keys["read"]))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert note in text_of(answer.content) and NUMBER in text_of(answer.content)
    by_id = f"/v1/invoices/{NUMBER}/credit-notes/{credit.json()['id']}/pdf"
    assert api.get(by_id, headers=h(keys["read"])).content == answer.content
    assert api.get(url, headers=h(keys["other"])).status_code == 404
    missing = f"/v1/invoices/{NUMBER}/credit-notes/ACME-CN-999999/pdf"
    assert api.get(missing, headers=h(keys["read"])).status_code == 404
