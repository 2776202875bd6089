"""Reconciliation against the QuickBooks fake behind respx: a clean period has no difference;
a deleted invoice, a payment only there, a late event, a disagreeing wholesale bill line and a
foreign invoice are each found, with the fix data a re-push needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import respx
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.base import ConnectionInfo
from connectors.http import RetryPolicy
from connectors.quickbooks import build_connector
from mappings.quickbooks import mapping_from_settings
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxStatus
from sync.reconcile import reconcile, run_due_reconciliations
from sync.reconcile.models import ReconcileDifference, ReconcileRun, WholesaleBillLine
from sync.worker import Worker
from tests.billing.invoicing.builders import at, last_month, month_text, send
from tests.sync.helpers import Clock, issue, rows

REALM = "9130357"
BASE = "https://qbo.reconcile.test"


async def _no_sleep(seconds: float) -> None:
    return None


def opener(fake: FakeQuickBooks):  # type: ignore[no-untyped-def]
    tokens = FakeTokens(fake)
    mapping = mapping_from_settings(
        {"default_income_account": "79", "tax_code": "TAX", "non_tax_code": "NON"}
    )

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(connection.id, connection.partner_id, "quickbooks", REALM, BASE)
        retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        return Remote(build_connector(info, tokens, retry=retry), mapping)

    return open_remote


def pushed(engine: Engine, session: Session, fake: FakeQuickBooks, clients: int = 3) -> list:  # type: ignore[type-arg]
    invoices = issue(session, clients=clients)
    clock = Clock()
    worker = Worker(engine, opener(fake), clock=clock)
    for _ in range(4):
        worker.run_once()
        clock.advance(3600)
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}
    return invoices


def diffs_of(session: Session, run_id: int) -> list[ReconcileDifference]:
    session.rollback()
    query = select(ReconcileDifference).where(ReconcileDifference.run_id == run_id)
    return list(session.exec(query))


def test_clean_period_reports_nothing(engine: Engine, session: Session) -> None:
    fake = FakeQuickBooks(REALM)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.reconcile.test").mock(side_effect=fake.handle)
        invoices = pushed(engine, session, fake)
        run_id = reconcile(engine, "acme", month_text(last_month()), open_remote=opener(fake))
    assert [(d.kind, d.subject) for d in diffs_of(session, run_id)] == []
    run = session.get(ReconcileRun, run_id)
    assert run is not None
    [system] = [k for k in run.summary if k.startswith("memory:")]
    assert run.summary[system]["matched"] == len(invoices)
    assert run.summary[system]["ours_minor"] == sum(i.total_minor for i in invoices)
    assert run.summary["ledger"]["matched"] == len(invoices)


def test_each_problem_is_found(engine: Engine, session: Session) -> None:
    fake = FakeQuickBooks(REALM)
    month = last_month()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.reconcile.test").mock(side_effect=fake.handle)
        invoices = pushed(engine, session, fake)
        deleted, paid_there = invoices[0], invoices[1]
        [theirs] = fake.invoices_by_number(str(deleted.number))
        del fake.store["Invoice"][theirs["Id"]]  # deleted by someone in QuickBooks
        [other] = fake.invoices_by_number(str(paid_there.number))
        fake.pay(other["Id"], other["TotalAmt"])
        foreign = dict(
            other, Id="999001", DocNumber="HAND-1", Balance=other["TotalAmt"]
        )  # entered by hand there
        fake.store["Invoice"]["999001"] = foreign
        send(session, [("late-1", "c1", "voice", "5", at(month, 3))])
        session.add(
            WholesaleBillLine(
                partner_id="acme",
                period=month_text(month),
                usage_type="voice",
                quantity=Decimal("123.45"),
                amount_minor=999_99,
                currency="USD",
            )
        )
        session.commit()
        run_id = reconcile(engine, "acme", month_text(month), open_remote=opener(fake))
    found = {(d.kind, d.invoice_number or d.usage_type) for d in diffs_of(session, run_id)}
    assert ("missing_there", str(deleted.number)) in found
    assert ("status_mismatch", str(paid_there.number)) in found
    assert ("wholesale_cost_mismatch", "voice") in found
    assert ("extra_there", "HAND-1") in found
    late = [d for d in diffs_of(session, run_id) if d.kind == "late_events_pending"]
    assert len(late) == 1 and (late[0].client_id, late[0].usage_type) == ("c1", "voice")
    missing = next(d for d in diffs_of(session, run_id) if d.kind == "missing_there")
    assert missing.fixable and missing.fix == {
        "action": "repush",
        "connection_id": "conn-1",
        "invoice_id": deleted.id,
    }
    assert missing.amount_minor == deleted.total_minor
    from sync.reconcile.fixes import apply_fixes

    messages = sorted(o.message for o in apply_fixes(engine, run_id))
    system = "Memory (connection conn-1)"  # the remote has not named itself
    assert messages[0].startswith(f"would pull payments from {system}")
    assert messages[1].startswith(f"would re-push invoice {deleted.number} to {system}")


def test_due_runs_once_a_day(engine: Engine, session: Session) -> None:
    from datetime import UTC, datetime

    fake = FakeQuickBooks(REALM)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.reconcile.test").mock(side_effect=fake.handle)
        pushed(engine, session, fake, clients=2)
        today = date.today()
        early = datetime(today.year, today.month, today.day, 5, tzinfo=UTC)
        assert run_due_reconciliations(engine, early, open_remote=opener(fake)) == []
        later = early.replace(hour=7)
        assert len(run_due_reconciliations(engine, later, open_remote=opener(fake))) == 1
        assert (
            run_due_reconciliations(engine, later.replace(hour=9), open_remote=opener(fake)) == []
        )


def test_unreadable_system_is_a_difference_not_a_crash(engine: Engine, session: Session) -> None:
    fake = FakeQuickBooks(REALM)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.reconcile.test").mock(side_effect=fake.handle)
        pushed(engine, session, fake, clients=2)
        fake.fail_next("500", count=10)
        run_id = reconcile(engine, "acme", month_text(last_month()), open_remote=opener(fake))
    [diff] = diffs_of(session, run_id)
    system = "Memory (connection conn-1)"
    assert (diff.kind, diff.severity, diff.subject) == ("system_unreadable", "error", system)
    assert diff.system_name == system and "memory:conn-1" not in diff.theirs
    assert diff.theirs.startswith(f"could not read: {system} could not be reached")
    run = session.get(ReconcileRun, run_id)
    assert run is not None and run.summary["usage"]["matched"] >= 1  # the rest still ran


def test_invoice_without_ledger_entry(session: Session) -> None:
    from sync.reconcile.compare_books import compare_ledger

    invoices = issue(session, clients=2)
    unposted = invoices[0].model_copy(update={"ledger_entry_id": None})
    tally, found = compare_ledger(session, [unposted, invoices[1]])
    assert [(d.kind, d.invoice_number, d.amount_minor) for d in found] == [
        ("not_in_ledger", str(unposted.number), unposted.total_minor)
    ]
    assert tally.matched == 1


def test_usage_kinds(session: Session) -> None:
    """A late correction (received after issue, lowering usage) is pending, not an error;
    usage billed that the period's events do not hold is an error."""
    from datetime import timedelta

    from sync.reconcile.compare_books import compare_usage
    from sync.reconcile.names import load_names

    month = last_month()
    invoices = issue(session, clients=2)
    send(session, [("v2", "c2", "voice", "10", at(month, 4))])
    ingest_adjustment = [
        {
            "event_id": "fix-1",
            "client": "c2",
            "usage_type": "voice",
            "quantity": "-4",
            "occurred_at": at(month, 4),
            "adjusts": "v2",
        }
    ]
    from billing.metering import ingest

    assert not ingest(session, "acme", ingest_adjustment).rejections
    session.commit()
    _, found = compare_usage(session, invoices, names=load_names(session, "acme", "USD"))
    [late] = found
    assert (late.kind, late.client_id) == ("late_events_pending", "c2")
    assert late.ours == "6.00 minutes received (some after the invoice was issued)"
    assert late.theirs == "0.00 minutes invoiced"  # the voice precision is 2
    assert "the 6.00 minutes not yet invoiced go on the next invoice of Client Two" in late.action
    # An invoice whose window no longer holds the event it billed (the store cannot lose one:
    # usage events are immutable), as a period cut short would leave it.
    first = invoices[0]
    cut = first.model_copy(update={"period_end_at": first.period_start_at + timedelta(days=1)})
    invoices = [cut, invoices[1]]
    _, found = compare_usage(session, invoices)
    kinds = sorted((d.kind, d.client_id) for d in found)
    assert kinds == [("late_events_pending", "c2"), ("usage_invoiced_without_events", "c1")]


def test_ledger_after_accrual_and_a_tampered_invoice(session: Session) -> None:
    """Accrual moved usage revenue and cost before issue: the issue entry still accounts for
    the whole invoice; an invoice whose figures differ from its entry is caught per leg."""
    from sync.reconcile.compare_books import compare_ledger
    from tests.billing.invoicing.builders import SIMPLE, close_and_issue, run_accrual, setup_partner

    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    invoices = close_and_issue(session, month)
    tally, found = compare_ledger(session, invoices)
    assert found == [] and tally.matched == len(invoices)
    changed = invoices[0].model_copy(
        update={"total_minor": invoices[0].total_minor + 100, "cost_currency": "USD"}
    )
    _, found = compare_ledger(session, [changed])
    assert sorted((d.kind, d.amount_minor) for d in found) == [
        ("ledger_receivable_mismatch", 100),
        ("ledger_revenue_mismatch", 100),
    ]
