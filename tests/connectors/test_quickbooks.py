"""QuickBooks Online connector against the stateful fake: the shared contract, then what only
QuickBooks has (batch with per-element faults, SyncTokens, Fault shapes, requestid,
minorversion)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import ConnectionInfo, Connector, RejectedError
from connectors.http import RateBudget, RetryPolicy
from connectors.quickbooks import MINOR_VERSION, QuickBooksConnector, build_connector, request_id
from mappings.quickbooks import mapping_from_settings
from remote_specs import CustomerSpec, InvoiceSpec, ItemSpec, LineSpec, RemoteRef, RemoteStatus
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens, FakeTransport
from tests.connectors.contract import ISSUE as CONTRACT_DATE
from tests.connectors.contract import ConnectorContract

REALM = "9130357"


class Clock:
    """Budget time that only moves when the budget sleeps: pauses cost no wall time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def budgets() -> tuple[RateBudget, RateBudget]:
    clock = Clock()
    return (
        RateBudget("test", None, clock=clock, sleep=clock.sleep),
        RateBudget("test-batch", None, clock=clock, sleep=clock.sleep),
    )


def make_connector(
    fake: FakeQuickBooks, tokens: FakeTokens, retry: Any, *, page_size: int = 3
) -> QuickBooksConnector:
    info = ConnectionInfo(
        connection_id="conn-test",
        partner_id="acme",
        provider="quickbooks",
        remote_tenant=REALM,
        base_url="https://qbo.test",
    )
    budget, batch_budget = budgets()
    connector = build_connector(
        info,
        tokens,
        transport=FakeTransport(fake),
        retry=retry,
        budget=budget,
        batch_budget=batch_budget,
        page_size=page_size,
    )
    assert isinstance(connector, QuickBooksConnector)
    return connector


class TestQuickBooksContract(ConnectorContract):
    provider = "quickbooks"
    income_account = "79"
    tax_code = "TAX"
    bad_item_field = "ItemRef"
    invoice_write_path = "/invoice"
    invoice_write_method = "POST"

    @pytest.fixture
    def fake(self) -> FakeQuickBooks:
        return FakeQuickBooks(REALM)

    @pytest.fixture
    async def connector(
        self, fake: FakeQuickBooks, tokens: FakeTokens, retry_policy: Any
    ) -> AsyncIterator[Connector]:
        connector = make_connector(fake, tokens, retry_policy, page_size=self.page_size)
        yield connector
        await connector.aclose()


# ---- QuickBooks only ------------------------------------------------------------------------
@pytest.fixture
def fake() -> FakeQuickBooks:
    return FakeQuickBooks(REALM)


@pytest.fixture
def tokens(fake: FakeQuickBooks) -> FakeTokens:
    return FakeTokens(fake)


@pytest.fixture
async def qbo(fake: FakeQuickBooks, tokens: FakeTokens) -> AsyncIterator[QuickBooksConnector]:
    async def no_sleep(seconds: float) -> None:
        return None

    connector = make_connector(fake, tokens, RetryPolicy(max_attempts=4, sleep=no_sleep))
    yield connector
    await connector.aclose()


CONTRACT = ConnectorContract()
CONTRACT.income_account = "79"
CONTRACT.tax_code = "TAX"


async def setup_customer(qbo: QuickBooksConnector) -> RemoteRef:
    return await CONTRACT.customer(qbo)


def spec(number: str, customer: RemoteRef, **kw: Any) -> InvoiceSpec:
    return CONTRACT.make_invoice_spec(number, customer, **kw)


def key(number: str) -> str:
    return f"rebill:conn-test:invoice:{number}:1"


