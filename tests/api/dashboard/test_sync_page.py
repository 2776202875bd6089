"""The sync page: connections, outbox counts, dead rows and their retry (scoped to the partner),
and sync status per connection on issued invoices."""

from __future__ import annotations

import warnings

from sqlmodel import Session, select

from billing.invoicing.models import BillingEvent, Invoice
from connectors.connections.models import Connection
from sync.models import OutboxOp, OutboxRow, OutboxStatus
from tests.api.dashboard.conftest import World, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _outbox(session: Session, partner: str, connection: str, status: str, invoice: Invoice) -> int:
    event = session.exec(
        select(BillingEvent).where(BillingEvent.partner_id == partner,
                                   BillingEvent.subject_id == str(invoice.id))
    ).first()  # fmt: skip
    assert event is not None
    row = OutboxRow(
        connection_id=connection, partner_id=partner, billing_event_id=event.id,
        op=OutboxOp.INVOICE_PUSH, subject_id=f"invoice:{invoice.id}",
        our_id=str(invoice.id), status=OutboxStatus(status), attempts=8,
        last_error="rejected: TotalAmt does not match" if status == "dead" else None,
    )  # fmt: skip
    session.add(row)
    session.commit()
    return int(row.id)


def test_outbox_dead_rows_retry_and_invoice_sync_status(
    app_client: TestClient, world: World, session: Session
) -> None:
    conn = Connection(partner_id="acme", name="books", provider="quickbooks",
                                  status="active")  # fmt: skip
    other = Connection(partner_id="globex", name="theirs", provider="xero",
                                   status="active")  # fmt: skip
    session.add(conn)
    session.add(other)
    session.commit()
    [first, second] = session.exec(
        select(Invoice).where(Invoice.partner_id == "acme", Invoice.number.is_not(None))  # type: ignore[union-attr]
        .order_by(Invoice.id)
    ).all()  # fmt: skip
    dead = _outbox(session, "acme", conn.id, "dead", first)
    _outbox(session, "acme", conn.id, "done", second)
    token = sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/sync").text
    assert 'data-testid="no-connections"' not in page and "books" in page
    assert "TotalAmt does not match" in page and "theirs" not in page
    outbox = page.split('data-testid="outbox"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">books' in outbox and outbox.count('class="num">1<') == 2
    listing = app_client.get("/dashboard/p/acme/invoices").text
    assert "books: dead" in listing and "books: done" in listing
    retried = app_client.post(
        "/dashboard/p/acme/sync/retry", data={"csrf_token": token, "row": [str(dead)]}
    )
    assert retried.headers["location"].endswith("retried=1")
    session.rollback()
    assert session.get(OutboxRow, dead).status == "pending"  # type: ignore[union-attr]
    assert (
        app_client.post("/dashboard/p/acme/sync/retry", data={"row": [str(dead)]}).status_code
        == 403
    )
    assert (
        app_client.post(
            "/dashboard/p/globex/sync/retry", data={"csrf_token": token, "all": "1"}
        ).status_code
        == 404
    )
