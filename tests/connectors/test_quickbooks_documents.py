"""QuickBooks: customers kept in step with our clients (renames, e-mail changes, inactive
twins, names held by vendors) without a second customer, items revived, document numbers
checked, and credit memos applied to the invoice they correct."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import RejectedError
from connectors.http import RetryPolicy
from connectors.quickbooks import QuickBooksConnector
from remote_specs import CreditNoteSpec, CustomerSpec, ItemSpec, LineSpec, RemoteRef, RemoteStatus
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from tests.connectors.test_quickbooks import CONTRACT, make_connector


@pytest.fixture
def fake() -> FakeQuickBooks:
    return FakeQuickBooks()


@pytest.fixture
async def qbo(fake: FakeQuickBooks) -> AsyncIterator[QuickBooksConnector]:
    async def no_sleep(seconds: float) -> None:
        return None

    connector = make_connector(fake, FakeTokens(fake), RetryPolicy(max_attempts=3, sleep=no_sleep))
    yield connector
    await connector.aclose()


def ours(fake: FakeQuickBooks) -> list[dict[str, Any]]:
    return [c for c in fake.objects("Customer") if str(c.get("Notes", "")).startswith("Rebill")]


@pytest.mark.anyio
async def test_a_renamed_client_renames_its_customer(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    spec = CustomerSpec("c-1", "Acme", email="a@acme.test")
    [first] = await qbo.upsert_customers([spec], ["k1"])
    renamed = replace(spec, display_name="Acme Holdings", email="billing@acme.test")
    [second] = await qbo.upsert_customers([renamed], ["k2"])
    assert isinstance(first, RemoteRef) and isinstance(second, RemoteRef)
    assert second.remote_id == first.remote_id and second.version == "1"
    [customer] = ours(fake)
    assert customer["DisplayName"] == "Acme Holdings"
    assert customer["PrimaryEmailAddr"] == {"Address": "billing@acme.test"}
    update = [r for r in fake.requests if r.params.get("operation") == "update"]
    assert update and update[0].body["sparse"] is True
    [again] = await qbo.upsert_customers([renamed], ["k3"])  # unchanged: no write
    assert isinstance(again, RemoteRef) and again.version == "1"
    assert len([r for r in fake.requests if r.params.get("operation") == "update"]) == 1


@pytest.mark.anyio
async def test_a_rename_onto_a_taken_name_uses_the_reference_suffix(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    fake.write("Customer", "create", {"DisplayName": "Globex", "Notes": "Rebill client c-9"})
    [ref] = await qbo.upsert_customers([CustomerSpec("c-1", "Acme")], ["k1"])
    [moved] = await qbo.upsert_customers([CustomerSpec("c-1", "Globex")], ["k2"])
    assert isinstance(ref, RemoteRef) and isinstance(moved, RemoteRef)
    assert moved.remote_id == ref.remote_id
    assert {c["DisplayName"] for c in ours(fake)} == {"Globex", "Globex [c-1]"}


@pytest.mark.anyio
async def test_a_stale_customer_is_reread_before_updating(
    qbo: QuickBooksConnector, fake: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    [ref] = await qbo.upsert_customers([CustomerSpec("c-1", "Acme")], ["k1"])
    assert isinstance(ref, RemoteRef)
    original = fake.write
    raced: list[bool] = []

    def racing(entity: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        if op == "update" and not raced:
            raced.append(True)
            stored = fake.store["Customer"][ref.remote_id]
            stored["SyncToken"] = str(int(stored["SyncToken"]) + 1)
        return original(entity, op, body)

    monkeypatch.setattr(fake, "write", racing)
    [updated] = await qbo.upsert_customers(
        [CustomerSpec("c-1", "Acme", email="x@acme.test")], ["k2"]
    )
    assert isinstance(updated, RemoteRef) and updated.version == "2"
    assert fake.store["Customer"][ref.remote_id]["PrimaryEmailAddr"] == {"Address": "x@acme.test"}


@pytest.mark.anyio
async def test_a_credit_memo_is_applied_to_its_invoice_once(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await CONTRACT.customer(qbo)
    spec = CONTRACT.make_invoice_spec("C-1", customer)
    [invoice] = await qbo.push_invoices([spec], ["k-inv"])
    assert isinstance(invoice, RemoteRef)
    note = CreditNoteSpec(
        reference="cn-1",
        number="CN-1",
        invoice=invoice,
        invoice_number="C-1",
        customer=customer,
        currency="USD",
        issue_date=date(2026, 11, 3),
        lines=(LineSpec("Refund", Decimal(1), Decimal("12.50"), 1250, item_code="voice"),),
        tax_minor=0,
        total_minor=1250,
    )
    memo = await qbo.push_credit_note(note, "k-cn")
    again = await qbo.push_credit_note(note, "k-cn-2")  # a re-run of the outbox row
    assert again.remote_id == memo.remote_id
    remote = await qbo.fetch_invoice(invoice)
    assert remote.amount_due_minor == spec.total_minor - 1250
    assert remote.status is RemoteStatus.PARTIALLY_PAID
    assert fake.store["CreditMemo"][memo.remote_id]["Balance"] == 0
    assert len(fake.objects("Payment")) == 1 and len(fake.objects("CreditMemo")) == 1
    payment = fake.objects("Payment")[0]
    assert payment["TotalAmt"] == 0


@pytest.mark.anyio
async def test_a_credit_larger_than_the_balance_applies_what_is_due(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await CONTRACT.customer(qbo)
    spec = CONTRACT.make_invoice_spec("C-2", customer)
    [invoice] = await qbo.push_invoices([spec], ["k-inv"])
    assert isinstance(invoice, RemoteRef)
    fake.pay(invoice.remote_id, Decimal("30.00"))  # 35.00 total, 5.00 left
    note = CreditNoteSpec(
        reference="cn-2",
        number="CN-2",
        invoice=invoice,
        invoice_number="C-2",
        customer=customer,
        currency="USD",
        issue_date=date(2026, 11, 3),
        lines=(LineSpec("Refund", Decimal(1), Decimal("12.50"), 1250, item_code="voice"),),
        tax_minor=0,
        total_minor=1250,
    )
    memo = await qbo.push_credit_note(note, "k-cn")
    assert (await qbo.fetch_invoice(invoice)).status is RemoteStatus.PAID
    assert fake.store["CreditMemo"][memo.remote_id]["Balance"] == Decimal("7.50")


@pytest.mark.anyio
async def test_an_item_the_partner_made_inactive_is_reactivated(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    old = fake.write(
        "Item", "create", {"Name": "voice", "IncomeAccountRef": {"value": "79"}, "Active": False}
    )
    [ref] = await qbo.ensure_items([ItemSpec("voice", "Voice", income_account="79")], ["k-voice"])
    assert isinstance(ref, RemoteRef) and ref.remote_id == old["Id"]
    assert fake.store["Item"][old["Id"]]["Active"] is True
    assert len(fake.objects("Item")) == 1


@pytest.mark.anyio
async def test_our_inactive_customer_is_reactivated_not_duplicated(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    old = fake.write(
        "Customer", "create", {"DisplayName": "Acme", "Notes": "Rebill client c-1", "Active": False}
    )
    [ref] = await qbo.upsert_customers([CustomerSpec("c-1", "Acme", email="a@acme.test")], ["k1"])
    assert isinstance(ref, RemoteRef) and ref.remote_id == old["Id"]
    stored = fake.store["Customer"][old["Id"]]
    assert stored["Active"] is True and stored["PrimaryEmailAddr"] == {"Address": "a@acme.test"}
    assert len(fake.objects("Customer")) == 1


@pytest.mark.anyio
async def test_a_name_held_by_a_vendor_gives_the_customer_the_suffixed_name(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    fake.store["Vendor"]["1"] = {"Id": "1", "DisplayName": "Acme", "SyncToken": "0"}
    [ref] = await qbo.upsert_customers([CustomerSpec("c-1", "Acme")], ["k1"])
    assert isinstance(ref, RemoteRef)
    assert [c["DisplayName"] for c in fake.objects("Customer")] == ["Acme [c-1]"]
    [found] = await qbo.find_customers([CustomerSpec("c-1", "Acme")])
    assert found is not None and found.remote_id == ref.remote_id


@pytest.mark.anyio
async def test_numbers_longer_than_quickbooks_allows_are_refused_by_name(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await CONTRACT.customer(qbo)
    long_number = "ACME-WHOLESALE-2026-000001"  # 26 characters; QuickBooks keeps 21
    specs = [
        CONTRACT.make_invoice_spec(long_number, customer),
        CONTRACT.make_invoice_spec("OK-1", customer),
    ]
    refused, pushed = await qbo.push_invoices(specs, ["k1", "k2"])
    assert isinstance(refused, RejectedError) and refused.errors[0].field == "DocNumber"
    assert "21" in refused.message and long_number in refused.message
    assert isinstance(pushed, RemoteRef)
    assert [i["DocNumber"] for i in fake.objects("Invoice")] == ["OK-1"]
