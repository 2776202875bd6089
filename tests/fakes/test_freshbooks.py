"""The FreshBooks fake behaves as the connector's tests assume: envelopes, required fields,
duplicate numbers, amounts recomputed from qty x unit_cost, paging, 401 and 429."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from sandbox.freshbooks import FakeFreshBooks

API = "https://api.freshbooks.com/accounting/account/acc-1"


def call(
    fake: FakeFreshBooks,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    request = httpx.Request(
        method,
        f"{API}/{path}",
        params=params,
        content=json.dumps(body).encode() if body is not None else b"",
        headers={"Authorization": f"Bearer {token or fake.initial_token}"},
    )
    return fake.handle(request)


def result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["response"]["result"]


def client(fake: FakeFreshBooks) -> int:
    answer = result(call(fake, "POST", "users/clients", {"client": {"organization": "Acme"}}))
    return int(answer["client"]["id"])


def invoice(customer: int, number: str, **extra: Any) -> dict[str, Any]:
    line = {"name": "voice", "qty": 3, "unit_cost": {"amount": "0.333", "code": "USD"}}
    return {
        "invoice": {
            "customerid": customer,
            "create_date": "2026-10-31",
            "invoice_number": number,
            "lines": [line],
            **extra,
        }
    }


def test_amounts_are_recomputed_and_numbers_unique() -> None:
    fake = FakeFreshBooks(limits=False)
    customer = client(fake)
    created = result(call(fake, "POST", "invoices/invoices", invoice(customer, "A-1")))["invoice"]
    # unit cost kept to two decimals, as FreshBooks shows it: 3 x 0.33
    assert created["amount"] == {"amount": "0.99", "code": "USD"}
    assert created["v3_status"] == "draft" and created["outstanding"]["amount"] == "0.99"
    dup = call(fake, "POST", "invoices/invoices", invoice(customer, "A-1"))
    assert dup.status_code == 422
    [error] = dup.json()["response"]["errors"]
    assert (error["object"], error["field"]) == ("invoice", "invoice_number")
    # a deleted invoice frees its number
    call(fake, "PUT", f"invoices/invoices/{created['id']}", {"invoice": {"vis_state": 1}})
    assert call(fake, "POST", "invoices/invoices", invoice(customer, "A-1")).status_code == 200


def test_required_fields_and_unknown_records() -> None:
    fake = FakeFreshBooks(limits=False)
    missing = call(fake, "POST", "invoices/invoices", {"invoice": {"create_date": "2026-10-31"}})
    assert missing.status_code == 422
    assert missing.json()["response"]["errors"][0]["field"] == "customerid"
    unwrapped = call(fake, "POST", "invoices/invoices", {"customerid": 1})
    assert unwrapped.status_code == 422
    assert call(fake, "GET", "invoices/invoices/999").status_code == 404


def test_lists_page_and_hide_deleted_records() -> None:
    fake = FakeFreshBooks(limits=False)
    customer = client(fake)
    for n in range(5):
        result(call(fake, "POST", "invoices/invoices", invoice(customer, f"P-{n}")))
    page = result(call(fake, "GET", "invoices/invoices", params={"page": 2, "per_page": 2}))
    assert (page["page"], page["pages"], page["total"]) == (2, 3, 5)
    assert [i["invoice_number"] for i in page["invoices"]] == ["P-2", "P-3"]
    first = page["invoices"][0]["id"]
    call(fake, "PUT", f"invoices/invoices/{first}", {"invoice": {"vis_state": 1}})
    assert result(call(fake, "GET", "invoices/invoices"))["total"] == 4
    deleted = result(call(fake, "GET", "invoices/invoices", params={"search[vis_state]": 1}))
    assert [i["id"] for i in deleted["invoices"]] == [first]


def test_expired_tokens_and_rate_limits() -> None:
    fake = FakeFreshBooks()
    fake.expire_tokens()
    refused = call(fake, "GET", "items/items")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    token = fake.issue_token()
    for _ in range(60):
        assert call(fake, "GET", "items/items", token=token).status_code == 200
    limited = call(fake, "GET", "items/items", token=token)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    fake.advance(61)
    assert call(fake, "GET", "items/items", token=token).status_code == 200


def test_payments_move_the_invoice_to_partial_then_paid() -> None:
    fake = FakeFreshBooks(limits=False)
    made = result(call(fake, "POST", "invoices/invoices", invoice(client(fake), "Q-1")))
    invoice_id = made["invoice"]["id"]
    fake.pay(invoice_id, Decimal("0.50"))
    assert fake.invoices[invoice_id]["v3_status"] == "partial"
    fake.pay(invoice_id, Decimal("0.49"))
    assert fake.invoices[invoice_id]["v3_status"] == "paid"
    assert fake.invoices[invoice_id]["outstanding"]["amount"] == "0.00"
