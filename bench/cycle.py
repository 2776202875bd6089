"""A billing cycle at scale: accrue, close and issue for 10,000 clients and 1,000,000 events.

Target (issue 17): each step under 10 s, on SQLite and on PostgreSQL, the latter both with
tables never analysed (where a generic plan meets stale statistics) and analysed:
- accrue: one accrual run pricing the month into the ledger (entries and accrual state);
- close: a draft per client (lines and usage rows);
- issue: numbers, one ledger entry per invoice, billing events; without PDFs.
Also printed: approving all (one statement) and PDF rendering in invoices/s through the issuing
path (`--pdfs` invoices: PDF written, e-mail queued).

Set-up (not timed): a partner with four usage types and four plans covering every price model
(graduated, volume, package with blocks, per unit with blocks, base fee and minimum spend,
discount and tax on some clients), its clients, and last month's events through the metering
bulk ingest. Each PostgreSQL run gets a fresh schema.

    .venv/bin/python bench/cycle.py --database both                # 10,000 clients, 1M events
    .venv/bin/python bench/cycle.py --clients 2000 --events 200000 # quick run
    .venv/bin/python bench/cycle.py --database postgres --statistics never
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select  # noqa: E402

from bench._common import (  # noqa: E402
    Timer,
    analyse,
    at_most,
    freeze_statistics,
    fresh_postgres,
    fresh_sqlite,
    goal_summary,
)
from billing.invoicing.closing import close_cycles  # noqa: E402
from billing.invoicing.issuing import issue_invoices  # noqa: E402
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceStatus  # noqa: E402
from billing.invoicing.repository import InvoiceRepository  # noqa: E402
from billing.invoicing.service import approve_invoices  # noqa: E402
from billing.metering import ingest, load_catalog  # noqa: E402
from billing.pricing.accrual import accrue  # noqa: E402
from billing.pricing.apply import apply_partner_file  # noqa: E402
from billing.pricing.book import BEGINNING  # noqa: E402
from billing.pricing.models import ChangeSource, ClientTermsVersion  # noqa: E402
from billing.tenants import Client  # noqa: E402
from config.db import session_scope  # noqa: E402
from config.partner_file import parse_partner_toml  # noqa: E402
from ledger import trial_balance  # noqa: E402

PARTNER = "bench"
STEP_LIMIT = 10.0  # seconds per step (issue 17), on every database
PLANS = ("growth", "starter", "bundle", "metered")
TYPES = (("voice_minutes", 2), ("sms", 0), ("chat", 0), ("workflow_runs", 0))
TOML = """
[partner]
id = "bench"
name = "Bench Agency"
currency = "USD"
timezone = "UTC"
invoice_prefix = "B-"

[partner.branding]
sender_email = "billing@bench.example"

[usage_types.voice_minutes]
name = "Voice minutes"
unit = "minute"
precision = 2
wholesale = { model = "per_unit", unit_price = "0.045" }
[usage_types.sms]
name = "SMS"
unit = "message"
wholesale = { model = "per_unit", unit_price = "0.0079" }
[usage_types.chat]
name = "Chat conversations"
unit = "conversation"
wholesale = { model = "graduated", tiers = [ { up_to = 1000, unit_price = "0.02" }, { unit_price = "0.015" } ] }
[usage_types.workflow_runs]
name = "Workflow runs"
unit = "run"
wholesale = { model = "per_unit", unit_price = "0.001" }

[plans.growth]
name = "Growth"
base_fee = "99.00"
minimum_spend = "150.00"
[plans.growth.prices.voice_minutes]
model = "graduated"
tiers = [ { up_to = 1000, unit_price = "0.15" }, { up_to = 5000, unit_price = "0.12" }, { unit_price = "0.09" } ]
[plans.growth.prices.sms]
model = "package"
included = 1000
overage_unit_price = "0.02"
[plans.growth.prices.chat]
model = "per_unit"
unit_price = "0.05"

[plans.starter]
name = "Starter"
[plans.starter.prices.voice_minutes]
model = "per_unit"
unit_price = "0.18"
block_size = 1
[plans.starter.prices.sms]
model = "volume"
tiers = [ { up_to = 500, unit_price = "0.03" }, { unit_price = "0.02" } ]

