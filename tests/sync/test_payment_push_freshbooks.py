"""`payment.push` to FreshBooks through the real connector and its fake: the payment lands on
the invoice once (FreshBooks takes no payment account), and read-back recognises it as ours."""

from __future__ import annotations

from datetime import UTC, date, datetime

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.payments import PaymentSource, record_payment
from connectors.base import ConnectionInfo
from connectors.freshbooks import build_connector
from connectors.http import RateBudget, RetryPolicy
from mappings.freshbooks import mapping_from_settings
from mappings.references import RefKind, get_ref
from sandbox.freshbooks import FakeFreshBooks
from sandbox.transport import FakeTokens
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxOp, OutboxStatus
from sync.readback import pull_payments
from sync.worker import Worker
from tests.sync.helpers import CONNECTION, Clock, issue, rows

ACCOUNT = "acc-pay"


async def _no_sleep(seconds: float) -> None:
    return None


def test_a_payment_reaches_freshbooks_once_and_is_not_read_back(
    engine: Engine, session: Session
) -> None:
    invoice = sorted(issue(session), key=lambda i: i.client_id)[0]
    fake = FakeFreshBooks(ACCOUNT, limits=False)
    tokens = FakeTokens(fake)

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(
            connection.id, connection.partner_id, "freshbooks", ACCOUNT, "https://fb.pay.test"
        )
        connector = build_connector(
            info,
            tokens,
            budget=RateBudget("fb-pay-test", None),
            retry=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        )
        return Remote(connector, mapping_from_settings({"tax_name": "Sales tax"}))

    recorded = record_payment(
        session,
        partner_id="acme",
        invoice_id=invoice.id or 0,
        amount_minor=1500,
        currency=invoice.currency,
        source=PaymentSource.STRIPE,
        external_id="ch_fb",
        received_at=datetime(2026, 11, 5, 12, tzinfo=UTC),
    )
    session.commit()
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="fb.pay.test").mock(side_effect=fake.handle)
        worker = Worker(engine, open_remote, clock=clock)
        for _ in range(4):
            worker.run_once()
            clock.advance(3600)
        report = pull_payments(
            engine, CONNECTION, date(2026, 1, 1), until=date(2027, 12, 31), open_remote=open_remote
        )
    [row] = [r for r in rows(session) if r.op is OutboxOp.PAYMENT_PUSH]
    assert row.status is OutboxStatus.DONE, row.last_error
    [payment] = fake.payments.values()
    assert str(payment["amount"]["amount"]) in ("15.00", "15")
    ref = get_ref(session, CONNECTION, RefKind.PAYMENT, str(recorded.payment.id))
    assert ref is not None and ref.remote_id == str(payment["id"])
    assert report.recorded == 0 and report.ours == 1
