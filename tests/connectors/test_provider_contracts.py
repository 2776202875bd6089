"""Issue 15: the connectors hold against the providers' own references, not only our fakes.

One test per finding (each fails on the code before the fix), the paging loop guard for every
connector, a deliberately wrong field caught by each provider's reference, and the limits
the fakes enforce checked against the SDKs that publish them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from connectors.paging import PagingLoopError
from connectors.stripe import StripeCredentials, StripeGateway
from remote_specs import RemoteRef
from sandbox.base import ContractViolationError, FakeRemote
from sandbox.freshbooks import FakeFreshBooks
from sandbox.quickbooks import FakeQuickBooks
from sandbox.stripe import FakeStripe
from sandbox.transport import FakeTokens, FakeTransport
from sandbox.xero import FakeXero
from tests.connectors import test_freshbooks as fb
from tests.connectors import test_quickbooks as qb
from tests.connectors import test_xero as xe
from tests.connectors.contract import ConnectorContract
from tests.contracts.checks import check_for

pytestmark = pytest.mark.anyio
LONG = "rebill:" + "c" * 32 + ":item.ensure:{code}:" + "d" * 16  # as long as the worker's keys


class Helper(ConnectorContract):
    """The contract's spec builders, without its tests."""


async def seeded(connector: Any, helper: Helper) -> RemoteRef:
    return await helper.customer(connector)


# ---- finding 1: QuickBooks /batch requestid is at most 36 characters ---------------------------
async def test_quickbooks_batch_requestid_is_at_most_36_and_single_at_most_50() -> None:
    fake = FakeQuickBooks(qb.REALM)
    fake.checks.append(check_for("quickbooks"))
    connector = qb.make_connector(fake, FakeTokens(fake), None)
    helper = Helper()
    helper.income_account = "79"
    items = helper.make_item_specs()
    refs = await connector.ensure_items(items, [LONG.format(code=i.code) for i in items])
    assert all(isinstance(r, RemoteRef) for r in refs), refs
    batches = fake.requests_to("/batch", "POST")
    assert batches, "items are created through /batch"
    assert all(len(r.params["requestid"]) <= 36 for r in batches), [
        r.params["requestid"] for r in batches
    ]
    singles = [r for r in fake.requests if "requestid" in r.params and "/batch" not in r.path]
    assert all(len(r.params["requestid"]) <= 50 for r in singles)
    await connector.aclose()


def test_quickbooks_limits_agree_with_python_quickbooks() -> None:
    from quickbooks.batch import BatchManager
    from quickbooks.client import QuickBooks

    from connectors.quickbooks.profile import LIMITS
    from sandbox import quickbooks as fake_rules

    sdk_batch = BatchManager.__init__.__defaults__[0]  # type: ignore[index]
    assert LIMITS.batch_size == fake_rules.BATCH_MAX == sdk_batch == 30
    assert int(LIMITS.api_version or 0) == fake_rules.MIN_MINOR_VERSION
    assert QuickBooks.MINIMUM_MINOR_VERSION == fake_rules.MIN_MINOR_VERSION
    assert LIMITS.batch_idempotency_key_max == fake_rules.BATCH_REQUEST_ID_MAX == 36
    assert LIMITS.idempotency_key_max == fake_rules.REQUEST_ID_MAX == 50


# ---- findings 2 and 3: FreshBooks credit_note wrapper, numeric qty ------------------------------
async def test_freshbooks_credit_note_is_wrapped_as_the_sdk_does_and_qty_is_a_number() -> None:
    from freshbooks import Client

    fake = FakeFreshBooks(fb.ACCOUNT)
    fake.checks.append(check_for("freshbooks"))
    connector = fb.make_connector(fake, FakeTokens(fake))
    helper = Helper()
    customer = await helper.customer(connector)
    spec = helper.make_invoice_spec("INV-15", customer)
    [ref] = await connector.push_invoices([spec], [helper.key("invoice", "15")])
    assert isinstance(ref, RemoteRef), ref
    note = helper_credit_note(helper, ref, customer, spec.number)
    credit = await connector.push_credit_note(note, helper.key("credit", "15"))
    assert credit.remote_id
    [sent] = fake.requests_to("credit_notes/credit_notes", "POST")
    sdk = Client(client_id="x", access_token="y").credit_notes
    assert list(sent.body) == [sdk.single_name] == ["credit_note"]
    [invoice] = fake.requests_to("invoices/invoices", "POST")
    quantities = [line["qty"] for line in invoice.body["invoice"]["lines"]]
    assert quantities and all(isinstance(q, int | float) for q in quantities), quantities
    await connector.aclose()