[plans.bundle]
name = "Bundle"
base_fee = "49.00"
[plans.bundle.prices.sms]
model = "package"
included = 100
block_size = 1000
block_price = "10.00"
[plans.bundle.prices.workflow_runs]
model = "per_unit"
unit_price = "0.004"

[plans.metered]
name = "Metered"
[plans.metered.prices.voice_minutes]
model = "volume"
tiers = [ { up_to = 2000, unit_price = "0.14" }, { unit_price = "0.10" } ]
[plans.metered.prices.chat]
model = "graduated"
tiers = [ { up_to = 100, unit_price = "0.08" }, { unit_price = "0.06" } ]
"""


def last_month() -> date:
    first = datetime.now(UTC).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def populate(engine: Engine, clients: int, events: int, seed: int = 7) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        apply_partner_file(session, parse_partner_toml(TOML), now)
        stamps = {"created_at": now, "updated_at": now}
        session.execute(
            insert(Client),
            [
                {
                    "partner_id": PARTNER,
                    "id": f"c{n:05d}",
                    "name": f"Client {n}",
                    "billing_email": f"ap{n}@example.com",
                    "address": {},
                    "currency": "USD",
                    "timezone": "UTC",
                    "billing_anchor_day": 1,
                    "status": "active",
                    **stamps,
                }
                for n in range(clients)
            ],
        )
        session.execute(
            insert(ClientTermsVersion),
            [
                {
                    "partner_id": PARTNER,
                    "client_id": f"c{n:05d}",
                    "effective_from": BEGINNING,
                    "plan_code": PLANS[n % len(PLANS)],
                    "custom_plan": False,
                    "discount_percent": Decimal(10 if n % 5 == 0 else 0),
                    "tax_name": "Sales tax" if n % 3 == 0 else None,
                    "tax_percent": Decimal("8.25") if n % 3 == 0 else None,
                    "auto_charge": n % 2 == 0,
                    "source": ChangeSource.FILE,
                    "created_at": now,
                }
                for n in range(clients)
            ],
        )
    rng = random.Random(seed)
    start = datetime.combine(last_month(), datetime.min.time(), UTC)
    seconds = int(
        (
            datetime.combine(date.today().replace(day=1), datetime.min.time(), UTC) - start
        ).total_seconds()
    )
    with session_scope(engine) as session:
        catalog = load_catalog(session, PARTNER)
    chunk: list[dict[str, Any]] = []
    for n in range(events):
        code, precision = TYPES[rng.randrange(len(TYPES))]
        chunk.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "client": f"c{rng.randrange(clients):05d}",
                "usage_type": code,
                "quantity": Decimal(rng.randrange(1, 3000 if precision else 40)).scaleb(-precision),
                "occurred_at": (start + timedelta(seconds=rng.randrange(seconds))).isoformat(),
            }
        )
        if len(chunk) == 10_000 or n == events - 1:
            with session_scope(engine) as session:
                result = ingest(session, PARTNER, chunk, catalog=catalog)
                assert not result.rejections, result.rejections[:3]
            chunk = []


def run(
    engine: Engine,
    clients: int,
    events: int,
    pdfs: int,
    before: Callable[[Engine], None] | None = None,
) -> dict[str, float]:
    """Set-up (not timed), then the cycle's three steps, each timed in its own transaction:
    accrue (pricing the period into the ledger), close (drafts), issue (without PDFs)."""
    figures: dict[str, float] = {}
    with Timer() as timer:
        populate(engine, clients, events)
    print(f"  set-up: {clients:,} clients, {events:,} events in {timer.seconds:.1f} s")
    if before is not None:
        before(engine)
    gc.collect()
    gc.freeze()  # what set-up left in memory is not the cycle's work
    print(f"  load average before the steps: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cpu = time.process_time()
    with Timer() as timer, session_scope(engine) as session:
        accrue(
            session,
            PARTNER,
            datetime.combine(date.today().replace(day=1), datetime.min.time(), UTC)
            + timedelta(hours=12),
        )
    figures["accrue"] = timer.seconds
    figures["accrue_cpu"] = time.process_time() - cpu
    gc.collect()
    cpu = time.process_time()
    with Timer() as timer, session_scope(engine) as session:
        result = close_cycles(session, PARTNER, period=f"{last_month():%Y-%m}")
    figures["close"] = timer.seconds
    figures["close_cpu"] = time.process_time() - cpu
    assert len(result.created) == clients, (len(result.created), clients)
    with Timer() as timer, session_scope(engine) as session:
        approved = approve_invoices(session, PARTNER, by="bench")
    figures["approve"] = timer.seconds
    with session_scope(engine) as session:
        ids = InvoiceRepository(session).ids_with_status(PARTNER, InvoiceStatus.APPROVED)
    sample, rest = ids[:pdfs], ids[pdfs:]
    gc.collect()
    cpu = time.process_time()
    with Timer() as timer, session_scope(engine) as session:
        issued = issue_invoices(session, PARTNER, rest, documents=False)
    figures["issue"] = timer.seconds
    figures["issue_cpu"] = time.process_time() - cpu
    with (
        tempfile.TemporaryDirectory() as folder,
        Timer() as timer,
        session_scope(engine) as session,
    ):
        issue_invoices(session, PARTNER, sample, documents=True, directory=Path(folder))
    figures["pdf_rate"] = len(sample) / timer.seconds if sample else 0
    gc.unfreeze()
    with session_scope(engine) as session:
        lines = session.scalar(select(func.count()).select_from(InvoiceLine)) or 0
        total = session.scalar(select(func.sum(Invoice.total_minor))) or 0  # type: ignore[arg-type]
        balanced = trial_balance(session, PARTNER).is_balanced
    print(
        f"  {len(result.created):,} drafts ({lines:,} lines), {approved:,} approved, "
        f"{len(issued.invoices) + len(sample):,} issued; invoiced {total / 100:,.2f} USD; "
        f"trial balance {'balanced' if balanced else 'NOT BALANCED'}"
    )
    return figures


def report(figures: dict[str, float], where: str) -> None:
    """Each step beside its ceiling (issue 17: under 10 s per step on both databases)."""
    at_most(f"{where}: accrue", figures["accrue"], STEP_LIMIT, "s")
    at_most(f"{where}: close (drafts)", figures["close"], STEP_LIMIT, "s")
    at_most(f"{where}: issue without PDFs", figures["issue"], STEP_LIMIT, "s")
    # SQLite runs in this process, so its CPU time is the step's work whatever the load;
    # PostgreSQL's server time is not in it.
    cpu = ", ".join(
        f"{step} {figures[step + '_cpu']:.1f} s" for step in ("accrue", "close", "issue")
    )
    print(f"  {where}: CPU time of this process per step: {cpu}")
    print(f"  {where + ': approve all (one statement)':<52} {figures['approve']:>14,.2f} s")
    if figures["pdf_rate"]:  # `--pdfs 0` renders none
        print(
            f"  {where + ': issue with PDF + e-mail queued':<52} "
            f"{figures['pdf_rate']:>14,.1f} invoices/s"
        )


def postgres_run(args: argparse.Namespace, statistics: str) -> None:
    """One cycle in a fresh schema: `never` keeps every table never analysed (autovacuum off
    from before the first row, so generic plans meet stale statistics); `analysed` runs
    ANALYZE after set-up, before the timed steps."""
    print(f"== PostgreSQL, tables {statistics}")
    with fresh_postgres() as pg:
        if pg is None:
            return
        if statistics == "never analysed":
            freeze_statistics(pg)
            figures = run(pg, args.clients, args.events, args.pdfs)
        else:
            figures = run(pg, args.clients, args.events, args.pdfs, before=analyse)
        report(figures, f"PostgreSQL, {statistics}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pdfs", type=int, default=20, help="invoices issued with PDFs")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres", "both"),
        default="sqlite",
        help="PostgreSQL: REBILL_BENCH_PG_URL (default the local test database)",
    )
    parser.add_argument(
        "--statistics",
        choices=("never", "analysed", "both"),
        default="both",
        help="PostgreSQL: tables never analysed, analysed after set-up, or one run of each",
    )
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        print("== SQLite")
        engine, _ = fresh_sqlite()
        report(run(engine, args.clients, args.events, args.pdfs), "SQLite")
        engine.dispose()
    if args.database in ("postgres", "both"):
        if args.statistics in ("never", "both"):
            postgres_run(args, "never analysed")
        if args.statistics in ("analysed", "both"):
            postgres_run(args, "analysed")
    print(f"  ({args.clients:,} clients, {args.events:,} events)")
    goal_summary()


if __name__ == "__main__":
    main()
