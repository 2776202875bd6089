"""`payment.push`: a payment we record reaches every other accounting connection once, through
the real QuickBooks and Xero connectors and their fakes, after the invoice's push; a payment
read back from one connection is not pushed back to it; a missing payment account names the
setting."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from billing.payments import PaymentMethod, PaymentSource
from mappings.references import RefKind, get_ref
from sync.models import OutboxOp, OutboxStatus
from tests.sync.helpers import rows
from tests.sync.payments_world import QBO, XERO, make_world


def payment_rows(session: Session) -> list[tuple[str, OutboxStatus]]:
    return [(r.connection_id, r.status) for r in rows(session) if r.op is OutboxOp.PAYMENT_PUSH]


def test_a_stripe_payment_lands_once_in_quickbooks_and_xero(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    invoice = world.invoices[0]
    # Recorded before the invoice reached either tool: the push waits behind the invoice's.
    payment_id = world.pay(invoice, 1000, "ch_1")
    with world.remotes():
        world.drain()
        world.drain()  # nothing more to do
    assert sorted(payment_rows(session)) == [(QBO, OutboxStatus.DONE), (XERO, OutboxStatus.DONE)]
    [qbo_payment] = world.qbo.objects("Payment")
    assert Decimal(str(qbo_payment["TotalAmt"])) == Decimal("10.00")
    assert qbo_payment["DepositToAccountRef"] == {"value": "35"}
    [qbo_invoice] = world.qbo.invoices_by_number(str(invoice.number))
    assert qbo_payment["Line"][0]["LinkedTxn"][0]["TxnId"] == qbo_invoice["Id"]
    assert Decimal(str(qbo_invoice["Balance"])) * 100 == invoice.total_minor - 1000
    [xero_payment] = world.xero.payments.values()
    assert xero_payment["Amount"] == Decimal("10.00") and xero_payment["Reference"] == str(
        payment_id
    )
    [xero_invoice] = world.xero.invoices_by_number(str(invoice.number))
    assert xero_payment["Invoice"]["InvoiceID"] == xero_invoice["InvoiceID"]
    for connection in (QBO, XERO):
        ref = get_ref(session, connection, RefKind.PAYMENT, str(payment_id))
        assert ref is not None and ref.remote_id


def test_a_payment_read_back_from_quickbooks_goes_to_xero_only(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    invoice = world.invoices[1]
    with world.remotes():
        world.drain()
        world.pay(
            invoice,
            invoice.total_minor,
            "qbo-77",
            source=PaymentSource.ACCOUNTING,
            connection_id=QBO,
            method=PaymentMethod.BANK_TRANSFER,
        )
        world.drain()
    assert payment_rows(session) == [(XERO, OutboxStatus.DONE)]
    assert world.qbo.objects("Payment") == []
    [xero_invoice] = world.xero.invoices_by_number(str(invoice.number))
    assert xero_invoice["AmountDue"] == 0 and xero_invoice["Status"] == "PAID"


def test_without_a_payment_account_the_row_is_dead_naming_the_setting(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    del world.xero_settings["payment_account_code"]
    world.pay(world.invoices[0], 500, "ch_2")
    with world.remotes():
        world.drain()
    [dead] = [r for r in rows(session) if r.op is OutboxOp.PAYMENT_PUSH and r.connection_id == XERO]
    assert dead.status is OutboxStatus.DEAD
    assert "payment_account_code" in (dead.last_error or "")
    assert world.xero.payments == {} and len(world.qbo.objects("Payment")) == 1


def test_lost_answers_and_a_retried_row_still_make_one_payment_each(
    engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    with world.remotes():
        world.drain()
        world.pay(world.invoices[0], 700, "ch_3")
        world.qbo.fail_next("timeout_after_commit", path_contains="/payment")
        world.xero.fail_next("timeout_after_commit", path_contains="/Payments")
        world.xero.fail_next("500", path_contains="/Payments")
        world.drain()
        for row in rows(session):  # as if the rows had been retried by hand
            if row.op is OutboxOp.PAYMENT_PUSH:
                row.status = OutboxStatus.PENDING
                session.add(row)
        session.commit()
        world.drain()
    assert len(world.qbo.objects("Payment")) == 1
    assert len(world.xero.payments) == 1
    assert sorted(payment_rows(session)) == [(QBO, OutboxStatus.DONE), (XERO, OutboxStatus.DONE)]