def helper_credit_note(helper: Helper, invoice: RemoteRef, customer: RemoteRef, number: str) -> Any:
    from datetime import timedelta
    from decimal import Decimal

    from remote_specs import CreditNoteSpec, LineSpec
    from tests.connectors.contract import ISSUE

    line = LineSpec("Refund", Decimal(1), Decimal("12.50"), 1250, item_code="voice")
    return CreditNoteSpec(
        reference="cn-15",
        number="CN-15",
        invoice=invoice,
        invoice_number=number,
        customer=customer,
        currency="USD",
        issue_date=ISSUE + timedelta(days=1),
        lines=(line,),
        tax_minor=0,
        total_minor=1250,
        reason="dropped calls",
    )


# ---- finding 4: every paginated read stops on a repeated page ----------------------------------
class RepeatingTransport(FakeTransport):
    """A remote that ignores where the client asked to continue: every page is the first.
    Gives up after 40 requests so code without a loop guard fails instead of hanging."""

    def __init__(self, fake: FakeRemote, rewrite: Callable[[httpx.URL], httpx.URL]) -> None:
        super().__init__(fake)
        self.rewrite = rewrite
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls > 40:
            raise RuntimeError("the connector kept paging a remote that repeats its pages")
        request.url = self.rewrite(request.url)
        return await super().handle_async_request(request)


def first_page(name: str) -> Callable[[httpx.URL], httpx.URL]:
    return lambda url: url.copy_set_param(name, "1") if name in url.params else url


def first_position(url: httpx.URL) -> httpx.URL:
    query = url.params.get("query")
    if query and "STARTPOSITION" in query:
        head, _, tail = query.partition("STARTPOSITION ")
        return url.copy_set_param("query", f"{head}STARTPOSITION 1 {tail.split(' ', 1)[1]}")
    return url


async def test_quickbooks_paging_stops_on_a_repeated_page() -> None:
    fake = FakeQuickBooks(qb.REALM)
    helper = Helper()
    helper.income_account = "79"
    await helper.customer(qb.make_connector(fake, FakeTokens(fake), None))
    await qb.make_connector(fake, FakeTokens(fake), None).upsert_customers(
        [helper.make_customer_spec(f"c-{i}") for i in range(7)],
        [helper.key("customer", f"c-{i}") for i in range(7)],
    )
    connector = qb.make_connector(fake, FakeTokens(fake), None, page_size=3)
    connector.api.client._client._transport = RepeatingTransport(fake, first_position)  # type: ignore[attr-defined]
    with pytest.raises(PagingLoopError, match=r"QuickBooks query Customer: .*start position 4"):
        await connector.api.query("Customer")


async def test_xero_paging_stops_on_a_repeated_page() -> None:
    fake = FakeXero(xe.TENANT)
    helper = Helper()
    helper.income_account, helper.tax_code = "200", "OUTPUT2"
    setup = xe.make_connector(fake, FakeTokens(fake))
    customer = await helper.customer(setup)
    specs = [helper.make_invoice_spec(f"INV-P{i}", customer) for i in range(7)]
    await setup.push_invoices(specs, [helper.key("invoice", s.reference) for s in specs])
    connector = xe.make_connector(fake, FakeTokens(fake), page_size=3)
    connector.client._client._transport = RepeatingTransport(fake, first_page("page"))  # type: ignore[attr-defined]
    with pytest.raises(PagingLoopError, match=r"Xero GET Invoices: .*page 2"):
        await connector._pages("Invoices", {})


async def test_freshbooks_paging_stops_on_a_repeated_page() -> None:
    fake = FakeFreshBooks(fb.ACCOUNT)
    helper = Helper()
    setup = fb.make_connector(fake, FakeTokens(fake))
    await setup.upsert_customers(
        [helper.make_customer_spec(f"c-{i}") for i in range(7)],
        [helper.key("customer", f"c-{i}") for i in range(7)],
    )
    connector = fb.make_connector(fake, FakeTokens(fake), page_size=3)
    connector.client._client._transport = RepeatingTransport(fake, first_page("page"))  # type: ignore[attr-defined]
    with pytest.raises(PagingLoopError, match=r"FreshBooks GET users/clients: .*page 2"):
        await connector._pages("users/clients", "clients", {})