@pytest.mark.anyio
async def test_batch_answers_each_invoice_and_one_bad_one_fails_alone(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    bad = LineSpec("Mystery", Decimal(1), Decimal(5), 500, item_code="no-such-item")
    specs = [spec(f"B-{i}", customer) for i in range(5)]
    specs[2] = spec("B-2", customer, lines=[bad])
    before = len(fake.requests_to("/batch"))
    results = await qbo.push_invoices(specs, [key(s.number) for s in specs])
    assert len(fake.requests_to("/batch")) - before == 1
    assert [isinstance(r, RemoteRef) for r in results] == [True, True, False, True, True]
    assert isinstance(results[2], RejectedError)
    assert any("ItemRef" in (e.field or "") for e in results[2].errors)
    assert "B-2" not in {i["DocNumber"] for i in fake.objects("Invoice")}
    assert len(fake.objects("Invoice")) == 4


@pytest.mark.anyio
async def test_more_than_30_invoices_go_in_batches_of_30(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    specs = [spec(f"M-{i:03}", customer) for i in range(65)]
    results = await qbo.push_invoices(specs, [key(s.number) for s in specs])
    assert all(isinstance(r, RemoteRef) for r in results)
    batches = [b for b in fake.requests_to("/batch") if "Invoice" in b.body["BatchItemRequest"][0]]
    assert [len(b.body["BatchItemRequest"]) for b in batches] == [30, 30, 5]
    assert len({r.remote_id for r in results if isinstance(r, RemoteRef)}) == 65


@pytest.mark.anyio
async def test_batch_timeout_after_commit_is_replayed_by_requestid(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    specs = [spec(f"T-{i}", customer) for i in range(3)]
    fake.fail_next("timeout_after_commit", path_contains="/batch")
    results = await qbo.push_invoices(specs, [key(s.number) for s in specs])
    assert all(isinstance(r, RemoteRef) for r in results), results
    sent = [b for b in fake.requests_to("/batch") if "Invoice" in b.body["BatchItemRequest"][0]]
    assert len(sent) == 2 and sent[0].params["requestid"] == sent[1].params["requestid"]
    assert all(len(fake.invoices_by_number(s.number)) == 1 for s in specs)


@pytest.mark.anyio
async def test_duplicate_number_found_only_at_create_answers_the_existing_invoice(
    qbo: QuickBooksConnector, fake: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await setup_customer(qbo)
    first = await qbo.push_invoices([spec("D-1", customer)], [key("D-1")])

    async def blind(numbers: Any) -> dict[str, Any]:
        return {}  # the lookup raced with another worker's create

    monkeypatch.setattr(qbo, "find_invoices", blind)
    again = await qbo.push_invoices([spec("D-1", customer)], ["rebill:conn-test:invoice:D-1:2"])
    assert isinstance(first[0], RemoteRef) and isinstance(again[0], RemoteRef)
    assert again[0].remote_id == first[0].remote_id
    assert len(fake.invoices_by_number("D-1")) == 1


@pytest.mark.anyio
async def test_stale_sync_token_on_void_is_reread_and_retried(
    qbo: QuickBooksConnector, fake: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await setup_customer(qbo)
    [ref] = await qbo.push_invoices([spec("S-1", customer)], [key("S-1")])
    assert isinstance(ref, RemoteRef)
    original = fake.write
    raced = []

    def racing(entity: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        if op == "void" and not raced:  # the partner edits the invoice in between
            raced.append(True)
            stored = fake.store["Invoice"][ref.remote_id]
            stored["SyncToken"] = str(int(stored["SyncToken"]) + 1)
        return original(entity, op, body)

    monkeypatch.setattr(fake, "write", racing)
    voided = await qbo.void_invoice(ref, "rebill:conn-test:void:S-1:1")
    assert voided.version == "2"
    voids = [r for r in fake.requests if r.params.get("operation") == "void"]
    assert [v.status for v in voids] == [400, 200]
    assert (await qbo.fetch_invoice(ref)).status is RemoteStatus.VOID


@pytest.mark.anyio
async def test_every_request_has_minorversion_and_writes_a_short_stable_requestid(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    long_key = "rebill:" + "c" * 40 + ":invoice:inv-000000012345:3"
    await qbo.push_invoices([spec("R-1", customer)], [long_key])
    assert all(r.params.get("minorversion") == str(MINOR_VERSION) for r in fake.requests)
    writes = [r for r in fake.requests if r.method == "POST"]
    assert writes and all(0 < len(r.params["requestid"]) <= 50 for r in writes)
    assert request_id(long_key) == request_id(long_key) != request_id(long_key + "x")
    assert len(request_id(long_key)) <= 50
    assert request_id("rebill:c1:invoice:7:1") == "rebill:c1:invoice:7:1"
    assert len(request_id("ü" * 10)) <= 50


@pytest.mark.anyio
async def test_customers_with_taken_names_and_hand_made_twins(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    fake.write("Customer", "create", {"DisplayName": "Hand Made"})  # the partner's own
    hand = CustomerSpec(reference="c-hand", display_name="Hand Made")
    one = CustomerSpec(reference="c-1", display_name="Same Name", currency="EUR")
    two = CustomerSpec(reference="c-2", display_name="Same: Name")  # colon is refused
    results = await qbo.upsert_customers([hand, one], ["k-hand", "k-1"])
    [second] = await qbo.upsert_customers([two], ["k-2"])
    assert all(isinstance(r, RemoteRef) for r in [*results, second])
    names = {c["DisplayName"]: c for c in fake.objects("Customer")}
    assert set(names) == {"Hand Made", "Same Name", "Same  Name"}
    assert names["Same Name"]["CurrencyRef"] == {"value": "EUR"}
    assert names["Same Name"]["Notes"] == "Rebill client c-1"
    three = CustomerSpec(reference="c-3", display_name="Same Name")
    [third] = await qbo.upsert_customers([three], ["k-3"])
    assert isinstance(third, RemoteRef)
    assert "Same Name [c-3]" in {c["DisplayName"] for c in fake.objects("Customer")}
    found = await qbo.find_customers([one, three, hand])
    assert [f.remote_id if f else None for f in found] == [
        names["Same Name"]["Id"],
        third.remote_id,
        names["Hand Made"]["Id"],
    ]


@pytest.mark.anyio
async def test_foreign_currency_invoice_sends_currencyref_home_currency_does_not(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    [eur] = await qbo.upsert_customers(
        [CustomerSpec("c-eur", "Euro Client", currency="EUR")], ["k-eur"]
    )
    await CONTRACT.customer(qbo)
    usd = (await qbo.find_customers([CONTRACT.make_customer_spec()]))[0]
    assert isinstance(eur, RemoteRef) and usd is not None
    euro = replace(spec("E-1", eur), currency="EUR")
    results = await qbo.push_invoices([euro, spec("U-1", usd)], ["k-e", "k-u"])
    assert all(isinstance(r, RemoteRef) for r in results), results
    sent = fake.requests_to("/batch")[-1].body["BatchItemRequest"]
    assert sent[0]["Invoice"]["CurrencyRef"] == {"value": "EUR"}
    assert "CurrencyRef" not in sent[1]["Invoice"]
    remote = await qbo.find_invoices(["E-1"])
    assert remote["E-1"].currency == "EUR"


@pytest.mark.anyio
async def test_payments_read_back_as_partially_paid_then_paid(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    s = spec("P-1", customer)
    [ref] = await qbo.push_invoices([s], [key("P-1")])
    assert isinstance(ref, RemoteRef)
    fake.pay(ref.remote_id, Decimal("10.00"))
    partial = await qbo.fetch_invoice(ref)
    assert partial.status is RemoteStatus.PARTIALLY_PAID
    assert (partial.amount_paid_minor, partial.amount_due_minor) == (1000, s.total_minor - 1000)
    assert [p.amount_minor for p in partial.payments] == [1000]
    fake.pay(ref.remote_id, Decimal(s.total_minor - 1000) / 100)
    paid = await qbo.fetch_invoice(ref)
    assert paid.status is RemoteStatus.PAID and paid.amount_due_minor == 0
    assert sum(p.amount_minor for p in paid.payments) == s.total_minor


@pytest.mark.anyio
async def test_items_are_created_once_and_found_afterwards(
    qbo: QuickBooksConnector, fake: FakeQuickBooks, tokens: FakeTokens
) -> None:
    items = CONTRACT.make_item_specs()
    keys = [f"k-{i.code}" for i in items]
    first = await qbo.ensure_items(items, keys)
    other = make_connector(fake, tokens, None)  # a fresh worker: nothing cached
    second = await other.ensure_items(items, keys)
    await other.aclose()
    assert [r.remote_id for r in first if isinstance(r, RemoteRef)] == [
        r.remote_id for r in second if isinstance(r, RemoteRef)
    ]
    assert len(fake.objects("Item")) == len(items)
    assert fake.objects("Item")[0]["IncomeAccountRef"] == {"value": "79"}
    no_account = ItemSpec(code="orphan", name="Orphan", income_account="999")
    [rejected] = await qbo.ensure_items([no_account], ["k-orphan"])
    assert isinstance(rejected, RejectedError) and rejected.errors[0].field == "IncomeAccountRef"


@pytest.mark.anyio
async def test_check_references_names_missing_inactive_and_wrong_objects(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    fake.store["Account"]["90"] = {
        "Id": "90",
        "Name": "Old",
        "AccountType": "Income",
        "Active": False,
    }
    fake.store["Account"]["91"] = {
        "Id": "91",
        "Name": "Bank",
        "AccountType": "Bank",
        "Active": True,
    }
    mapping = mapping_from_settings(
        {
            "income_accounts": {"voice": "79", "sms": "90", "chat": "91"},
            "default_income_account": "404",
            "tax_code": "TAX",
            "non_tax_code": "NON",
            "class_ref": "777",
        }
    )
    problems = await qbo.check_references(mapping.required_remote_names())
    assert set(problems) == {
        "income_accounts.sms",
        "income_accounts.chat",
        "default_income_account",
        "class_ref",
    }
    assert "inactive" in problems["income_accounts.sms"]
    assert "not an income account" in problems["income_accounts.chat"]
    assert "no Account with Id 404" in problems["default_income_account"]
    assert "no Class with Id 777" in problems["class_ref"]


@pytest.mark.anyio
async def test_voided_invoices_read_back_void_and_keep_their_number(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    customer = await setup_customer(qbo)
    [ref] = await qbo.push_invoices([spec("V-1", customer)], [key("V-1")])
    assert isinstance(ref, RemoteRef)
    await qbo.void_invoice(ref, "rebill:conn-test:void:V-1:1")
    [stored] = fake.invoices_by_number("V-1")
    assert stored["TotalAmt"] == 0 and stored["PrivateNote"].startswith("Voided")
    listed = await qbo.list_invoices(CONTRACT_DATE, CONTRACT_DATE)
    assert [(i.number, i.status, i.total_minor) for i in listed] == [("V-1", RemoteStatus.VOID, 0)]
