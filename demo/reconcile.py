"""The last step of `make demo`: a reconciliation against the sandbox systems after the demo
itself plants four realistic problems, so the report can be checked against what was done:

1. an invoice deleted in QuickBooks by someone at the partner;
2. a payment recorded only in Xero (a bank transfer the partner entered there);
3. a late usage event for the demo month, arriving after its invoice was issued;
4. a platform wholesale bill whose line for one usage type disagrees with our computed cost.

The report must show exactly these and nothing else; `run_demo_reconciliation` returns the
differences' kinds so the demo (and its test) can say whether it did.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from billing.invoicing.models import Invoice, InvoiceStatus, InvoiceUsage
from billing.metering.service import ingest
from config.db import read_scope, session_scope
from config.money import from_minor
from sync.reconcile import reconcile
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from sync.reconcile.readable import readable_report
from sync.reconcile.report import as_text, queue_report
from sync.reconcile.wholesale import import_wholesale_bill

__all__ = ["EXPECTED_KINDS", "after_demo_hint", "run_demo_reconciliation"]

# What the four planted problems are reported as, by kind (the Xero payment shows as the
# invoice paid there but open here).
EXPECTED_KINDS = (
    "late_events_pending",
    "missing_there",
    "status_mismatch",
    "wholesale_cost_mismatch",
)
WHOLESALE_SURPLUS = Decimal("25.00")  # the platform bills this much more for one usage type


def _issued(session: Session, partner_id: str, period_start: date) -> list[Invoice]:
    return list(
        session.exec(
            select(Invoice)
            .where(
                col(Invoice.partner_id) == partner_id,
                col(Invoice.period_start) == period_start,
                col(Invoice.status).in_([InvoiceStatus.ISSUED]),
            )
            .order_by(col(Invoice.number))
        )
    )


def _bill_csv(session: Session, invoices: list[Invoice]) -> tuple[str, str]:
    """The platform's bill: our computed cost per usage type, one line raised by the surplus."""
    costs: dict[str, int] = defaultdict(int)
    query = (
        select(col(InvoiceUsage.usage_type), func.sum(InvoiceUsage.cost_minor))
        .where(col(InvoiceUsage.invoice_id).in_([i.id for i in invoices]))
        .group_by(col(InvoiceUsage.usage_type))
    )
    for usage_type, cost in session.execute(query):
        costs[usage_type] += int(cost or 0)
    currency = invoices[0].currency
    wrong = max(costs, key=lambda usage_type: costs[usage_type])
    lines = ["usage_type,quantity,amount"]
    for usage_type in sorted(costs):
        amount = from_minor(costs[usage_type], currency)
        if usage_type == wrong:
            amount += WHOLESALE_SURPLUS
        lines.append(f"{usage_type},0,{amount}")
    return "\n".join(lines) + "\n", wrong


def _plant_problems(engine: Engine, sandbox: Any, partner_id: str, period_start: date) -> list[str]:
    with read_scope(engine) as session:
        invoices = _issued(session, partner_id, period_start)
    if len(invoices) < 3:
        raise RuntimeError("the demo needs at least three issued invoices to reconcile")
    deleted, paid_there, late_client = invoices[0], invoices[1], invoices[2].client_id
    [theirs] = sandbox.quickbooks.invoices_by_number(str(deleted.number))
    del sandbox.quickbooks.store["Invoice"][theirs["Id"]]
    [xero_copy] = sandbox.xero.invoices_by_number(str(paid_there.number))
    sandbox.xero.pay(xero_copy["InvoiceID"], Decimal(str(xero_copy["Total"])))
    late_at = datetime.combine(period_start + timedelta(days=9), time(15), UTC)
    with session_scope(engine) as session:
        result = ingest(
            session,
            partner_id,
            [
                {
                    "event_id": f"{period_start:%Y%m}-late-demo-1",
                    "client": late_client,
                    "usage_type": "sms",
                    "quantity": "40",
                    "occurred_at": late_at.isoformat(),
                }
            ],
        )
        if result.rejections:
            raise RuntimeError(f"the late demo event was refused: {result.rejections}")
        csv_text, wrong = _bill_csv(session, invoices)
        import_wholesale_bill(session, partner_id, f"{period_start:%Y-%m}", csv_text)
    return [
        f"invoice {deleted.number} deleted in QuickBooks",
        f"invoice {paid_there.number} paid in full in Xero only",
        f"a late sms event for {late_client}",
        f"platform bill for {wrong} {WHOLESALE_SURPLUS} higher than our cost",
    ]


def run_demo_reconciliation(
    engine: Engine,
    sandbox: Any,
    partner_id: str,
    period_start: date,
    say: Callable[[str], None],
) -> tuple[int, list[str]]:
    """Plant the problems, reconcile, queue the report e-mail; the run and the differences'
    kinds."""
    planted = _plant_problems(engine, sandbox, partner_id, period_start)
    say("7. problems planted for reconciliation: " + "; ".join(planted))
    run_id = reconcile(engine, partner_id, f"{period_start:%Y-%m}")
    with session_scope(engine) as session:
        run = session.get(ReconcileRun, run_id)
        assert run is not None
        diffs = list(
            session.exec(
                select(ReconcileDifference)
                .where(col(ReconcileDifference.run_id) == run_id)
                .order_by(col(ReconcileDifference.id))
            )
        )
        queue_report(session, run)
        say(as_text(readable_report(session, run, diffs)).rstrip("\n"))
    kinds = sorted(d.kind for d in diffs)
    verdict = "exactly the planted problems" if kinds == sorted(EXPECTED_KINDS) else "UNEXPECTED"
    say(
        f"   report: {len(diffs)} differences, {verdict}; queued to the finance recipients "
        "with a CSV of every difference"
    )
    return run_id, kinds


def after_demo_hint(partner_id: str, period_start: date, run_id: int) -> str:
    """What the demo's last lines tell the user to run, once its sandboxes have stopped."""
    period = f"{period_start:%Y-%m}"
    return (
        f"   afterwards: python main.py reconcile show {run_id} prints this report again; "
        f"python main.py reconcile --partner {partner_id} --period {period} reconciles the "
        "period again with Rebill's own books (usage, ledger, payments, the platform bill). "
        "The QuickBooks and Xero sandboxes stop with the demo, so their connections are "
        "closed now and left out"
    )