def test_stripe_refund_paging_stops_on_a_repeated_cursor() -> None:
    page = {
        "object": "list",
        "url": "/v1/refunds",
        "has_more": True,
        "data": [
            {
                "id": "re_1",
                "object": "refund",
                "amount": 100,
                "currency": "usd",
                "charge": "ch_1",
                "status": "succeeded",
                "created": 1,
            }
        ],
    }
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > 40:
            raise RuntimeError("the gateway kept paging a remote that repeats its pages")
        return httpx.Response(200, json=page)

    with respx.mock() as mock:
        mock.get("https://api.stripe.test/v1/refunds").mock(side_effect=answer)
        gateway = StripeGateway(
            StripeCredentials("c1", "sk_test_x", api_base="https://api.stripe.test")
        )
        with pytest.raises(PagingLoopError, match=r"Stripe GET /v1/refunds\?charge=ch_1: .*re_1"):
            gateway.refunds_of_charge("ch_1")
        gateway.close()


# ---- a deliberately wrong field fails each provider's reference -------------------------------
async def test_an_unknown_xero_field_fails_the_openapi_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.xero import payloads

    original = payloads.invoice_payload

    def with_typo(spec: Any) -> Any:
        body, needs = original(spec)
        return {**body, "InvoiceNumbr": "typo"}, needs

    monkeypatch.setattr(payloads, "invoice_payload", with_typo)
    fake = FakeXero(xe.TENANT)
    fake.checks.append(check_for("xero"))
    helper = Helper()
    helper.income_account, helper.tax_code = "200", "OUTPUT2"
    connector = xe.make_connector(fake, FakeTokens(fake))
    customer = await helper.customer(connector)
    with pytest.raises(ContractViolationError, match=r"InvoiceNumbr: unknown field"):
        await connector.push_invoices(
            [helper.make_invoice_spec("INV-X", customer)], [helper.key("invoice", "x")]
        )


async def test_an_unknown_quickbooks_field_fails_the_sdk_model_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.quickbooks import connector as qb_connector

    original = qb_connector.item_payload
    monkeypatch.setattr(
        qb_connector, "item_payload", lambda spec: {**original(spec), "Colour": "red"}
    )
    fake = FakeQuickBooks(qb.REALM)
    fake.checks.append(check_for("quickbooks"))
    helper = Helper()
    helper.income_account = "79"
    connector = qb.make_connector(fake, FakeTokens(fake), None)
    with pytest.raises(ContractViolationError, match=r"Item\.Colour: unknown to python-quickbooks"):
        await connector.ensure_items(helper.make_item_specs(), ["k1", "k2", "k3", "k4"])


def test_an_unknown_stripe_parameter_fails_the_openapi_check() -> None:
    fake = FakeStripe(base_url="https://api.stripe.test")
    check = check_for("stripe")
    request = httpx.Request(
        "POST",
        "https://api.stripe.test/v1/customers",
        content=b"name=Acme&metadata[rebill_client_id]=c1&colour=red",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    problems = check(request, None)
    assert any("colour" in p and "Additional properties" in p for p in problems), problems
    good = httpx.Request(
        "POST",
        "https://api.stripe.test/v1/customers",
        content=b"name=Acme&metadata[rebill_client_id]=c1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert check(good, None) == []
    assert fake is not None


def test_a_string_qty_fails_the_freshbooks_check() -> None:
    check = check_for("freshbooks")
    body = b'{"invoice": {"lines": [{"name": "voice", "qty": "1", "unit_cost": {"amount": "1.00", "code": "USD"}}]}}'
    request = httpx.Request(
        "POST", "https://api.freshbooks.test/accounting/account/A1/invoices/invoices", content=body
    )
    assert any("qty" in p for p in check(request, None))
    wrapped = httpx.Request(
        "POST",
        "https://x.test/accounting/account/A1/credit_notes/credit_notes",
        content=b'{"credit_notes": {"lines": []}}',
    )
    assert any("credit_note" in p for p in check(wrapped, None))
