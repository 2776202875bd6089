"""The QuickBooks fake behaves as QuickBooks documents it, so connector tests against it mean
something: query language, requestid replay, batch limits, rate limits, auth and arithmetic."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from sandbox.quickbooks import FakeQuickBooks
from sandbox.quickbooks_query import Cond, QueryError, parse_query
from sandbox.transport import FakeTransport

BASE = "https://quickbooks.api.intuit.com/v3/company/9130357"


def call(
    fake: FakeQuickBooks,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    **params: str,
) -> httpx.Response:
    request = httpx.Request(
        method,
        f"{BASE}/{path}",
        params={"minorversion": "75", **params},
        content=json.dumps(body).encode() if body is not None else b"",
        headers={"Authorization": f"Bearer {token or fake.initial_token}"},
    )
    return fake.handle(request)


def seeded() -> tuple[FakeQuickBooks, str, str]:
    fake = FakeQuickBooks()
    customer = fake.write("Customer", "create", {"DisplayName": "Acme"})["Id"]
    item = fake.write("Item", "create", {"Name": "voice", "IncomeAccountRef": {"value": "79"}})[
        "Id"
    ]
    return fake, customer, item


def invoice(
    customer: str,
    item: str,
    number: str = "INV-1",
    qty: str = "3",
    price: str = "1.25",
    amount: str = "3.75",
) -> dict[str, Any]:
    return {
        "DocNumber": number,
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": float(amount),
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item},
                    "Qty": float(qty),
                    "UnitPrice": float(price),
                },
            }
        ],
    }


def test_query_parser_reads_what_the_connector_sends() -> None:
    q = parse_query(
        "select * from Invoice where DocNumber in ('A', 'O\\'B') and TxnDate >= '2026-10-01' orderby Id startposition 4 maxresults 3"
    )
    assert q.entity == "Invoice" and (q.start, q.max_results, q.order_by) == (4, 3, "Id")
    assert q.conditions == [
        Cond("DocNumber", "in", ("A", "O'B")),
        Cond("TxnDate", ">=", ("2026-10-01",)),
    ]
    for bad in [
        "select Id from Invoice",
        "select * from Invoice where DocNumber ~ 'x'",
        "select * from Invoice maxresults 1001",
        "select * from Invoice where Name = x",
    ]:
        with pytest.raises(QueryError):
            parse_query(bad)


def test_query_pages_and_filters() -> None:
    fake, customer, item = seeded()
    for i in range(5):
        fake.write(
            "Invoice",
            "create",
            {**invoice(customer, item, f"N-{i}"), "TxnDate": f"2026-10-0{i + 1}"},
        )
    text = "select * from Invoice where TxnDate >= '2026-10-02' and TxnDate <= '2026-10-04' orderby Id startposition 1 maxresults 2"
    page = call(fake, "GET", "query", query=text).json()["QueryResponse"]
    assert [i["DocNumber"] for i in page["Invoice"]] == ["N-1", "N-2"]
    rest = call(
        fake, "GET", "query", query=text.replace("startposition 1", "startposition 3")
    ).json()["QueryResponse"]
    assert [i["DocNumber"] for i in rest["Invoice"]] == ["N-3"]
    empty = call(fake, "GET", "query", query="select * from Invoice where DocNumber = 'zzz'").json()
    assert empty["QueryResponse"] == {}
    bad = call(fake, "GET", "query", query="delete from Invoice")
    assert bad.status_code == 400 and bad.json()["Fault"]["Error"][0]["code"] == "4000"


def test_amount_must_be_qty_times_unit_price_and_totals_are_recomputed() -> None:
    fake, customer, item = seeded()
    wrong = call(fake, "POST", "invoice", invoice(customer, item, amount="3.76"), requestid="r1")
    assert wrong.status_code == 400 and wrong.json()["Fault"]["Error"][0]["code"] == "6070"
    body = {**invoice(customer, item), "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "TAX"}}}
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    created = call(fake, "POST", "invoice", body, requestid="r2").json()["Invoice"]
    assert Decimal(str(created["TotalAmt"])) == Decimal("4.05")  # 3.75 + 8% = 0.30
    assert created["Balance"] == created["TotalAmt"] and created["SyncToken"] == "0"
    override = {**invoice(customer, item, "INV-2"), "TxnTaxDetail": {"TotalTax": 0.31}}
    assert Decimal(
        str(call(fake, "POST", "invoice", override, requestid="r3").json()["Invoice"]["TotalAmt"])
    ) == Decimal("4.06")


def test_requestid_replays_and_duplicates_are_refused() -> None:
    fake, customer, item = seeded()
    first = call(fake, "POST", "invoice", invoice(customer, item), requestid="same")
    again = call(fake, "POST", "invoice", invoice(customer, item), requestid="same")
    assert first.json()["Invoice"]["Id"] == again.json()["Invoice"]["Id"]
    dup = call(fake, "POST", "invoice", invoice(customer, item), requestid="other")
    assert dup.json()["Fault"]["Error"][0]["code"] == "6140"
    assert len(fake.invoices_by_number("INV-1")) == 1
    long_id = call(fake, "POST", "invoice", invoice(customer, item, "INV-9"), requestid="x" * 51)
    assert long_id.status_code == 400
    name = call(fake, "POST", "customer", {"DisplayName": "acme"}, requestid="c")
    assert name.json()["Fault"]["Error"][0]["code"] == "6240"


def test_required_fields_and_references() -> None:
    fake, customer, item = seeded()
    cases = {
        "CustomerRef": {k: v for k, v in invoice(customer, item).items() if k != "CustomerRef"},
        "Line": {**invoice(customer, item), "Line": []},
        "Line.DetailType": {**invoice(customer, item), "Line": [{"Amount": 1}]},
        "Line.SalesItemLineDetail.ItemRef": invoice(customer, "4040"),
    }
    for element, body in cases.items():
        error = call(fake, "POST", "invoice", body, requestid=element).json()["Fault"]["Error"][0]
        assert error["element"] == element


def test_batch_limits_and_per_item_faults() -> None:
    fake, customer, item = seeded()
    ops = [
        {"bId": str(i), "operation": "create", "Invoice": invoice(customer, item, f"B-{i % 2}")}
        for i in range(3)
    ]
    answers = call(fake, "POST", "batch", {"BatchItemRequest": ops}, requestid="b1").json()[
        "BatchItemResponse"
    ]
    assert ["Invoice" in a for a in answers] == [True, True, False]
    assert answers[2]["Fault"]["Error"][0]["code"] == "6140"
    too_many = [{**ops[0], "bId": str(i)} for i in range(31)]
    assert (
        call(fake, "POST", "batch", {"BatchItemRequest": too_many}, requestid="b2").status_code
        == 400
    )


def test_auth_and_rate_limits() -> None:
    fake, _, _ = seeded()
    denied = call(fake, "GET", "query", token="nope", query="select * from Item")
    assert denied.status_code == 401 and denied.json()["fault"]["type"] == "AUTHENTICATION"
    for _ in range(40):
        assert (
            call(
                fake,
                "POST",
                "batch",
                {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item"}]},
            ).status_code
            == 200
        )
    throttled = call(
        fake, "POST", "batch", {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item"}]}
    )
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert (
        call(fake, "GET", "query", query="select * from Item").status_code == 200
    )  # other calls still go
    for _ in range(500 - 41):  # 40 batches + 1 query so far; the throttled one did not count
        call(fake, "GET", "query", query="select * from Item")
    assert call(fake, "GET", "query", query="select * from Item").status_code == 429
    fake.advance(60)
    assert call(fake, "GET", "query", query="select * from Item").status_code == 200


@pytest.mark.anyio
async def test_more_than_ten_concurrent_requests_are_throttled() -> None:
    fake = FakeQuickBooks()
    statuses: list[int] = []
    async with httpx.AsyncClient(
        transport=FakeTransport(fake, latency=0.05), base_url=BASE
    ) as client:

        async def one() -> None:
            r = await client.get(
                "/query",
                params={"query": "select * from Item", "minorversion": "75"},
                headers={"Authorization": f"Bearer {fake.initial_token}"},
            )
            statuses.append(r.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
    assert sorted(statuses) == [200] * 10 + [429] * 2


def test_void_zeroes_the_invoice_and_needs_the_current_sync_token() -> None:
    fake, customer, item = seeded()
    created = fake.write("Invoice", "create", invoice(customer, item))
    stale = call(
        fake,
        "POST",
        "invoice",
        {"Id": created["Id"], "SyncToken": "7"},
        operation="void",
        requestid="v0",
    )
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    voided = call(
        fake,
        "POST",
        "invoice",
        {"Id": created["Id"], "SyncToken": "0"},
        operation="void",
        requestid="v1",
    ).json()["Invoice"]
    assert (
        voided["TotalAmt"] == 0
        and voided["Balance"] == 0
        and voided["PrivateNote"].startswith("Voided")
    )
    assert voided["SyncToken"] == "1"


@pytest.mark.anyio
async def test_the_connector_works_against_the_fake_on_loopback() -> None:
    """What `python main.py sandbox` relies on: the same fake behind a real socket."""
    from connectors.base import ConnectionInfo
    from connectors.http import StaticTokenSource
    from connectors.quickbooks import build_connector
    from remote_specs import RemoteRef
    from sandbox.server import FakeServer
    from tests.connectors.test_quickbooks import CONTRACT

    fake = FakeQuickBooks("4242")
    with FakeServer(fake) as server:
        info = ConnectionInfo("conn-loop", "acme", "quickbooks", "4242", base_url=server.url)
        connector = build_connector(info, StaticTokenSource(fake.initial_token))
        try:
            customer = await CONTRACT.customer(connector)
            [ref] = await connector.push_invoices(
                [CONTRACT.make_invoice_spec("L-1", customer)], ["k"]
            )
            assert isinstance(ref, RemoteRef)
            assert (await connector.fetch_invoice(ref)).total_minor == 3500
        finally:
            await connector.aclose()
    assert len(fake.invoices_by_number("L-1")) == 1
