"""Xero payments against the stateful fake: PUT /Payments against the invoice into the mapped
account, exactly once (Idempotency-Key, lookup by Reference after a lost answer), a missing
account refused before any call, and read-back of payments entered in Xero (pages, ours by
Reference, the invoice each is applied to)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from connectors.base import Capability, PaymentsConnector, RejectedError
from connectors.xero import XeroConnector
from remote_specs import PaymentSpec, RemoteRef
from sandbox.transport import FakeTokens
from sandbox.xero import FakeXero
from tests.connectors.test_xero import contract, make_connector

PAID_ON = date(2026, 11, 5)


@pytest.fixture
def fake() -> FakeXero:
    return FakeXero("tenant-1")


@pytest.fixture
async def xero(fake: FakeXero) -> AsyncIterator[XeroConnector]:
    connector = make_connector(fake, FakeTokens(fake), page_size=2)
    yield connector
    await connector.aclose()


async def an_invoice(xero: XeroConnector, number: str) -> tuple[RemoteRef, RemoteRef]:
    customer = await contract.customer(xero)
    spec = contract.make_invoice_spec(number, customer)  # 35.00
    [invoice] = await xero.push_invoices([spec], [contract.key("invoice", number)])
    assert isinstance(invoice, RemoteRef)
    return customer, invoice


def payment(
    customer: RemoteRef, invoice: RemoteRef, amount: int, ref: str = "pay-1", account: str = "090"
) -> PaymentSpec:
    return PaymentSpec(
        reference=ref,
        invoice=invoice,
        invoice_number="X",
        customer=customer,
        amount_minor=amount,
        currency="USD",
        paid_on=PAID_ON,
        account=account or None,
    )


@pytest.mark.anyio
async def test_a_payment_goes_against_the_invoice_into_the_mapped_account(
    xero: XeroConnector, fake: FakeXero
) -> None:
    assert isinstance(xero, PaymentsConnector) and Capability.PAYMENTS in xero.capabilities
    customer, invoice = await an_invoice(xero, "INV-P1")
    ref = await xero.record_payment(payment(customer, invoice, 3500), "rebill:c:payment:pay-1:1")
    [stored] = fake.payments.values()
    assert stored["PaymentID"] == ref.remote_id
    assert stored["Account"]["Code"] == "090" and stored["Reference"] == "pay-1"
    assert stored["Invoice"]["InvoiceID"] == invoice.remote_id and stored["Amount"] == Decimal("35")
    [put] = [r for r in fake.requests_to("/Payments") if r.method == "PUT"]
    assert put.headers["idempotency-key"] == "rebill:c:payment:pay-1:1"
    remote = await xero.fetch_invoice(invoice)
    assert remote.amount_due_minor == 0 and remote.status.value == "paid"


@pytest.mark.anyio
async def test_a_lost_answer_or_a_second_push_is_still_one_payment(
    xero: XeroConnector, fake: FakeXero
) -> None:
    customer, invoice = await an_invoice(xero, "INV-P2")
    fake.fail_next("timeout_after_commit", path_contains="/Payments")
    first = await xero.record_payment(payment(customer, invoice, 1000), "k1")
    again = await xero.record_payment(payment(customer, invoice, 1000), "k2")
    assert first.remote_id == again.remote_id and len(fake.payments) == 1
    remote = await xero.fetch_invoice(invoice)
    assert (remote.amount_paid_minor, remote.amount_due_minor) == (1000, 2500)
    assert remote.status.value == "partially_paid"


@pytest.mark.anyio
async def test_no_payment_account_is_refused_before_any_call(
    xero: XeroConnector, fake: FakeXero
) -> None:
    customer, invoice = await an_invoice(xero, "INV-P3")
    before = len(fake.requests_to("/Payments"))
    with pytest.raises(RejectedError) as info:
        await xero.record_payment(payment(customer, invoice, 100, account=""), "k")
    assert "payment_account_code" in info.value.message
    assert len(fake.requests_to("/Payments")) == before and not fake.payments


@pytest.mark.anyio
async def test_xero_refusing_an_overpayment_is_a_rejection(
    xero: XeroConnector, fake: FakeXero
) -> None:
    customer, invoice = await an_invoice(xero, "INV-P4")
    with pytest.raises(RejectedError) as info:
        await xero.record_payment(payment(customer, invoice, 9999), "k")
    assert "exceeds" in info.value.message and not fake.payments


@pytest.mark.anyio
async def test_read_back_lists_every_page_with_the_invoice_and_our_reference(
    xero: XeroConnector, fake: FakeXero
) -> None:
    customer, invoice = await an_invoice(xero, "INV-P5")
    ours = await xero.record_payment(payment(customer, invoice, 500, "pay-5"), "k5")
    fake.pay_in_xero(invoice.remote_id, Decimal("1.00"), date(2026, 11, 6))
    fake.pay_in_xero(invoice.remote_id, Decimal("2.50"), date(2026, 11, 7))
    fake.pay_in_xero(invoice.remote_id, Decimal("3.00"), date(2026, 12, 1))  # outside
    listed = await xero.list_payments(date(2026, 11, 1), date(2026, 11, 30))
    assert sorted(p.amount_minor for p in listed) == [100, 250, 500]
    assert {(p.invoice_id, p.invoice_number) for p in listed} == {(invoice.remote_id, "INV-P5")}
    assert [p.remote_id for p in listed if p.reference == "pay-5"] == [ours.remote_id]
    assert sum(p.reference is None for p in listed) == 2
    gets = [r for r in fake.requests_to("/Payments") if r.method == "GET" and "page" in r.params]
    assert len(gets) >= 2  # three payments in pages of two
