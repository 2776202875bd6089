"""QuickBooks payments against the stateful fake: a Payment linked to the invoice and
deposited to the mapped account, exactly once (lost answers, replays), partial payments, and
read-back of payments entered in QuickBooks (ours marked by reference, pages, credit links)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from connectors.base import Capability, PaymentsConnector
from connectors.http import RetryPolicy
from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks.payments import our_payment_reference, payment_payload
from remote_specs import PaymentSpec, RemoteRef
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from tests.connectors.test_quickbooks import CONTRACT, make_connector, spec

PAID_ON = date(2026, 11, 5)


@pytest.fixture
def fake() -> FakeQuickBooks:
    return FakeQuickBooks("9130357")


@pytest.fixture
async def qbo(fake: FakeQuickBooks) -> AsyncIterator[QuickBooksConnector]:
    async def no_sleep(seconds: float) -> None:
        return None

    connector = make_connector(
        fake, FakeTokens(fake), RetryPolicy(max_attempts=4, sleep=no_sleep), page_size=2
    )
    yield connector
    await connector.aclose()


async def an_invoice(qbo: QuickBooksConnector, number: str) -> tuple[RemoteRef, RemoteRef, int]:
    customer = await CONTRACT.customer(qbo)
    invoice_spec = spec(number, customer)
    [ref] = await qbo.push_invoices([invoice_spec], [f"rebill:conn-test:invoice:{number}:1"])
    assert isinstance(ref, RemoteRef)
    return customer, ref, invoice_spec.total_minor


def payment(
    customer: RemoteRef, invoice: RemoteRef, amount: int, ref: str = "pay-1"
) -> PaymentSpec:
    return PaymentSpec(
        reference=ref,
        invoice=invoice,
        invoice_number="P-1",
        customer=customer,
        amount_minor=amount,
        currency="USD",
        paid_on=PAID_ON,
        account="35",
    )


def key(ref: str) -> str:
    return f"rebill:conn-test:payment.push:{ref}:1"


@pytest.mark.anyio
async def test_a_payment_is_linked_to_the_invoice_and_deposited_to_the_mapped_account(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    assert isinstance(qbo, PaymentsConnector) and Capability.PAYMENTS in qbo.capabilities
    customer, invoice, total = await an_invoice(qbo, "P-1")
    ref = await qbo.record_payment(payment(customer, invoice, total), key("pay-1"))
    [stored] = fake.objects("Payment")
    assert stored["Id"] == ref.remote_id
    assert stored["DepositToAccountRef"] == {"value": "35"}
    assert stored["Line"][0]["LinkedTxn"] == [{"TxnId": invoice.remote_id, "TxnType": "Invoice"}]
    assert Decimal(str(stored["TotalAmt"])) * 100 == total
    assert our_payment_reference(stored) == "pay-1"
    [write] = [r for r in fake.requests_to("/payment") if r.method == "POST"]
    assert write.params["requestid"] == key("pay-1")
    assert (await qbo.fetch_invoice(invoice)).amount_due_minor == 0


@pytest.mark.anyio
async def test_the_same_payment_twice_or_after_a_lost_answer_is_one_payment(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer, invoice, total = await an_invoice(qbo, "P-2")
    fake.fail_next("timeout_after_commit", path_contains="/payment")
    first = await qbo.record_payment(payment(customer, invoice, 1000), key("pay-2"))
    # A new attempt with another key (e.g. a new version) is still found by our reference.
    again = await qbo.record_payment(payment(customer, invoice, 1000), "rebill:other-key")
    assert first.remote_id == again.remote_id
    assert len(fake.objects("Payment")) == 1
    remote = await qbo.fetch_invoice(invoice)
    assert remote.amount_due_minor == total - 1000 and remote.amount_paid_minor == 1000


@pytest.mark.anyio
async def test_read_back_lists_every_page_with_invoice_and_marks_ours(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer, invoice, _ = await an_invoice(qbo, "P-3")
    ours = await qbo.record_payment(payment(customer, invoice, 500, "pay-3"), key("pay-3"))
    fake.pay(invoice.remote_id, Decimal("1.00"), on="2026-11-06")
    fake.pay(invoice.remote_id, Decimal("2.50"), on="2026-11-07")
    fake.pay(invoice.remote_id, Decimal("3.00"), on="2026-12-01")  # outside the window
    listed = await qbo.list_payments(date(2026, 11, 1), date(2026, 11, 30))
    assert sorted(p.amount_minor for p in listed) == [100, 250, 500]  # 3 rows over 2 pages
    assert {p.invoice_id for p in listed} == {invoice.remote_id}
    assert {p.invoice_number for p in listed} == {"P-3"}
    assert [p.remote_id for p in listed if p.reference == "pay-3"] == [ours.remote_id]
    assert sum(p.reference is None for p in listed) == 2


def test_no_deposit_account_leaves_quickbooks_default_and_foreign_currency_is_named() -> None:
    spec_ = PaymentSpec(
        reference="p",
        invoice=RemoteRef("7"),
        invoice_number="N",
        customer=RemoteRef("3"),
        amount_minor=1234,
        currency="eur",
        paid_on=PAID_ON,
    )
    body = payment_payload(spec_, home_currency="USD")
    assert "DepositToAccountRef" not in body
    assert body["CurrencyRef"] == {"value": "EUR"} and body["TotalAmt"] == Decimal("12.34")
    assert "CurrencyRef" not in payment_payload(spec_, home_currency="EUR")
