"""The operators' API for portal links: issue (URL once, idempotent), revoke one, revoke a
client's, list without URLs; another partner's invoice, client or link is a 404; a draft 409."""

from __future__ import annotations

import warnings

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from billing.invoicing.closing import close_cycles
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.tenants.models import Scope
from tests.api.portal.conftest import before, build
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


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_issue_list_and_revoke(engine: Engine, session: Session) -> None:
    last, _, other = build(session)
    admin = make_key(session, "acme", Scope.ADMIN)
    read = make_key(session, "acme", Scope.READ)
    client = TestClient(create_app())
    headers = {**_auth(admin), "Idempotency-Key": "portal-1"}
    made = client.post(f"/v1/invoices/{last.number}/portal-links", headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["client_id"] == "c1" and body["invoice_id"] == last.id and "/portal/" in body["url"]
    again = client.post(f"/v1/invoices/{last.number}/portal-links", headers=headers)
    assert again.json() == body  # the same key: the same link, not a second one
    assert client.get(body["url"].split("8000", 1)[1]).status_code == 200

    listed = client.get("/v1/clients/c1/portal-links", headers=_auth(read))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert body["id"] in [i["id"] for i in items] and all(i["url"] is None for i in items)
    assert listed.json()["next_cursor"] is None

    assert (
        client.post(f"/v1/portal-links/{body['id']}/revoke", headers=_auth(read)).status_code == 403
    )
    revoked = client.post(f"/v1/portal-links/{body['id']}/revoke", headers=_auth(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get(body["url"].split("8000", 1)[1]).status_code == 410

    everything = client.post("/v1/clients/c1/portal-links/revoke", headers=_auth(admin))
    assert everything.status_code == 200 and everything.json()["revoked"] >= 1
    assert client.post("/v1/clients/c1/portal-links/revoke", headers=_auth(admin)).json() == {
        "revoked": 0
    }
    assert other.client_id == "c2"


def test_other_partners_and_drafts(engine: Engine, session: Session) -> None:
    last, _, _ = build(session)
    setup_partner(
        session,
        SIMPLE.replace('id = "acme"', 'id = "globex"', 1).replace('"ACME-"', '"GLOBEX-"'),
    )
    session.commit()
    globex = make_key(session, "globex", Scope.ADMIN)
    acme = make_key(session, "acme", Scope.ADMIN)
    client = TestClient(create_app())
    made = client.post(f"/v1/invoices/{last.number}/portal-links", headers=_auth(acme)).json()
    assert (
        client.post(f"/v1/invoices/{last.number}/portal-links", headers=_auth(globex)).status_code
        == 404
    )
    assert (
        client.post(f"/v1/portal-links/{made['id']}/revoke", headers=_auth(globex)).status_code
        == 404
    )
    assert client.post("/v1/portal-links/999999/revoke", headers=_auth(acme)).status_code == 404
    assert client.get("/v1/clients/nobody/portal-links", headers=_auth(acme)).status_code == 404
    older = before(before(last_month()))
    send(session, [("d1", "c1", "voice", "5", at(older, 2))])
    close_cycles(session, "acme", period=month_text(older))
    session.commit()
    drafts = session.exec(select(Invoice).where(col(Invoice.status) == InvoiceStatus.DRAFT)).all()
    assert drafts
    draft = client.post(f"/v1/invoices/{drafts[0].id}/portal-links", headers=_auth(acme))
    assert draft.status_code == 409 and draft.headers["content-type"].startswith(
        "application/problem+json"
    )
