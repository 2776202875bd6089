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


def test_the_latest_reconciliation_and_its_differences_by_kind(
    app_client: TestClient, world: World, session: Session
) -> None:
    from datetime import UTC, date, datetime

    from sync.reconcile.models import ReconcileDifference, ReconcileRun

    def run(partner: str, period: str, kinds: list[tuple[str, str]]) -> None:
        row = ReconcileRun(
            partner_id=partner, period=period, period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31), started_at=datetime.now(UTC),
            finished_at=datetime.now(UTC), differences=len(kinds),
            summary={"quickbooks:books": {"matched": 7, "ours_minor": 12345,
                                          "theirs_minor": 10000, "notes": []}},
        )  # fmt: skip
        session.add(row)
        session.flush()
        for kind, subject in kinds:
            session.add(ReconcileDifference(
                run_id=row.id, kind=kind, severity="error", system="quickbooks:books",
                subject=subject, ours="total 2345", theirs="missing", amount_minor=2345,
                currency="USD", action="re-push the invoice", fixable=True,
            ))  # fmt: skip
        session.commit()

    run("acme", "2026-09", [("amount_mismatch", "OLD-1")])
    run("acme", "2026-10", [("missing_there", "ACME-000001"), ("missing_there", "ACME-000002")])
    run("globex", "2026-10", [("extra_there", "GLOBEX-SECRET")])
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/sync").text
    assert 'data-testid="reconciliation"' in page and "2026-10" in page
    assert "2 difference(s)" in page
    missing = page.split('data-testid="differences-missing_there"', 1)[1].split("</table>")[0]
    assert "ACME-000001" in missing and "ACME-000002" in missing and "23.45" in missing
    assert "reconcile fix" in missing
    assert "OLD-1" not in page  # only the newest run
    assert "GLOBEX-SECRET" not in page  # never another partner's
    summary = page.split('data-testid="reconciliation-summary"', 1)[1].split("</table>")[0]
    assert "quickbooks:books" in summary and "123.45" in summary and "100.00" in summary
