"""FreshBooks connector against the stateful fake: the shared contract, then what only
FreshBooks has (no idempotency keys, so lookups before and after uncertain creates; the
response envelope and its errors; drafts marked as sent; payments; the tax line)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import (
    AuthExpiredError,
    ConnectionInfo,
    Connector,
    NotFoundError,
    PaymentsConnector,
    RejectedError,
    RetryableError,
)
from connectors.freshbooks import FreshBooksConnector, build_connector
from connectors.freshbooks.identity import Business, account_ids, choose_business
from connectors.http import RateBudget, RetryPolicy
from remote_specs import LineSpec, PaymentSpec, RemoteRef, RemoteStatus
from sandbox.freshbooks import FakeFreshBooks
from sandbox.transport import FakeTokens, FakeTransport
from tests.connectors.contract import ISSUE, ConnectorContract, simple_lines

ACCOUNT = "acc-1"


class Clock:
    """Budget time that moves only when the budget sleeps, and the fake's clock with it."""

    def __init__(self, fake: FakeFreshBooks) -> None:
        self.now = 0.0
        self.fake = fake

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.fake.advance(seconds)


def make_connector(
    fake: FakeFreshBooks,
    tokens: FakeTokens | None,
    retry: RetryPolicy | None = None,
    *,
    page_size: int = 100,
    account: str = ACCOUNT,
) -> FreshBooksConnector:
    clock = Clock(fake)
    budget = RateBudget("freshbooks-test", 60, None, 3, clock=clock, sleep=clock.sleep)
    info = ConnectionInfo(
        connection_id="conn-test",
        partner_id="acme",
        provider="freshbooks",
        remote_tenant=account,
        base_url="https://freshbooks.test",
    )
    return build_connector(
        info,
        tokens,
        transport=FakeTransport(fake),
        budget=budget,
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0, sleep=clock.sleep),
        page_size=page_size,
    )


class TestFreshBooksContract(ConnectorContract):
    provider = "freshbooks"
    income_account = "unused"  # FreshBooks items carry no account
    bad_item_field = "lines[0].name"
    invoice_write_path = "/invoices/invoices"
    invoice_write_method = "POST"

    @pytest.fixture
    def fake(self) -> FakeFreshBooks:
        return FakeFreshBooks(ACCOUNT)

    @pytest.fixture
    async def connector(
        self, fake: FakeFreshBooks, tokens: FakeTokens, retry_policy: Any
    ) -> AsyncIterator[Connector]:
        connector = make_connector(fake, tokens, retry_policy, page_size=self.page_size)
        yield connector
        await connector.aclose()


# --- FreshBooks-specific behaviour -------------------------------------------------------------


@pytest.fixture
def fake() -> FakeFreshBooks:
    return FakeFreshBooks(ACCOUNT)


@pytest.fixture
async def books(fake: FakeFreshBooks) -> AsyncIterator[FreshBooksConnector]:
    connector = make_connector(fake, FakeTokens(fake))
    yield connector
    await connector.aclose()


contract = TestFreshBooksContract()


def payment(
    invoice: RemoteRef, customer: RemoteRef, amount: int, ref: str = "pay-1"
) -> PaymentSpec:
    return PaymentSpec(
        reference=ref,
        invoice=invoice,
        invoice_number="INV-9",
        customer=customer,
        amount_minor=amount,
        currency="USD",
        paid_on=ISSUE + timedelta(days=3),
        method="bank_transfer",
    )


async def pushed(books: FreshBooksConnector, number: str = "INV-9") -> tuple[RemoteRef, RemoteRef]:
    customer = await contract.customer(books)
    ref = await contract.push_one(books, contract.make_invoice_spec(number, customer))
    assert isinstance(ref, RemoteRef), ref
    return customer, ref


@pytest.mark.anyio
async def test_it_is_a_payments_connector(books: FreshBooksConnector) -> None:
    assert isinstance(books, PaymentsConnector)
    assert books.max_batch == 1


