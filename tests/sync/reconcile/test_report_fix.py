"""A partner without finance addresses is told so; `fix --apply` re-pushes an invoice deleted in QuickBooks (a dry run changes nothing); the
wholesale bill import names the bad field."""

from __future__ import annotations

import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session, select

from sync.models import OutboxStatus
from sync.reconcile import reconcile
from sync.reconcile.fixes import apply_fixes
from sync.reconcile.models import WholesaleBillLine
from sync.reconcile.report import queue_report
from sync.reconcile.repository import get_run
from sync.reconcile.wholesale import WholesaleImportError, import_wholesale_bill
from sync.worker import Worker
from tests.billing.invoicing.builders import last_month, month_text
from tests.fakes.quickbooks import FakeQuickBooks
from tests.sync.helpers import Clock, rows
from tests.sync.reconcile.test_reconcile import REALM, diffs_of, opener, pushed

HOST = "qbo.reconcile.test"


def _delete_first(fake: FakeQuickBooks, number: str) -> None:
    [theirs] = fake.invoices_by_number(number)
    del fake.store["Invoice"][theirs["Id"]]


def test_no_finance_address_is_a_clear_error(engine: Engine, session: Session) -> None:
    fake = FakeQuickBooks(REALM)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host=HOST).mock(side_effect=fake.handle)
        pushed(engine, session, fake, clients=2)
        run_id = reconcile(engine, "acme", month_text(last_month()), open_remote=opener(fake))
    session.rollback()
    run = get_run(session, run_id)
    assert run is not None
    with pytest.raises(ValueError, match="finance_emails"):
        queue_report(session, run)


def test_fix_apply_repushes_a_missing_invoice(engine: Engine, session: Session) -> None:
    fake = FakeQuickBooks(REALM)
    period = month_text(last_month())
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host=HOST).mock(side_effect=fake.handle)
        invoices = pushed(engine, session, fake)
        number = str(invoices[1].number)
        _delete_first(fake, number)
        run_id = reconcile(engine, "acme", period, open_remote=opener(fake))
        [dry] = apply_fixes(engine, run_id)
        assert not dry.applied and dry.message.startswith("would re-push")
        assert {r.status for r in rows(session)} == {OutboxStatus.DONE}
        [done] = apply_fixes(engine, run_id, apply=True)
        assert done.applied
        assert apply_fixes(engine, run_id, apply=True) == []  # fixed once
        clock = Clock()
        worker = Worker(engine, opener(fake), clock=clock)
        for _ in range(3):
            worker.run_once()
            clock.advance(3600)
        assert len(fake.invoices_by_number(number)) == 1
        again = reconcile(engine, "acme", period, open_remote=opener(fake))
    assert [(d.kind, d.subject) for d in diffs_of(session, again)] == []


def test_wholesale_import_replaces_and_names_bad_fields(session: Session) -> None:
    from tests.billing.invoicing.builders import SIMPLE, setup_partner

    setup_partner(session, SIMPLE)
    assert (
        import_wholesale_bill(
            session, "acme", "2026-10", "usage_type,quantity,amount\nvoice,10,4.005\n"
        )
        == 1
    )
    assert (
        import_wholesale_bill(
            session, "acme", "2026-10", "usage_type,quantity,amount\nvoice,12,5.5\n"
        )
        == 1
    )
    session.commit()
    [line] = session.exec(select(WholesaleBillLine)).all()
    assert (line.amount_minor, line.currency) == (550, "USD")
    with pytest.raises(WholesaleImportError, match="line 2: amount"):
        import_wholesale_bill(
            session, "acme", "2026-10", "usage_type,quantity,amount\nvoice,1,abc\n"
        )
    with pytest.raises(WholesaleImportError, match="header"):
        import_wholesale_bill(session, "acme", "2026-10", "type,qty\nvoice,1\n")
    with pytest.raises(ValueError, match="period"):
        import_wholesale_bill(session, "acme", "2026-13x", "usage_type,quantity,amount\n")
