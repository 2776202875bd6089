"""Reconciliation at scale: a period of 10,000 issued invoices against the QuickBooks fake
(listing paginated, 1,000 a page, through the real connector and HTTP client).

Target (issue 8): under 60 s; the figures say where the time goes (load our side, remote
listing, compare, store, report).

Set-up (not timed): a partner with 10,000 clients and 10 voice events each, one cycle closed
and issued for real (ledger entries, usage rows), one late event, a platform bill for the month, then the fake filled with what the sync worker would have
pushed (same numbers, totals, dates and customers) and our external references, so the
period reconciles clean except for a handful of planted problems (a deleted invoice, one
paid only there, one with another amount, one foreign invoice, the late event).

    .venv/bin/python bench/reconcile.py                    # 10,000 invoices
    .venv/bin/python bench/reconcile.py --invoices 1000    # quick run
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._billing import add_connection, clients_toml, issue_month, last_month  # noqa: E402
from bench._common import fresh_sqlite  # noqa: E402
from billing.invoicing.models import Invoice  # noqa: E402
from billing.pricing.apply import apply_partner_file  # noqa: E402
from config.partner_file import parse_partner_toml  # noqa: E402
from connectors.base import ConnectionInfo  # noqa: E402
from connectors.http import RetryPolicy  # noqa: E402
from mappings.models import ExternalRef, RefKind  # noqa: E402
from sync.handlers import Remote  # noqa: E402
from sync.reconcile.readable import readable_report  # noqa: E402
from sync.reconcile.report import as_csv, as_text, build_email  # noqa: E402
from sync.reconcile.repository import differences_of, get_run  # noqa: E402
from sync.reconcile.service import reconcile  # noqa: E402
from sync.reconcile.wholesale import import_wholesale_bill  # noqa: E402

PARTNER = """
[partner]
id = "bench"
name = "Bench Partner"
currency = "USD"
timezone = "UTC"
invoice_prefix = "B-"
finance_emails = ["finance@bench.example"]

[partner.branding]
sender_name = "Bench Billing"
sender_email = "billing@bench.example"

[usage_types.voice]
name = "Voice minutes"
unit = "minute"
wholesale = { model = "per_unit", unit_price = "0.04" }