@pytest.mark.anyio
async def test_invoice_is_created_as_draft_then_marked_sent(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    _, ref = await pushed(books)
    create, mark = (
        fake.requests_to("/invoices/invoices", "POST"),
        fake.requests_to(f"/invoices/invoices/{ref.remote_id}", "PUT"),
    )
    assert len(create) == 1 and len(mark) == 1
    assert mark[0].body == {"invoice": {"action_mark_as_sent": True}}
    body = create[0].body["invoice"]
    assert body["invoice_number"] == "INV-9" and body["due_offset_days"] == 14
    assert body["lines"][0]["unit_cost"] == {"amount": "0.25", "code": "USD"}
    assert fake.invoices[int(ref.remote_id)]["v3_status"] == "sent"


@pytest.mark.anyio
async def test_drafts_stay_drafts_by_partner_choice(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer = await contract.customer(books)
    spec = contract.make_invoice_spec("INV-D", customer)
    ref = await contract.push_one(books, dataclasses.replace(spec, draft=True))
    assert isinstance(ref, RemoteRef)
    assert (await books.fetch_invoice(ref)).status is RemoteStatus.DRAFT
    assert not fake.requests_to(f"/invoices/invoices/{ref.remote_id}", "PUT")


@pytest.mark.anyio
async def test_a_draft_left_by_a_crash_is_found_and_marked_sent(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer = await contract.customer(books)
    spec = contract.make_invoice_spec("INV-C", customer)
    fake.fail_next("reset", path_contains="/invoices/invoices/", method="PUT")  # mark as sent
    first = await contract.push_one(books, spec)
    assert isinstance(first, RetryableError)
    assert [i["v3_status"] for i in fake.invoices_by_number("INV-C")] == ["draft"]
    again = await contract.push_one(books, spec)
    assert isinstance(again, RemoteRef)
    assert [i["v3_status"] for i in fake.invoices_by_number("INV-C")] == ["sent"]


@pytest.mark.anyio
async def test_an_uncertain_create_is_looked_up_inside_the_push(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer = await contract.customer(books)
    fake.fail_next("timeout_after_commit", path_contains="/invoices/invoices", method="POST")
    ref = await contract.push_one(books, contract.make_invoice_spec("INV-T", customer))
    assert fake.pending_failures == 0
    assert isinstance(ref, RemoteRef), ref  # found by number after the lost answer
    assert len(fake.invoices_by_number("INV-T")) == 1
    assert len(fake.requests_to("/invoices/invoices", "POST")) == 1  # never sent twice


@pytest.mark.anyio
async def test_tax_goes_as_its_own_line_so_the_total_is_ours(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer = await contract.customer(books)
    lines = simple_lines()
    spec = contract.make_invoice_spec("INV-X", customer, lines=lines, tax_minor=281)
    spec = dataclasses.replace(spec, tax_code="Sales tax 8%")
    ref = await contract.push_one(books, spec)
    assert isinstance(ref, RemoteRef)
    stored = fake.invoices[int(ref.remote_id)]
    assert stored["lines"][-1]["name"] == "Sales tax 8%"
    assert stored["lines"][-1]["amount"]["amount"] == "2.81"
    assert (await books.fetch_invoice(ref)).total_minor == 3500 + 281


@pytest.mark.anyio
async def test_a_rate_beyond_two_decimals_goes_as_one_at_the_amount(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer = await contract.customer(books)
    line = LineSpec("SMS", Decimal(1500), Decimal("0.0125"), 1875, item_code="sms")
    ref = await contract.push_one(
        books, contract.make_invoice_spec("INV-R", customer, lines=[line])
    )
    assert isinstance(ref, RemoteRef)
    [stored] = fake.invoices[int(ref.remote_id)]["lines"]
    assert (stored["qty"], stored["unit_cost"]["amount"]) == ("1.00", "18.75")
    assert "1500 \u00d7 0.0125" in stored["description"]


@pytest.mark.anyio
async def test_envelope_errors_name_the_field(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    await contract.customer(books)
    spec = contract.make_invoice_spec("INV-E", RemoteRef("424242"))  # no such client
    result = await contract.push_one(books, spec)
    assert isinstance(result, RejectedError), result
    assert result.status == 422
    assert [e.field for e in result.errors] == ["invoice.customerid"]
    assert "Client not found (field invoice.customerid)" in result.message
    assert "sync the client again" in result.message


@pytest.mark.anyio
async def test_a_duplicate_number_made_elsewhere_is_found_not_refused(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer, ref = await pushed(books, "INV-DUP")
    again = await contract.push_one(books, contract.make_invoice_spec("INV-DUP", customer))
    assert isinstance(again, RemoteRef) and again.remote_id == ref.remote_id
    assert len(fake.requests_to("/invoices/invoices", "POST")) == 1


@pytest.mark.anyio
async def test_payment_is_recorded_once_and_read_back(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer, ref = await pushed(books)
    spec = payment(ref, customer, 1000)
    first = await books.record_payment(spec, "rebill:conn-test:payment:pay-1:1")
    second = await books.record_payment(spec, "rebill:conn-test:payment:pay-1:1")
    assert first.remote_id == second.remote_id
    assert len(fake.payments) == 1
    sent = fake.requests_to("/payments/payments", "POST")[0].body["payment"]
    assert sent["amount"] == {"amount": "10.00"} and sent["type"] == "Bank Transfer"
    remote = await books.fetch_invoice(ref)
    assert remote.status is RemoteStatus.PARTIALLY_PAID
    assert (remote.amount_paid_minor, remote.amount_due_minor) == (1000, 2500)
    await books.record_payment(payment(ref, customer, 2500, "pay-2"), "k2")
    assert (await books.fetch_invoice(ref)).status is RemoteStatus.PAID


@pytest.mark.anyio
async def test_a_payment_after_a_timeout_after_commit_is_not_duplicated(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer, ref = await pushed(books)
    fake.fail_next("timeout_after_commit", path_contains="/payments/payments", method="POST")
    got = await books.record_payment(payment(ref, customer, 500), "k")
    assert fake.pending_failures == 0
    assert len(fake.payments) == 1 and got.remote_id == str(next(iter(fake.payments)))
    assert (await books.fetch_invoice(ref)).amount_paid_minor == 500


@pytest.mark.anyio
async def test_list_payments_reads_references_and_partner_payments(
    fake: FakeFreshBooks,
) -> None:
    books = make_connector(fake, FakeTokens(fake), page_size=2)
    customer, ref = await pushed(books)
    await books.record_payment(payment(ref, customer, 700), "k")
    for _ in range(2):
        fake.pay(int(ref.remote_id), Decimal("1.00"), on=date(2026, 11, 4))
    fake.pay(int(ref.remote_id), Decimal("1.00"), on=date(2026, 12, 30))  # outside
    listed = await books.list_payments(date(2026, 11, 1), date(2026, 11, 30))
    assert sorted(p.amount_minor for p in listed) == [100, 100, 700]
    assert {p.reference for p in listed} == {None, "pay-1"}
    assert all(p.invoice_id == ref.remote_id for p in listed)
    await books.aclose()


@pytest.mark.anyio
async def test_paid_invoices_refuse_voiding(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    customer, ref = await pushed(books)
    await books.record_payment(payment(ref, customer, 100), "k")
    with pytest.raises(RejectedError) as info:
        await books.void_invoice(ref, "v")
    assert "remove them in FreshBooks" in info.value.message


@pytest.mark.anyio
async def test_voiding_deletes_and_frees_nothing_else(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    _, ref = await pushed(books)
    await books.void_invoice(ref, "v")
    assert fake.invoices[int(ref.remote_id)]["vis_state"] == 1
    listed = await books.list_invoices(ISSUE, ISSUE)
    assert [(i.number, i.status) for i in listed] == [("INV-9", RemoteStatus.VOID)]


@pytest.mark.anyio
async def test_customers_found_by_name_get_our_marker(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    fake.records["users/clients"][5] = {
        "id": 5,
        "organization": "Client client-1",
        "vis_state": 0,
        "currency_code": "USD",
    }
    [ref] = await books.upsert_customers([contract.make_customer_spec()], ["k"])
    assert isinstance(ref, RemoteRef) and ref.remote_id == "5"
    assert fake.records["users/clients"][5]["note"] == "Rebill client [rebill:client-1]"
    assert len(fake.records["users/clients"]) == 1


@pytest.mark.anyio
async def test_a_wrong_account_or_dead_token_is_auth_expired(fake: FakeFreshBooks) -> None:
    wrong = make_connector(fake, FakeTokens(fake), account="other")
    with pytest.raises(AuthExpiredError) as info:
        await wrong.fetch_invoice(RemoteRef("1"))
    assert "reconnect FreshBooks" in info.value.message
    await wrong.aclose()


@pytest.mark.anyio
async def test_unknown_invoice_is_not_found(books: FreshBooksConnector) -> None:
    with pytest.raises(NotFoundError):
        await books.fetch_invoice(RemoteRef("31337"))


@pytest.mark.anyio
async def test_webhook_callback_is_verified_with_its_verifier(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    fake.callbacks[9] = {
        "callbackid": 9,
        "event": "invoice.update",
        "uri": "u",
        "verified": False,
        "verifier": "s3cret",
    }
    with pytest.raises(RejectedError) as info:
        await books.verify_callback("9", "wrong")
    assert info.value.errors[0].field == "callback.verifier"
    await books.verify_callback("9", "s3cret")
    assert fake.callbacks[9]["verified"] is True


@pytest.mark.anyio
async def test_account_ids_come_from_users_me(fake: FakeFreshBooks) -> None:
    [business] = await account_ids(
        fake.initial_token, base_url="https://freshbooks.test", transport=FakeTransport(fake)
    )
    assert (business.account_id, business.name, business.role) == (ACCOUNT, "Acme Agency", "owner")


@pytest.mark.anyio
async def test_check_references(books: FreshBooksConnector) -> None:
    await contract.customer(books)
    missing = await books.check_references(
        {"item_names.voice": "voice", "item_names.chat": "chat", "tax.x": "y"}
    )
    assert set(missing) == {"item_names.chat", "tax.x"}


def test_build_connector_needs_an_account() -> None:
    info = ConnectionInfo("c", "p", "freshbooks", remote_tenant="")
    with pytest.raises(ValueError, match="remote_tenant"):
        build_connector(info, None)


def test_choosing_the_business_of_a_consent() -> None:
    mine = Business("a1", "1", "Acme", "owner")
    theirs = Business("b2", "2", "Globex", "admin")
    assert choose_business([mine], None) is mine
    assert choose_business([mine, theirs], None) is mine  # the one the user owns
    assert choose_business([mine, theirs], "globex") is theirs
    for businesses, wanted, words in (
        ([mine, theirs], "Initech", "no FreshBooks business named 'Initech'"),
        ([], None, "no FreshBooks business"),
        ([theirs, Business("c3", "3", "Hooli", "admin")], None, "--tenant"),
    ):
        with pytest.raises(RejectedError) as info:
            choose_business(businesses, wanted)
        assert info.value.message.startswith("tenant: ") and words in info.value.message


@pytest.mark.anyio
async def test_a_reference_that_is_no_freshbooks_id_is_rejected(
    books: FreshBooksConnector, fake: FakeFreshBooks
) -> None:
    await contract.customer(books)
    result = await contract.push_one(books, contract.make_invoice_spec("INV-Q", RemoteRef("C-9")))
    assert isinstance(result, RejectedError) and result.errors[0].field == "customer"
    assert not fake.requests_to("/invoices/invoices", "POST")
