"""Sync throughput: push 2,000 issued invoices (each with a new customer) to the QuickBooks and
Xero fakes with their rate limits on, through the real connectors, HTTP client and worker.

Target (issue 6): at least 0.8 of the most the remote's limits allow with batching.
- QuickBooks: 40 `/batch` requests/min of 30 operations; each invoice needs two batched
  creates (its customer and itself): at most 40 x 30 / 2 = 600 invoices/min.
- Xero: 60 calls/min; contacts and invoices go 50 to a PUT, and each new customer needs a
  lookup first (by our ContactNumber or the partner's own contact by Name: one call per 50):
  3 calls per 50 invoices, at most 60 / 3 x 50 = 1,000 invoices/min. An invoice-number
  lookup is not counted: it is needed only when an earlier create of that invoice may have
  reached Xero (the worker's "attempted" marker), never on a first push.
QuickBooks' lookups (queries) are outside the /batch limit, under its own 500/min, and are
not the bound. The first minute of a run may exceed the per-minute pace (the windows start
empty), hence ratios slightly above 1 over a few minutes.
Time is the fakes' clock: real elapsed time plus every wait the rate budgets impose (the waits
are skipped, not slept, so the run takes seconds, yet the figure is what the limits allow).

    .venv/bin/python bench/sync.py                     # 2,000 invoices per remote
    .venv/bin/python bench/sync.py --invoices 300      # quick run
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._billing import add_connection, clients_toml, issue_month, last_month  # noqa: E402
from bench._common import fresh_sqlite  # noqa: E402
from billing.pricing.apply import apply_partner_file  # noqa: E402
from config.partner_file import parse_partner_toml  # noqa: E402
from connectors.base import ConnectionInfo  # noqa: E402
from connectors.http import RateBudget, RetryPolicy  # noqa: E402
from sync.handlers import Remote  # noqa: E402
from sync.models import OutboxRow, OutboxStatus  # noqa: E402
from sync.worker import Worker  # noqa: E402

PARTNER = """
[partner]
id = "bench"
name = "Bench Agency"
currency = "USD"
timezone = "UTC"
invoice_prefix = "B-"

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


def _setup(engine: Engine, invoices: int, providers: list[str]) -> None:
    with Session(engine) as session:
        apply_partner_file(
            session, parse_partner_toml(PARTNER + clients_toml(invoices)), datetime.now(UTC)
        )
        for provider in providers:
            add_connection(session, "bench", provider, provider, provider)
        session.commit()
        issue_month(session, "bench", last_month())


async def _skip(seconds: float) -> None:
    return None


def _remote(provider: str, fake: Any) -> Remote:
    """The real connector and mapping, with budgets on the fake's clock (waits advance it)."""

    async def wait(seconds: float) -> None:
        fake.advance(seconds)

    def budget(name: str, per_minute: int, **kw: Any) -> RateBudget:
        return RateBudget(name, per_minute, clock=fake.now, sleep=wait, max_wait=3600, **kw)

    info = ConnectionInfo(provider, "bench", provider, fake.tenant, fake.base_url)
    retry = RetryPolicy(max_attempts=4, sleep=wait)
    if provider == "quickbooks":
        from connectors.quickbooks import build_connector as build_qbo
        from mappings.quickbooks import mapping_from_settings as qbo_mapping

        connector = build_qbo(
            info,
            None,
            transport=fake.transport(),
            retry=retry,
            budget=budget("qbo", 500, concurrent=10),
            batch_budget=budget("qbo-batch", 40),
        )
        return Remote(connector, qbo_mapping({"default_income_account": "79"}))
    from connectors.xero import build_connector as build_xero
    from mappings.xero import mapping_from_settings as xero_mapping

    connector = build_xero(
        info,
        None,
        transport=fake.transport(),
        retry=retry,
        budget=budget("xero", 60, per_day=5000, concurrent=5),
    )
    return Remote(connector, xero_mapping({"default_account_code": "200"}))


def _fake(provider: str) -> Any:
    from sandbox.transport import FakeTransport

    if provider == "quickbooks":
        from sandbox.quickbooks import FakeQuickBooks

        fake: Any = FakeQuickBooks("9130357", require_auth=False)
        fake.tenant = "9130357"
    else:
        from sandbox.xero import FakeXero

        fake = FakeXero("tenant-bench", require_auth=False)
        fake.tenant = "tenant-bench"
    fake.transport = lambda: FakeTransport(fake)
    return fake


CEILING = {"quickbooks": 40 * 30 / 2, "xero": 60 / 3 * 50}


def run(provider: str, engine: Engine, invoices: int) -> None:
    fake = _fake(provider)
    worker = Worker(
        engine, lambda _c: _remote(provider, fake), batch_size=150, connection_id=provider
    )
    start = fake.now()
    while worker.run_once().claimed:
        pass
    minutes = (fake.now() - start) / 60
    with Session(engine) as session:
        done = len(
            session.exec(
                select(OutboxRow.id).where(
                    OutboxRow.connection_id == provider, OutboxRow.status == OutboxStatus.DONE
                )
            ).all()
        )
    rate = done / minutes if minutes else float("inf")
    ceiling = CEILING[provider]
    print(
        f"  {provider:<11} {done:>6,} invoices in {minutes:6.2f} min (fake clock): "
        f"{rate:7,.0f}/min, {rate / ceiling:4.2f} of the {ceiling:,.0f}/min the limits allow "
        f"(target >= 0.80); {len(fake.requests):,} requests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    args = parser.parse_args()
    providers = ["quickbooks", "xero"]
    engine, path = fresh_sqlite()
    print(f"sync bench: {args.invoices:,} invoices per remote (SQLite {path})")
    _setup(engine, args.invoices, providers)
    for provider in providers:
        run(provider, engine, args.invoices)


if __name__ == "__main__":
    main()