[plans.std]
name = "Standard"
base_fee = "20.00"
[plans.std.prices.voice]
model = "per_unit"
unit_price = "0.10"
"""


def _setup(engine: Engine, invoices: int, per_client: int) -> str:
    with Session(engine) as session:
        apply_partner_file(
            session, parse_partner_toml(PARTNER + clients_toml(invoices)), datetime.now(UTC)
        )
        add_connection(session, "bench", "qbo", "books", "quickbooks")
        session.commit()
        month = last_month()
        _events(session, invoices, per_client, month)
        issue_month(session, "bench", month)
        late = datetime.combine(month + timedelta(days=3), datetime.min.time(), UTC)
        _ingest(
            session,
            [
                {
                    "event_id": "late-1",
                    "client": "c00004",
                    "usage_type": "voice",
                    "quantity": "5",
                    "occurred_at": late.isoformat(),
                }
            ],
        )
        # The platform's bill for the month (voice only, a round figure): its comparison reads
        # the period's cost as margins computes it, for every client, so it is timed too.
        import_wholesale_bill(
            session, "bench", f"{month:%Y-%m}", "usage_type,quantity,amount\nvoice,0,1000.00\n"
        )
        session.commit()
    return f"{month:%Y-%m}"


def _events(session: Session, clients: int, per_client: int, month: date) -> None:
    """`per_client` voice events for every client, spread over the month."""
    from billing.metering import load_catalog

    catalog = load_catalog(session, "bench")
    chunk: list[dict[str, Any]] = []
    total = clients * per_client
    for n in range(total):
        chunk.append(
            {
                "event_id": f"e{n}",
                "client": f"c{n % clients:05}",
                "usage_type": "voice",
                "quantity": str(1 + n % 97),
                "occurred_at": datetime.combine(
                    month + timedelta(days=n % 27), datetime.min.time(), UTC
                )
                .replace(hour=n % 24)
                .isoformat(),
            }
        )
        if len(chunk) == 10_000 or n == total - 1:
            _ingest(session, chunk, catalog)
            chunk = []


def _ingest(session: Session, events: list[dict[str, Any]], catalog: Any = None) -> None:
    from billing.metering import ingest

    result = ingest(session, "bench", events, catalog=catalog)
    assert not result.rejections, result.rejections[:3]
    session.commit()


def _fill_fake(engine: Engine, fake: Any) -> None:
    """What the worker would have pushed, plus planted problems."""
    with Session(engine) as session:
        invoices = list(session.exec(select(Invoice).order_by(Invoice.id)))  # type: ignore[arg-type]
        refs = []
        now = datetime.now(UTC)
        for n, invoice in enumerate(invoices):
            remote_id, customer = str(10_000 + n), str(900_000 + n)
            total = Decimal(invoice.total_minor).scaleb(-2)
            fake.store["Invoice"][remote_id] = {
                "Id": remote_id,
                "SyncToken": "0",
                "DocNumber": invoice.number,
                "TxnDate": str(invoice.issue_date),
                "CustomerRef": {"value": customer},
                "CurrencyRef": {"value": "USD"},
                "TotalAmt": total,
                "Balance": total,
            }
            refs.append(
                ExternalRef(
                    connection_id="qbo",
                    kind=RefKind.INVOICE,
                    our_id=str(invoice.id),
                    remote_id=remote_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            refs.append(
                ExternalRef(
                    connection_id="qbo",
                    kind=RefKind.CUSTOMER,
                    our_id=invoice.client_id,
                    remote_id=customer,
                    created_at=now,
                    updated_at=now,
                )
            )
        session.add_all(refs)
        session.commit()
    store = fake.store["Invoice"]
    del store["10000"]
    store["10001"]["Balance"] = Decimal(0)
    store["10002"]["TotalAmt"] += Decimal("1.00")  # edited there after sync
    store["10002"]["Balance"] += Decimal("1.00")
    store["99999"] = dict(store["10003"], Id="99999", DocNumber="HAND-1")  # not ours


def _remote(fake: Any) -> Remote:
    from connectors.quickbooks import build_connector
    from mappings.quickbooks import mapping_from_settings

    async def wait(seconds: float) -> None:
        return None

    info = ConnectionInfo("qbo", "bench", "quickbooks", "9130357", fake.base_url)
    connector = build_connector(
        info,
        None,
        transport=fake.transport(),
        retry=RetryPolicy(max_attempts=2, sleep=wait),
        page_size=1000,
    )
    return Remote(connector, mapping_from_settings({"default_income_account": "79"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--events-per-client", type=int, default=10)
    args = parser.parse_args()
    from sandbox.quickbooks import FakeQuickBooks
    from sandbox.transport import FakeTransport

    engine, path = fresh_sqlite()
    print(
        f"set-up: {args.invoices} clients, {args.events_per_client} events each, close and "
        f"issue, fill the fake ({path})"
    )
    started = time.perf_counter()
    period = _setup(engine, args.invoices, args.events_per_client)
    fake: Any = FakeQuickBooks("9130357", require_auth=False)
    fake.transport = lambda: FakeTransport(fake)
    _fill_fake(engine, fake)
    print(f"  set-up took {time.perf_counter() - started:.1f} s (not timed)")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    run_id = reconcile(
        engine, "bench", period, open_remote=lambda _c: _remote(fake), timings=timings
    )
    tick = time.perf_counter()
    with Session(engine) as session:
        run = get_run(session, run_id)
        assert run is not None
        diffs = differences_of(session, run_id)
        report = readable_report(session, run, diffs)
        text = as_text(report)
        from billing.tenants.models import Partner

        partner = session.get(Partner, "bench")
        assert partner is not None
        message = build_email(partner, report)
        size = len(as_csv(report)) + len(message.as_bytes())
    timings["report"] = time.perf_counter() - tick
    total = time.perf_counter() - started
    print("\n".join(text.splitlines()[:4]))
    print(f"differences: {sorted({(d.kind, d.invoice_number or d.subject) for d in diffs})}")
    print(f"\nreconciled {args.invoices} invoices in {total:.2f} s (target < 60 s)")
    for name, seconds in timings.items():
        print(f"  {name:<16} {seconds:7.2f} s")
    print(f"  (report e-mail + CSV {size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
