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
        select(BillingEvent).where(
            BillingEvent.partner_id == partner, BillingEvent.subject_id == str(invoice.id)
        )
    ).first()
    assert event is not None
    row = OutboxRow(
        connection_id=connection,
        partner_id=partner,
        billing_event_id=event.id,
        op=OutboxOp.INVOICE_PUSH,
        subject_id=f"invoice:{invoice.id}",
        our_id=str(invoice.id),
        status=OutboxStatus(status),
        attempts=8,
        last_error="rejected: TotalAmt does not match" if status == "dead" else None,
    )
    session.add(row)
    session.commit()
    return int(row.id)


def test_outbox_dead_rows_retry_and_invoice_sync_status(
    app_client: TestClient, world: World, session: Session
) -> None:
    conn = Connection(partner_id="acme", name="books", provider="quickbooks", status="active")
    other = Connection(partner_id="globex", name="theirs", provider="xero", status="active")
    session.add(conn)
    session.add(other)
    session.commit()
    [first, second] = session.exec(
        select(Invoice)
        .where(Invoice.partner_id == "acme", Invoice.number.is_not(None))  # type: ignore[union-attr]
        .order_by(Invoice.id)
    ).all()
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
    from sync.reconcile.readable import readable_report

    def run(partner: str, period: str, kinds: list[tuple[str, str]]) -> ReconcileRun:
        row = ReconcileRun(
            partner_id=partner,
            period=period,
            period_start=date(2026, 10, 1),
            period_end=date(2026, 11, 1),
            started_at=datetime.now(UTC),
            finished_at=datetime.now(UTC),
            differences=len(kinds),
            summary={
                "quickbooks:books": {
                    "name": "QuickBooks Online: Acme Books Inc.",
                    "matched": 7,
                    "ours_minor": 1234567,
                    "theirs_minor": 1000000,
                    "notes": [],
                }
            },
        )
        session.add(row)
        session.flush()
        for kind, number in kinds:
            session.add(
                ReconcileDifference(
                    run_id=row.id,
                    kind=kind,
                    severity="error",
                    system="quickbooks:books",
                    system_name="QuickBooks Online: Acme Books Inc.",
                    subject=f"Invoice {number}, Client One",
                    ours="invoice of 2,345.00 USD",
                    theirs="not found",
                    amount_minor=234500,
                    currency="USD",
                    action=f"Send invoice {number} again.",
                    fixable=True,
                    invoice_number=number,
                    client_id="c1",
                    client_name="Client One",
                )
            )
        session.commit()
        return row

    run("acme", "2026-09", [("amount_mismatch", "OLD-1")])
    latest = run(
        "acme", "2026-10", [("missing_there", "ACME-000001"), ("missing_there", "ACME-000002")]
    )
    run("globex", "2026-10", [("extra_there", "GLOBEX-SECRET")])
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/sync").text
    assert 'data-testid="reconciliation"' in page and "October 2026" in page
    assert "2 differences (2 errors, 0 warnings), 4,690.00 USD at stake" in page
    missing = page.split('data-testid="differences-missing_there"', 1)[1].split("</table>")[0]
    assert "ACME-000001" in missing and "ACME-000002" in missing and "2,345.00 USD" in missing
    assert f"python main.py reconcile fix {latest.id} --difference" in missing
    assert "Invoice missing in the accounting system" in page
    assert "OLD-1" not in page  # only the newest run
    assert "GLOBEX-SECRET" not in page  # never another partner's
    summary = page.split('data-testid="reconciliation-summary"', 1)[1].split("</table>")[0]
    assert "QuickBooks Online: Acme Books Inc." in summary and "quickbooks:books" not in summary
    assert "12,345.67 USD" in summary and "10,000.00 USD" in summary
    # The page prints the report's own figures: the same function as the e-mail and the CLI.
    report = readable_report(session, latest, base_url="")
    stake = page.split('data-testid="at-stake">', 1)[1].split("<", 1)[0]
    assert stake == ", ".join(report.at_stake) == "4,690.00 USD"
    for item in report.differences:
        shown = page.split(f'data-testid="stake-{item.id}">', 1)[1].split("<", 1)[0]
        assert shown == item.at_stake


def test_invoice_badges_show_active_connections_and_what_reconciliation_found_missing(
    app_client: TestClient, world: World, session: Session
) -> None:
    from datetime import date

    from sync.reconcile.models import ReconcileDifference, ReconcileRun

    books = Connection(partner_id="acme", name="books", provider="quickbooks", status="active")
    gone = Connection(partner_id="acme", name="oldxero", provider="xero", status="disconnected")
    session.add_all([books, gone])
    session.commit()
    [first, second] = session.exec(
        select(Invoice)
        .where(Invoice.partner_id == "acme", Invoice.number.is_not(None))  # type: ignore[union-attr]
        .order_by(Invoice.id)
    ).all()
    for invoice in (first, second):
        _outbox(session, "acme", books.id, "done", invoice)
        _outbox(session, "acme", gone.id, "dead", invoice)
    sign_in(app_client, "ann@acme.example")
    listing = app_client.get("/dashboard/p/acme/invoices").text
    assert (
        "books: done" in listing and "oldxero" not in listing
    )  # a disconnected system says nothing

    run = ReconcileRun(
        partner_id="acme",
        period="2026-10",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
    )
    session.add(run)
    session.flush()
    session.add(
        ReconcileDifference(
            run_id=run.id,
            kind="missing_there",
            severity="error",
            system="quickbooks:books",
            subject=f"Invoice {first.number}",
            invoice_id=first.id,
            invoice_number=first.number,
        )
    )
    session.commit()
    listing = app_client.get("/dashboard/p/acme/invoices").text
    row_of = {
        i.id: listing.split(f'data-invoice="{i.id}"', 1)[1].split("</tr>", 1)[0]
        for i in (first, second)
    }
    assert "books: missing there (latest reconciliation)" in row_of[first.id]
    assert "books: done" in row_of[second.id] and "missing" not in row_of[second.id]
    only_missing = app_client.get("/dashboard/p/acme/invoices?sync=missing").text
    assert f'data-invoice="{first.id}"' in only_missing
    assert f'data-invoice="{second.id}"' not in only_missing.split('data-testid="issued"', 1)[1]

    for connection in (books, gone):
        session.delete(connection)
    session.commit()
    assert "no connection in use" in app_client.get("/dashboard/p/acme/invoices").text
