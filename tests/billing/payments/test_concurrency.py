"""Two processes report the same payments at the same moment (a webhook delivered twice, a
read-back racing the webhook): each is recorded once, and the invoice adds up. On PostgreSQL
the transactions really overlap and queue on the invoice row; on SQLite writers take turns."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlmodel import Session

from billing.invoicing.models import Invoice, InvoiceStatus
from billing.invoicing.service import get_invoice
from billing.payments import payments_for_invoice
from ledger import trial_balance
from tests.billing.invoicing.builders import balance

SHARED = 10  # payments both processes report
OWN = 5  # payments only one process reports


def _report(invoice_id: int, offset: int, start: Barrier, results: Any) -> None:
    from billing.payments import PaymentSource, record_payment
    from config.db import session_scope
    from tests.billing.payments.conftest import PAID_AT

    start.wait(timeout=300)
    created = 0
    names = [f"shared-{k}" for k in range(SHARED)] + [f"own-{offset}-{k}" for k in range(OWN)]
    for name in names:
        with session_scope() as session:
            _, fresh = record_payment(
                session,
                partner_id="acme",
                invoice_id=invoice_id,
                amount_minor=100,
                currency="USD",
                source=PaymentSource.STRIPE,
                connection_id="acct",
                external_id=name,
                received_at=PAID_AT,
                fee_minor=3,
            )
            created += fresh
    results.put(created)


@pytest.mark.slow
def test_two_processes_record_each_payment_once(session: Session, invoice: Invoice) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_report, args=(invoice.invoice_id, offset, start, results))
        for offset in (0, 1)
    ]
    for worker in workers:
        worker.start()
    created = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    expected = SHARED + 2 * OWN
    assert sum(created) == expected
    session.expire_all()
    assert len(payments_for_invoice(session, "acme", invoice.invoice_id)) == expected
    paid = get_invoice(session, "acme", invoice.invoice_id)
    assert paid.amount_paid_minor == 100 * expected
    assert paid.status is InvoiceStatus.PARTIALLY_PAID
    assert balance(session, "1200") == 3300 - 100 * expected
    assert balance(session, "1050") == 97 * expected
    assert trial_balance(session, "acme").is_balanced
