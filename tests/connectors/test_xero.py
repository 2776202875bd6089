"""Xero connector against the stateful fake: the shared contract, then what only Xero has
(arrays with per-element results, unitdp, explicit tax, the tenant header, Idempotency-Key,
remaining-headers, every error shape)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import ConnectionInfo, Connector, RejectedError
from connectors.http import RateBudget, RetryPolicy
from connectors.xero import XeroConnector, build_connector
from remote_specs import LineSpec, RemoteRef, RemoteStatus
from sandbox.transport import FakeTokens, FakeTransport
from sandbox.xero import FakeXero
from tests.connectors.contract import ISSUE, ConnectorContract

TENANT = "tenant-1"


class Clock:
    """Budget time that only moves when the budget sleeps; the fake's clock moves with it, so
    a wait for the next minute costs no wall time."""

    def __init__(self, fake: FakeXero | None = None) -> None:
        self.now = 0.0
        self.fake = fake
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.fake is not None:
            self.fake.advance(seconds)


def make_connector(
    fake: FakeXero,
    tokens: FakeTokens | None,
    retry: RetryPolicy | None = None,
    *,
    page_size: int = 100,
    clock: Clock | None = None,
    per_minute: int | None = 60,
    tenant: str = TENANT,
) -> XeroConnector:
    clock = clock or Clock(fake)
    budget = RateBudget(
        "xero-test", per_minute, 5000, 5, clock=clock, sleep=clock.sleep, max_wait=3600
    )
    info = ConnectionInfo(
        connection_id="conn-test",
        partner_id="acme",
        provider="xero",
        remote_tenant=tenant,
        base_url="https://xero.test",
    )
    return build_connector(
        info,
        tokens,
        transport=FakeTransport(fake),
        budget=budget,
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0, sleep=clock.sleep),
        page_size=page_size,
    )


class TestXeroContract(ConnectorContract):
    provider = "xero"
    unknown_remote_id = "00000000-0000-4000-8000-000000000999"  # Xero ids are UUIDs
    income_account = "200"
    tax_code = "OUTPUT2"
    bad_item_field = "Item code"
    invoice_write_path = "/Invoices"

    @pytest.fixture
    def fake(self) -> FakeXero:
        return FakeXero(TENANT)

    @pytest.fixture
    async def connector(
        self, fake: FakeXero, tokens: FakeTokens, retry_policy: Any
    ) -> AsyncIterator[Connector]:
        connector = make_connector(fake, tokens, retry_policy, page_size=self.page_size)
        yield connector
        await connector.aclose()


# --- Xero-specific behaviour ------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeXero:
    return FakeXero(TENANT)


@pytest.fixture
async def xero(fake: FakeXero) -> AsyncIterator[XeroConnector]:
    connector = make_connector(fake, FakeTokens(fake))
    yield connector
    await connector.aclose()


contract = TestXeroContract()


async def customer(connector: XeroConnector) -> RemoteRef:
    return await contract.customer(connector)


@pytest.mark.anyio
async def test_a_batch_with_one_invalid_invoice_creates_the_rest(
    xero: XeroConnector, fake: FakeXero
) -> None:
    ref = await customer(xero)
    bad_line = LineSpec("Voice", Decimal(1), Decimal(5), 500, item_code="voice", account="999")
    specs = [contract.make_invoice_spec(f"INV-30{i}", ref) for i in range(5)]
    specs[2] = contract.make_invoice_spec("INV-302", ref, lines=[bad_line])
    results = await xero.push_invoices(specs, [contract.key("invoice", s.number) for s in specs])
    assert [isinstance(r, RemoteRef) for r in results] == [True, True, False, True, True]
    error = results[2]
    assert isinstance(error, RejectedError)
    assert "INV-302" in error.message and "Account code '999'" in error.message
    assert "account_codes" in error.message  # tells the partner which setting to fix
    assert error.errors[0].field == "Invoices[2].LineItems[0]"
    assert [len(fake.invoices_by_number(s.number)) for s in specs] == [1, 1, 0, 1, 1]
    puts = fake.requests_to("/Invoices", "PUT")
    assert len(puts) == 1 and puts[0].params["summarizeErrors"] == "false"


@pytest.mark.anyio
async def test_more_than_50_invoices_go_50_a_request(xero: XeroConnector, fake: FakeXero) -> None:
    ref = await customer(xero)
    specs = [contract.make_invoice_spec(f"INV-4{i:02}", ref) for i in range(60)]
    results = await xero.push_invoices(specs, [contract.key("invoice", s.number) for s in specs])
    assert all(isinstance(r, RemoteRef) for r in results)
    assert [len(r.body["Invoices"]) for r in fake.requests_to("/Invoices", "PUT")] == [50, 10]
    assert len(fake.invoices) == 60


@pytest.mark.anyio
async def test_four_decimal_rates_are_sent_with_unitdp(xero: XeroConnector, fake: FakeXero) -> None:
    ref = await customer(xero)
    line = LineSpec("SMS", Decimal(1500), Decimal("0.0125"), 1875, item_code="sms")
    [result] = await xero.push_invoices(
        [contract.make_invoice_spec("INV-501", ref, lines=[line])], [contract.key("invoice", "501")]
    )
    assert isinstance(result, RemoteRef)
    [put] = fake.requests_to("/Invoices", "PUT")
    assert put.params["unitdp"] == "4"
    stored = fake.invoices_by_number("INV-501")[0]
    assert stored["LineItems"][0]["UnitAmount"] == Decimal("0.0125")
    assert stored["Total"] == Decimal("18.75")
    remote = await xero.fetch_invoice(result)
    assert remote.total_minor == 1875
    # two-decimal rates need no unitdp
    [plain] = await xero.push_invoices(
        [contract.make_invoice_spec("INV-502", ref)], [contract.key("invoice", "502")]
    )
    assert isinstance(plain, RemoteRef)
    assert "unitdp" not in fake.requests_to("/Invoices", "PUT")[-1].params


def test_the_fake_rounds_unit_amounts_to_two_decimals_without_unitdp() -> None:
    """Why unitdp matters: the same line without it arrives 0.75 short."""
    fake = FakeXero(TENANT)
    lines, subtotal, _ = fake.compute_lines(
        [{"Quantity": Decimal(1500), "UnitAmount": Decimal("0.0125")}], "Exclusive", 2
    )
    assert lines[0]["UnitAmount"] == Decimal("0.01") and subtotal == Decimal("15.00")


@pytest.mark.anyio
async def test_explicit_tax_makes_the_total_exact_where_xero_would_differ(
    xero: XeroConnector, fake: FakeXero
) -> None:
    """Three lines of 0.05 at 10%: Xero's own per-line tax would be 3 x 0.01 (half-up of
    0.005), but our invoice rounds tax once on the subtotal: 0.015 → 0.02."""
    ref = await customer(xero)
    lines = [
        LineSpec(f"Line {i}", Decimal(1), Decimal("0.05"), 5, item_code="sms") for i in range(3)
    ]
    spec = contract.make_invoice_spec("INV-601", ref, lines=lines, tax_minor=2)
    [result] = await xero.push_invoices([spec], [contract.key("invoice", "601")])
    assert isinstance(result, RemoteRef)
    stored = fake.invoices_by_number("INV-601")[0]
    assert [line["TaxAmount"] for line in stored["LineItems"]] == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.00"),
    ]
    assert stored["TotalTax"] == Decimal("0.02") and stored["Total"] == Decimal("0.17")
    assert all(line["TaxType"] == "OUTPUT2" for line in stored["LineItems"])


@pytest.mark.anyio
async def test_lines_and_header_carry_the_mapping(xero: XeroConnector, fake: FakeXero) -> None:
    ref = await customer(xero)
    line = LineSpec(
        "Voice minutes",
        Decimal(120),
        Decimal("0.25"),
        3000,
        item_code="voice",
        account="260",
        tax_code="NONE",
        tracking={"Region": "North"},
    )
    spec = contract.make_invoice_spec("INV-701", ref, lines=[line])
    draft = dataclasses.replace(spec, draft=True)
    [result] = await xero.push_invoices([draft], [contract.key("invoice", "701")])
    assert isinstance(result, RemoteRef)
    [stored] = fake.invoices_by_number("INV-701")
    assert stored["Status"] == "DRAFT" and stored["Type"] == "ACCREC"
    assert stored["LineAmountTypes"] == "Exclusive"
    assert stored["Reference"] == "Rebill invoice INV-701"
    assert stored["DueDate"].startswith("/Date(")
    [item] = stored["LineItems"]
    assert (item["ItemCode"], item["AccountCode"], item["TaxType"]) == ("voice", "260", "NONE")
    assert item["Tracking"] == [{"Name": "Region", "Option": "North"}]
    remote = await xero.fetch_invoice(result)
    assert remote.status is RemoteStatus.DRAFT
    # voiding a draft deletes it (Xero voids only approved invoices)
    await xero.void_invoice(result, contract.key("void", "701"))
    assert fake.invoices_by_number("INV-701")[0]["Status"] == "DELETED"


@pytest.mark.anyio
async def test_every_request_names_the_tenant_and_writes_carry_a_key(
    xero: XeroConnector, fake: FakeXero
) -> None:
    ref = await customer(xero)
    await xero.push_invoices(
        [contract.make_invoice_spec("INV-801", ref)], ["rebill:c:invoice:801:1"]
    )
    assert all(r.headers.get("xero-tenant-id") == TENANT for r in fake.requests)
    writes = [r for r in fake.requests if r.is_write]
    assert writes and all(r.headers.get("idempotency-key") for r in writes)
    assert fake.requests_to("/Invoices", "PUT")[0].headers["idempotency-key"] == (
        "rebill:c:invoice:801:1"
    )


@pytest.mark.anyio
async def test_a_wrong_tenant_is_a_clear_auth_problem(fake: FakeXero) -> None:
    connector = make_connector(fake, FakeTokens(fake), tenant="someone-else")
    with pytest.raises(Exception) as info:
        await connector.fetch_invoice(RemoteRef("x"))
    assert type(info.value).__name__ == "AuthExpiredError"
    assert "AuthorizationUnsuccessful" in str(info.value) and "reconnect Xero" in str(info.value)
    await connector.aclose()


@pytest.mark.anyio
async def test_the_same_key_replays_the_first_answer(xero: XeroConnector, fake: FakeXero) -> None:
    ref = await customer(xero)
    spec = contract.make_invoice_spec("INV-901", ref)
    [first] = await xero.push_invoices([spec], ["rebill:c:invoice:901:1"])
    [second] = await xero.push_invoices([spec], ["rebill:c:invoice:901:1"])
    assert isinstance(first, RemoteRef) and isinstance(second, RemoteRef)
    assert first == second
    assert len(fake.invoices_by_number("INV-901")) == 1
    # a new key is a new request: Xero refuses the duplicate number; the invoice it has is
    # ours (same contact and total), so that is the answer
    [third] = await xero.push_invoices([spec], ["rebill:c:invoice:901:2"])
    assert isinstance(third, RemoteRef) and third.remote_id == first.remote_id
    # an invoice with our number but another total is somebody else's: refused, said why
    other = dataclasses.replace(spec, total_minor=spec.total_minor + 1)
    [fourth] = await xero.push_invoices([other], ["rebill:c:invoice:901:3"])
    assert isinstance(fourth, RejectedError) and "must be unique" in fourth.message
    assert "already exists in Xero" in fourth.message
    assert len(fake.invoices_by_number("INV-901")) == 1


@pytest.mark.anyio
async def test_batch_keys_are_deterministic_and_short(xero: XeroConnector, fake: FakeXero) -> None:
    ref = await customer(xero)
    specs = [contract.make_invoice_spec(f"INV-95{i}", ref) for i in range(3)]
    keys = [f"rebill:{'c' * 100}:invoice:{s.number}:1" for s in specs]
    await xero.push_invoices(specs, keys)
    await xero.push_invoices(specs, keys)  # replayed: nothing new
    first, second = (r.headers["idempotency-key"] for r in fake.requests_to("/Invoices", "PUT"))
    assert first == second and len(first) <= 128
    assert len(fake.invoices) == 3


@pytest.mark.anyio
async def test_remaining_headers_slow_us_down_before_xero_says_429(fake: FakeXero) -> None:
    fake.set_rate_limit(3, concurrent=5, bucket=f"minute:{TENANT}")
    clock = Clock(fake)
    connector = make_connector(fake, FakeTokens(fake), clock=clock, per_minute=None)
    for _ in range(5):
        await connector.find_invoices(["INV-X"])
    assert all(r.status == 200 for r in fake.requests)  # never a 429
    assert clock.slept and sum(clock.slept) >= 55  # waited for Xero's minute to free
    assert fake.requests[-1].status == 200
    await connector.aclose()


@pytest.mark.anyio
async def test_a_429_names_the_limit_and_its_wait(fake: FakeXero) -> None:
    fake.set_rate_limit(1, bucket=f"minute:{TENANT}")
    connector = make_connector(  # the budget's clock does not move the fake's: Xero says 429
        fake, FakeTokens(fake), retry=RetryPolicy(max_attempts=1), per_minute=None, clock=Clock()
    )
    await connector.find_invoices(["A"])
    fake.requests.clear()
    with pytest.raises(Exception) as info:
        await connector.fetch_invoice(RemoteRef("x"))
    assert type(info.value).__name__ == "RateLimitedError"
    assert "per-minute limit (60 calls)" in str(info.value)
    assert getattr(info.value, "retry_after", 0) >= 1
    await connector.aclose()


@pytest.mark.anyio
async def test_credit_note_is_allocated_and_lowers_amount_due(
    xero: XeroConnector, fake: FakeXero
) -> None:
    ref = await customer(xero)
    spec = contract.make_invoice_spec("INV-1101", ref)  # 35.00
    [invoice] = await xero.push_invoices([spec], [contract.key("invoice", "1101")])
    assert isinstance(invoice, RemoteRef)
    from remote_specs import CreditNoteSpec

    line = LineSpec("Refund", Decimal(1), Decimal("12.50"), 1250, item_code="voice", account="200")
    note = CreditNoteSpec(
        reference="cn-9",
        number="CN-9",
        invoice=invoice,
        invoice_number="INV-1101",
        customer=ref,
        currency="USD",
        issue_date=ISSUE,
        lines=(line,),
        tax_minor=0,
        total_minor=1250,
        reason="dropped calls",
    )
    await xero.push_credit_note(note, contract.key("credit", "cn-9"))
    await xero.push_credit_note(note, contract.key("credit", "cn-9", 2))  # no double allocation
    remote = await xero.fetch_invoice(invoice)
    assert remote.amount_due_minor == 3500 - 1250
    assert len(fake.credit_notes) == 1
    [stored] = fake.credit_notes.values()
    assert stored["Type"] == "ACCRECCREDIT" and stored["RemainingCredit"] == 0
    # a voided invoice with an allocation cannot be voided: the partner is told why
    with pytest.raises(RejectedError) as info:
        await xero.void_invoice(invoice, contract.key("void", "1101"))
    assert "credit note allocated" in info.value.message


@pytest.mark.anyio
async def test_paid_invoices_read_back_and_refuse_voiding(
    xero: XeroConnector, fake: FakeXero
) -> None:
    ref = await customer(xero)
    [invoice] = await xero.push_invoices(
        [contract.make_invoice_spec("INV-1201", ref)], [contract.key("invoice", "1201")]
    )
    assert isinstance(invoice, RemoteRef)
    fake.pay(invoice.remote_id, Decimal("10.00"))
    remote = await xero.fetch_invoice(invoice)
    assert remote.status is RemoteStatus.PARTIALLY_PAID
    assert (remote.amount_paid_minor, remote.amount_due_minor) == (1000, 2500)
    assert remote.payments[0].amount_minor == 1000
    with pytest.raises(RejectedError) as info:
        await xero.void_invoice(invoice, contract.key("void", "1201"))
    assert "payments" in info.value.message


@pytest.mark.anyio
async def test_customers_found_by_name_get_our_contact_number(
    xero: XeroConnector, fake: FakeXero
) -> None:
    spec = contract.make_customer_spec("client-42")
    fake.contacts["c1"] = {"ContactID": "c1", "Name": spec.display_name, "ContactStatus": "ACTIVE"}
    [ref] = await xero.upsert_customers([spec], [contract.key("customer", "client-42")])
    assert isinstance(ref, RemoteRef) and ref.remote_id == "c1"
    assert fake.contacts["c1"]["ContactNumber"] == "client-42"
    assert len(fake.contacts) == 1
    assert fake.requests_to("/Contacts", "POST") and not fake.requests_to("/Contacts", "PUT")


@pytest.mark.anyio
async def test_check_references_lists_what_is_missing(xero: XeroConnector) -> None:
    problems = await xero.check_references(
        {
            "account_codes.voice": "200",
            "account_codes.sms": "999",
            "default_account_code": "270",
            "tax_type": "OUTPUT",
            "no_tax_type": "OLDTAX",
            "tracking.Region": "East",
            "tracking.Team": "Red",
        }
    )
    assert problems == {
        "account_codes.sms": "Xero has no account with code '999'",
        "default_account_code": "Xero account '270' is archived",
        "no_tax_type": "Xero tax rate 'OLDTAX' is not active",
        "tracking.Region": "Xero tracking category 'Region' has no active option 'East'",
        "tracking.Team": "Xero has no tracking category 'Team'",
    }


@pytest.mark.anyio
async def test_list_invoices_uses_a_date_filter_and_pages(fake: FakeXero) -> None:
    connector = make_connector(fake, FakeTokens(fake), page_size=2)
    ref = await customer(connector)
    dates = [date(2026, 10, d) for d in (1, 5, 9, 20, 31)] + [date(2026, 11, 1)]
    specs = [
        contract.make_invoice_spec(f"INV-13{i}", ref, issue_date=d) for i, d in enumerate(dates)
    ]
    await connector.push_invoices(specs, [contract.key("invoice", s.number) for s in specs])
    listed = await connector.list_invoices(date(2026, 10, 1), date(2026, 10, 31))
    assert sorted(i.number for i in listed) == [f"INV-13{i}" for i in range(5)]
    gets = fake.requests_to("/Invoices", "GET")
    assert [g.params["page"] for g in gets] == ["1", "2", "3"]
    assert "DateTime(2026,10,01)" in gets[0].params["where"]
    await connector.aclose()


def test_build_connector_defaults() -> None:
    info = ConnectionInfo("c", "p", "xero", "tenant-9")
    connector = build_connector(info, None)
    assert str(connector.client.base_url).startswith("https://api.xero.com")
    assert connector.max_batch == 50
    assert connector.client.budget is not None
    assert connector.client.budget is build_connector(info, None).client.budget  # per tenant
    with pytest.raises(ValueError, match="remote_tenant"):
        build_connector(ConnectionInfo("c", "p", "xero", ""), None)


@pytest.mark.anyio
async def test_never_more_than_five_calls_at_once(fake: FakeXero) -> None:
    def connector_with(concurrent: int | None) -> tuple[XeroConnector, FakeTransport]:
        clock = Clock(fake)
        transport = FakeTransport(fake, latency=0.01)
        budget = RateBudget("xero-c", None, None, concurrent, clock=clock, sleep=clock.sleep)
        info = ConnectionInfo("conn-c", "acme", "xero", TENANT, base_url="https://xero.test")
        retry = RetryPolicy(max_attempts=1)
        connector = build_connector(
            info, FakeTokens(fake), transport=transport, budget=budget, retry=retry
        )
        return connector, transport

    polite, transport = connector_with(5)
    await asyncio.gather(*(polite.find_invoices([f"INV-{i}"]) for i in range(12)))
    assert transport.max_in_flight == 5
    assert all(r.status == 200 for r in fake.requests)
    # without our limit Xero's own answers 429 "concurrent"
    rude, _ = connector_with(None)
    results = await asyncio.gather(
        *(rude.find_invoices([f"INV-{i}"]) for i in range(12)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, Exception)]
    assert limited and all("at once" in str(r) for r in limited)
    await polite.aclose()
    await rude.aclose()


@pytest.mark.anyio
async def test_a_name_held_by_another_clients_contact_gets_a_distinct_name(
    xero: XeroConnector, fake: FakeXero
) -> None:
    fake.contacts["c1"] = {
        "ContactID": "c1",
        "Name": "Client client-5",
        "ContactNumber": "someone-else",
        "ContactStatus": "ACTIVE",
    }
    spec = contract.make_customer_spec("client-5")
    [ref] = await xero.upsert_customers([spec], [contract.key("customer", "client-5")])
    assert isinstance(ref, RemoteRef) and ref.remote_id != "c1"
    assert fake.contacts[ref.remote_id]["Name"] == "Client client-5 [client-5]"
    # the next sync finds it by number and leaves the name alone
    [again] = await xero.upsert_customers([spec], [contract.key("customer", "client-5", 2)])
    assert again == ref
    assert len(fake.contacts) == 2 and not fake.requests_to("/Contacts", "POST")


@pytest.mark.anyio
async def test_an_invoice_xero_cannot_hold_exactly_is_one_rejected_element(
    xero: XeroConnector, fake: FakeXero
) -> None:
    ref = await customer(xero)
    line = LineSpec("Voice", Decimal(1), Decimal("1.234"), 1234, item_code="voice")
    bhd = dataclasses.replace(
        contract.make_invoice_spec("INV-BHD", ref, lines=[line]), currency="BHD"
    )
    good = contract.make_invoice_spec("INV-USD", ref)
    results = await xero.push_invoices([bhd, good], ["k-bhd", "k-usd"])
    assert isinstance(results[0], RejectedError) and "2 decimals" in results[0].message
    assert isinstance(results[1], RemoteRef)
    assert [len(r.body["Invoices"]) for r in fake.requests_to("/Invoices", "PUT")] == [1]
