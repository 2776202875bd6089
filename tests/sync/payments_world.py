"""A partner with invoices and two accounting connections on the real connectors and their
fakes behind respx: ``conn-1`` QuickBooks, ``conn-x`` Xero (used by the payment push and
read-back tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.models import Invoice
from billing.payments import PaymentMethod, PaymentSource, record_payment
from connectors.base import ConnectionInfo
from connectors.http import RateBudget, RetryPolicy
from connectors.quickbooks import build_connector as build_quickbooks
from connectors.xero import build_connector as build_xero
from mappings import quickbooks, xero
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from sandbox.xero import FakeXero
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.worker import Worker
from tests.billing.invoicing.builders import at, close_and_issue, last_month, send, setup_partner
from tests.sync.helpers import CONNECTION, Clock, connect, partner_toml

QBO, XERO = CONNECTION, "conn-x"
REALM, TENANT = "9130357", "tenant-pay"
QBO_SETTINGS: dict[str, object] = {
    "default_income_account": "79",
    "tax_code": "TAX",
    "non_tax_code": "NON",
    "deposit_account": "35",
}
XERO_SETTINGS: dict[str, object] = {
    "default_account_code": "200",
    "tax_type": "OUTPUT2",
    "payment_account_code": "090",
}


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class World:
    engine: Engine
    session: Session
    invoices: list[Invoice]
    qbo: FakeQuickBooks = field(default_factory=lambda: FakeQuickBooks(REALM))
    xero: FakeXero = field(default_factory=lambda: FakeXero(TENANT))
    clock: Clock = field(default_factory=Clock)
    qbo_settings: dict[str, object] = field(default_factory=lambda: dict(QBO_SETTINGS))
    xero_settings: dict[str, object] = field(default_factory=lambda: dict(XERO_SETTINGS))

    def open_remote(self, connection: ConnectionSummary) -> Remote:
        retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        if connection.id == QBO:
            info = ConnectionInfo(
                connection.id, connection.partner_id, "quickbooks", REALM, "https://qbo.pay.test"
            )
            return Remote(
                build_quickbooks(info, FakeTokens(self.qbo), retry=retry),
                quickbooks.mapping_from_settings(self.qbo_settings),
            )
        info = ConnectionInfo(
            connection.id, connection.partner_id, "xero", TENANT, "https://xero.pay.test"
        )
        connector = build_xero(
            info, FakeTokens(self.xero), budget=RateBudget("xero-pay-test", None), retry=retry
        )
        return Remote(connector, xero.mapping_from_settings(self.xero_settings))

    def worker(self) -> Worker:
        return Worker(self.engine, self.open_remote, clock=self.clock)

    def drain(self, passes: int = 4) -> None:
        worker = self.worker()
        for _ in range(passes):
            worker.run_once()
            self.clock.advance(3600)

    @contextmanager
    def remotes(self) -> Iterator[respx.MockRouter]:
        with respx.mock(assert_all_called=False) as mock:
            mock.route(host="qbo.pay.test").mock(side_effect=self.qbo.handle)
            mock.route(host="xero.pay.test").mock(side_effect=self.xero.handle)
            yield mock

    def pay(self, invoice: Invoice, amount: int, external_id: str, **kw: Any) -> int:
        recorded = record_payment(
            self.session,
            partner_id="acme",
            invoice_id=invoice.id or 0,
            amount_minor=amount,
            currency=invoice.currency,
            source=kw.pop("source", PaymentSource.STRIPE),
            external_id=external_id,
            received_at=datetime(2026, 11, 5, 12, tzinfo=UTC),
            method=kw.pop("method", PaymentMethod.CARD),
            **kw,
        )
        self.session.commit()
        return int(recorded.payment.id or 0)


def make_world(engine: Engine, session: Session, clients: int = 2) -> World:
    """Both connections exist before the invoices are issued, so both push them."""
    setup_partner(session, partner_toml(clients))
    connect(session)
    connect(session, connection_id=XERO)
    month = last_month()
    send(session, [("v1", "c1", "voice", "123.45", at(month, 2))])
    invoices = sorted(close_and_issue(session, month), key=lambda i: i.client_id)
    return World(engine, session, invoices)
