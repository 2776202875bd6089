"""Read-back: a payment entered only in QuickBooks or Xero lands once in our ledger and on the
invoice (partial → partially paid, the rest → paid), a second run records nothing more, our
own pushed payments are not echoed back, a payment on an invoice we don't know is reported,
and what was read back from one tool is pushed to the other only."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from billing.invoicing.models import Invoice, InvoiceStatus
from billing.payments.models import Payment, PaymentMethod, PaymentSource
from mappings.models import ExternalRef, RefKind
from sync.cli import sync_app
from sync.readback import pull_payments
from tests.sync.payments_world import QBO, XERO, World, make_world

SINCE, UNTIL = date(2026, 1, 1), date(2027, 12, 31)


def pull(world: World, connection: str) -> object:
    return pull_payments(
        world.engine, connection, SINCE, until=UNTIL, open_remote=world.open_remote
    )


def fresh(session: Session, invoice: Invoice) -> Invoice:
    session.expire_all()
    found = session.get(Invoice, invoice.id)
    assert found is not None
    return found


def payments(session: Session) -> list[Payment]:
    session.expire_all()
    return list(session.exec(select(Payment).order_by(col(Payment.id))))


def remote_invoice_id(world: World, connection: str, invoice: Invoice) -> str:
    with Session(world.engine) as session:
        ref = session.exec(
            select(ExternalRef).where(
                col(ExternalRef.connection_id) == connection,
                col(ExternalRef.kind) == RefKind.INVOICE,
                col(ExternalRef.our_id) == str(invoice.id),
            )
        ).one()
        return ref.remote_id


def test_a_quickbooks_payment_lands_once_and_goes_on_to_xero_only(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    invoice = world.invoices[0]
    with world.remotes():
        world.drain()
        qbo_id = remote_invoice_id(world, QBO, invoice)
        world.qbo.pay(qbo_id, Decimal("10.00"), on="2026-11-05")  # partial, by bank transfer
        report = pull_payments(engine, QBO, SINCE, until=UNTIL, open_remote=world.open_remote)
        assert (report.listed, report.recorded, report.ours) == (1, 1, 0)
        again = pull_payments(engine, QBO, SINCE, until=UNTIL, open_remote=world.open_remote)
        assert (again.recorded, again.already) == (0, 1)
        world.drain()  # the payment goes to Xero, not back to QuickBooks
        from_xero = pull_payments(engine, XERO, SINCE, until=UNTIL, open_remote=world.open_remote)
    [payment] = payments(session)
    assert payment.source is PaymentSource.ACCOUNTING and payment.connection_id == QBO
    assert payment.method is PaymentMethod.BANK_TRANSFER and payment.amount_minor == 1000
    assert payment.received_at.date() == date(2026, 11, 5)
    current = fresh(session, invoice)
    assert current.status is InvoiceStatus.PARTIALLY_PAID and current.amount_paid_minor == 1000
    assert len(world.qbo.objects("Payment")) == 1  # not echoed back
    [xero_payment] = world.xero.payments.values()
    assert xero_payment["Amount"] == Decimal("10.00")
    assert (from_xero.recorded, from_xero.ours) == (0, 1)  # Xero's copy is ours


def test_a_xero_payment_of_the_rest_makes_the_invoice_paid(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    invoice = world.invoices[0]
    world.pay(invoice, 1000, "ch_1")  # by card through Stripe, pushed to both tools
    with world.remotes():
        world.drain()
        xero_id = remote_invoice_id(world, XERO, invoice)
        rest = Decimal(invoice.total_minor - 1000) / 100
        world.xero.pay_in_xero(xero_id, rest, date(2026, 11, 20))
        report = pull(world, XERO)
        from_qbo = pull(world, QBO)
    assert report.ours == 1 and report.recorded == 1  # our Stripe payment skipped
    assert from_qbo.ours == 1 and from_qbo.recorded == 0
    current = fresh(session, invoice)
    assert current.status is InvoiceStatus.PAID
    assert current.amount_paid_minor == invoice.total_minor
    assert [p.amount_minor for p in payments(session)] == [1000, invoice.total_minor - 1000]


def test_a_payment_on_an_invoice_we_do_not_know_is_reported_not_recorded(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    invoice = world.invoices[1]
    with world.remotes():
        world.drain()
        qbo_id = remote_invoice_id(world, QBO, invoice)
        session.execute(
            delete(ExternalRef).where(
                col(ExternalRef.connection_id) == QBO, col(ExternalRef.remote_id) == qbo_id
            )
        )
        session.commit()
        world.qbo.pay(qbo_id, Decimal("5.00"))
        report = pull(world, QBO)
    assert report.recorded == 0 and len(report.unknown) == 1
    assert str(invoice.number) in report.unknown[0]
    assert payments(session) == []


def test_the_cli_pulls_every_active_connection_and_reports(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sync.readback as readback

    world = make_world(engine, session)
    real = readback.pull_payments
    seen: list[tuple[str, date | None]] = []

    def through_fakes(engine: Engine, connection: str, since: date | None) -> object:
        seen.append((connection, since))
        return real(engine, connection, since, until=UNTIL, open_remote=world.open_remote)

    monkeypatch.setattr(readback, "pull_payments", through_fakes)
    with world.remotes():
        world.drain()
        world.qbo.pay(remote_invoice_id(world, QBO, world.invoices[0]), Decimal("2.00"))
        result = CliRunner().invoke(sync_app, ["pull-payments", "--since", "2026-01-01"])
        one = CliRunner().invoke(sync_app, ["pull-payments", "--connection", XERO, "--json"])
    assert result.exit_code == 0, result.output
    assert f"{QBO}: 1 listed, 1 recorded" in result.output
    assert seen[:2] == [(QBO, SINCE), (XERO, SINCE)]
    assert one.exit_code == 0 and json.loads(one.output)[0]["connection_id"] == XERO
    bad = CliRunner().invoke(sync_app, ["pull-payments", "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in bad.output
    assert [p.amount_minor for p in payments(session)] == [200]
