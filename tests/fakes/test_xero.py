"""The Xero fake behaves as Xero documents it (the connector's tests rely on it, and so do the
sync tests and the sandbox)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from sandbox.xero import FakeXero
from sandbox.xero_where import WhereError, parse_where

API = "https://api.xero.com/api.xro/2.0"


@pytest.fixture
def fake() -> FakeXero:
    return FakeXero("t-1")


@pytest.fixture
def client(fake: FakeXero) -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(fake.handle),
        headers={"Authorization": f"Bearer {fake.initial_token}", "xero-tenant-id": "t-1"},
    )


def contact(client: httpx.Client, name: str = "Acme") -> str:
    answer = client.put(f"{API}/Contacts", json={"Contacts": [{"Name": name}]})
    assert answer.status_code == 200
    return str(answer.json()["Contacts"][0]["ContactID"])


def invoice(contact_id: str, number: str, *, unit: str = "10.00", **extra: Any) -> dict[str, Any]:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": number,
        "Date": "2026-10-31",
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": "Voice", "Quantity": 3, "UnitAmount": unit, "AccountCode": "200"}
        ],
        **extra,
    }


def test_without_summarize_false_one_bad_element_saves_nothing(
    fake: FakeXero, client: httpx.Client
) -> None:
    cid = contact(client)
    bad = invoice(cid, "INV-2")
    bad["LineItems"][0]["AccountCode"] = "999"
    answer = client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1"), bad]})
    assert answer.status_code == 400
    body = answer.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    [element] = body["Elements"]
    assert element["LineItems"][0]["ValidationErrors"] == [
        {"Message": "Account code '999' is not a valid code for this document."}
    ]
    assert fake.invoices == {}
    # with summarizeErrors=false the good one is kept and the bad one marked
    answer = client.put(
        f"{API}/Invoices",
        params={"summarizeErrors": "false"},
        json={"Invoices": [invoice(cid, "INV-1"), bad]},
    )
    assert answer.status_code == 200
    statuses = [e["StatusAttributeString"] for e in answer.json()["Invoices"]]
    assert statuses == ["OK", "ERROR"]
    assert [i["InvoiceNumber"] for i in fake.invoices.values()] == ["INV-1"]


def test_figures_are_computed_like_xero(fake: FakeXero, client: httpx.Client) -> None:
    cid = contact(client)
    lines = [
        {
            "Description": "a",
            "Quantity": "3",
            "UnitAmount": "0.3333",
            "AccountCode": "200",
            "TaxType": "OUTPUT",
        },
        {
            "Description": "b",
            "Quantity": "1",
            "UnitAmount": "10",
            "AccountCode": "200",
            "TaxType": "OUTPUT",
            "TaxAmount": "1.49",
        },
    ]
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-7", LineItems=lines)]})
    [stored] = fake.invoices_by_number("INV-7")
    # no unitdp: 0.3333 kept as 0.33, 3 x 0.33 = 0.99; tax 15% of 0.99 = 0.15 (half up)
    assert [line["LineAmount"] for line in stored["LineItems"]] == [Decimal("0.99"), Decimal(10)]
    assert [line["TaxAmount"] for line in stored["LineItems"]] == [Decimal("0.15"), Decimal("1.49")]
    assert (stored["SubTotal"], stored["TotalTax"], stored["Total"]) == (
        Decimal("10.99"),
        Decimal("1.64"),
        Decimal("12.63"),
    )
    assert stored["AmountDue"] == Decimal("12.63")
    client.put(
        f"{API}/Invoices",
        params={"unitdp": "4"},
        json={"Invoices": [invoice(cid, "INV-8", unit="0.3333")]},
    )
    assert fake.invoices_by_number("INV-8")[0]["Total"] == Decimal("1.00")  # 3 x 0.3333
    read = client.get(f"{API}/Invoices", params={"InvoiceNumbers": "INV-8"}).json()
    assert read["Invoices"][0]["LineItems"][0]["UnitAmount"] == 0.33  # 2 dp unless unitdp=4
    read = client.get(f"{API}/Invoices", params={"InvoiceNumbers": "INV-8", "unitdp": 4}).json()
    assert read["Invoices"][0]["LineItems"][0]["UnitAmount"] == 0.3333


def test_unique_names_numbers_and_codes(client: httpx.Client) -> None:
    cid = contact(client, "Acme")
    again = client.put(
        f"{API}/Contacts",
        params={"summarizeErrors": "false"},
        json={"Contacts": [{"Name": "ACME"}]},
    )
    assert "already assigned" in again.json()["Contacts"][0]["ValidationErrors"][0]["Message"]
    client.put(f"{API}/Items", json={"Items": [{"Code": "voice", "Name": "Voice"}]})
    dup = client.put(f"{API}/Items", json={"Items": [{"Code": "VOICE", "Name": "Voice"}]})
    assert dup.status_code == 400
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]})
    dup = client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]})
    assert dup.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Invoice # must be unique."}
    ]


def test_status_rules_for_void_and_delete(fake: FakeXero, client: httpx.Client) -> None:
    cid = contact(client)
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]})
    [stored] = fake.invoices_by_number("INV-1")
    iid = stored["InvoiceID"]
    refused = client.post(f"{API}/Invoices/{iid}", json={"Invoices": [{"Status": "DELETED"}]})
    assert refused.status_code == 400  # an approved invoice is voided, not deleted
    fake.pay(iid, Decimal("5.00"))
    refused = client.post(f"{API}/Invoices/{iid}", json={"Invoices": [{"Status": "VOIDED"}]})
    assert "payment" in refused.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-2")]})
    iid2 = fake.invoices_by_number("INV-2")[0]["InvoiceID"]
    voided = client.post(f"{API}/Invoices/{iid2}", json={"Invoices": [{"Status": "VOIDED"}]})
    assert voided.json()["Invoices"][0]["Status"] == "VOIDED"
    assert fake.invoices[iid2]["AmountDue"] == 0
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-3", Status="DRAFT")]})
    iid3 = fake.invoices_by_number("INV-3")[0]["InvoiceID"]
    client.post(f"{API}/Invoices/{iid3}", json={"Invoices": [{"Status": "DELETED"}]})
    # a deleted invoice frees its number
    again = client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-3")]})
    assert again.status_code == 200
    assert len(fake.invoices_by_number("INV-3")) == 2


def test_paging_filters_and_where(fake: FakeXero, client: httpx.Client) -> None:
    cid = contact(client)
    docs = [invoice(cid, f"INV-{i:03}", Date=f"2026-10-{i + 1:02}") for i in range(7)]
    client.put(f"{API}/Invoices", json={"Invoices": docs})
    page = client.get(f"{API}/Invoices", params={"page": 2, "pageSize": 3}).json()
    assert [i["InvoiceNumber"] for i in page["Invoices"]] == ["INV-003", "INV-004", "INV-005"]
    assert page["pagination"] == {"page": 2, "pageSize": 3, "pageCount": 3, "itemCount": 7}
    where = 'Type=="ACCREC" AND Date>=DateTime(2026,10,03) && Date<=DateTime(2026,10,04)'
    found = client.get(f"{API}/Invoices", params={"where": where}).json()["Invoices"]
    assert [i["InvoiceNumber"] for i in found] == ["INV-002", "INV-003"]
    numbers = client.get(f"{API}/Invoices", params={"InvoiceNumbers": "INV-001,INV-999"}).json()
    assert [i["InvoiceNumber"] for i in numbers["Invoices"]] == ["INV-001"]
    broken = client.get(f"{API}/Invoices", params={"where": "Date >>> 3"})
    assert broken.status_code == 400 and broken.json()["Type"] == "QueryParseException"
    assert client.get(f"{API}/Invoices/nope").status_code == 404


def test_where_language() -> None:
    keep = parse_where('Name=="a" OR Name=="b" AND Total>=10')
    assert keep({"Name": "A", "Total": 1})
    assert keep({"Name": "b", "Total": 10}) and not keep({"Name": "b", "Total": 9})
    assert parse_where('Contact.ContactID==Guid("x")')({"Contact": {"ContactID": "x"}})
    for bad in ("Name==", 'Name=="a" AND', '=="a"'):
        with pytest.raises(WhereError):
            parse_where(bad)


def test_credit_note_allocation_lowers_amount_due(fake: FakeXero, client: httpx.Client) -> None:
    cid = contact(client)
    client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]})  # 30.00
    iid = fake.invoices_by_number("INV-1")[0]["InvoiceID"]
    note = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": cid},
        "CreditNoteNumber": "CN-1",
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": "x", "Quantity": 1, "UnitAmount": "40", "AccountCode": "200"}
        ],
    }
    created = client.put(f"{API}/CreditNotes", json={"CreditNotes": [note]}).json()
    nid = created["CreditNotes"][0]["CreditNoteID"]
    too_much = {"Allocations": [{"Invoice": {"InvoiceID": iid}, "Amount": "31.00"}]}
    assert client.put(f"{API}/CreditNotes/{nid}/Allocations", json=too_much).status_code == 400
    fits = {"Allocations": [{"Invoice": {"InvoiceID": iid}, "Amount": "30.00"}]}
    assert client.put(f"{API}/CreditNotes/{nid}/Allocations", json=fits).status_code == 200
    assert fake.invoices[iid]["AmountDue"] == 0 and fake.invoices[iid]["Status"] == "PAID"
    assert fake.credit_notes[nid]["RemainingCredit"] == Decimal("10.00")


def test_tenant_tokens_keys_and_limits(fake: FakeXero, client: httpx.Client) -> None:
    no_tenant = client.get(f"{API}/Invoices", headers={"xero-tenant-id": "other"})
    assert (
        no_tenant.status_code == 403 and no_tenant.json()["Detail"] == "AuthorizationUnsuccessful"
    )
    cid = contact(client)
    key = {"Idempotency-Key": "k-1"}
    first = client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]}, headers=key)
    second = client.put(f"{API}/Invoices", json={"Invoices": [invoice(cid, "INV-1")]}, headers=key)
    assert second.status_code == 200 and second.json() == first.json()
    assert len(fake.invoices) == 1
    remaining = int(second.headers["X-MinLimit-Remaining"])
    assert remaining == 60 - 4 and int(second.headers["X-DayLimit-Remaining"]) == 5000 - 4
    assert second.headers["X-AppMinLimit-Remaining"]
    for _ in range(remaining):
        client.get(f"{API}/Items")
    limited = client.get(f"{API}/Items")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert int(limited.headers["Retry-After"]) >= 1
    fake.advance(61)
    assert client.get(f"{API}/Items").status_code == 200
    fake.expire_tokens()
    expired = client.get(f"{API}/Items")
    assert expired.status_code == 401 and expired.json()["Detail"].startswith("TokenExpired")


def test_usable_as_a_respx_side_effect(fake: FakeXero) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.xero.com").mock(side_effect=fake.handle)
        answer = httpx.get(
            f"{API}/Accounts",
            headers={"Authorization": f"Bearer {fake.initial_token}", "xero-tenant-id": "t-1"},
        )
    assert answer.status_code == 200
    assert {a["Code"] for a in answer.json()["Accounts"]} >= {"200", "260"}


@pytest.mark.anyio
async def test_the_connector_against_the_fake_on_loopback(fake: FakeXero) -> None:
    """What `python main.py sandbox` relies on: the same fake behind a real socket."""
    from connectors.base import ConnectionInfo
    from connectors.xero import build_connector
    from remote_specs import CustomerSpec, InvoiceSpec, LineSpec, RemoteRef
    from sandbox.server import FakeServer
    from sandbox.transport import FakeTokens

    with FakeServer(fake) as server:
        info = ConnectionInfo("conn-l", "acme", "xero", "t-1", base_url=server.url)
        connector = build_connector(info, FakeTokens(fake), budget=None)
        try:
            [customer] = await connector.upsert_customers(
                [CustomerSpec("client-1", "Acme")], ["rebill:l:customer:client-1:1"]
            )
            assert isinstance(customer, RemoteRef)
            line = LineSpec("SMS", Decimal(1500), Decimal("0.0125"), 1875, account="200")
            spec = InvoiceSpec(
                reference="1",
                number="INV-L1",
                customer_reference="client-1",
                customer=customer,
                currency="USD",
                issue_date=date(2026, 10, 31),
                due_date=None,
                lines=(line,),
                subtotal_minor=1875,
                tax_minor=0,
                total_minor=1875,
            )
            [ref] = await connector.push_invoices([spec], ["rebill:l:invoice:1:1"])
            assert isinstance(ref, RemoteRef)
            remote = await connector.fetch_invoice(ref)
            assert remote.total_minor == 1875
        finally:
            await connector.aclose()
