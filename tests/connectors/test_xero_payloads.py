"""Xero payloads and error shapes, without the network: what we send adds up to our total to the
cent whatever the lines, and every failure Xero can answer becomes a clear outcome."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import (
    AuthExpiredError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.xero import payloads
from connectors.xero.errors import parse_error
from connectors.xero.queries import equals_any, request_key
from remote_specs import CustomerSpec, LineSpec
from sandbox.xero import FakeXero
from sandbox.xero_where import parse_where

# --- tax distribution and totals ---------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(
    st.integers(-10_000, 10_000),
    st.lists(st.integers(-100_000, 100_000), min_size=1, max_size=12),
)
def test_distributed_tax_sums_exactly_and_stays_proportional(tax: int, weights: list[int]) -> None:
    parts = payloads.distribute_tax(tax, weights)
    assert sum(parts) == tax
    total = sum(weights)
    if total and tax:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part - tax * weight / total) < 1  # within a cent of its share


def test_tax_on_lines_that_cancel_out_goes_on_the_largest() -> None:
    assert payloads.distribute_tax(7, [500, -500, 100, -100]) == [7, 0, 0, 0]
    assert payloads.distribute_tax(0, [1, 2]) == [0, 0]


quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100_000), places=4)
prices = st.decimals(min_value=Decimal("-50"), max_value=Decimal(500), places=6)


@st.composite
def line_specs(draw: st.DrawFn) -> LineSpec:
    """Exact lines (quantity x rate = amount) and arbitrary ones (amount not the product, or a
    six-decimal rate): the connector must cope with both."""
    quantity = draw(quantities)
    price = draw(prices)
    if draw(st.booleans()):
        product = quantity * price
        amount = payloads.to_cents(product, "USD")
        if product == payloads.money(amount, "USD"):
            return LineSpec("exact", quantity, price, amount, item_code="voice")
    amount = draw(st.integers(-50_000, 5_000_000))
    return LineSpec("awkward", quantity, price, amount, item_code="voice")


@settings(deadline=None, max_examples=300)
@given(st.lists(line_specs(), min_size=1, max_size=8), st.integers(0, 100_000))
def test_xero_arrives_at_our_total_to_the_cent(lines: list[LineSpec], tax: int) -> None:
    """Recompute what we send the way Xero does (the fake's rules) and compare."""
    unitdp = 4 if payloads.needs_unitdp(lines) else 2
    items = payloads.line_items(lines, "USD", tax, unitdp=unitdp, tax_code="OUTPUT")
    fake = FakeXero(limits=False)
    _, subtotal, total_tax = fake.compute_lines(items, "Exclusive", unitdp)
    ours = sum(line.amount_minor for line in lines)
    assert payloads.to_cents(subtotal, "USD") == ours
    assert payloads.to_cents(total_tax, "USD") == tax
    for line, item in zip(lines, items, strict=True):
        if item["Quantity"] == 1 and item["UnitAmount"] == payloads.money(line.amount_minor, "USD"):
            continue  # collapsed: the detail moved into the description
        assert (item["Quantity"], item["UnitAmount"]) == (line.quantity, line.unit_price)


def test_a_line_that_does_not_multiply_out_is_sent_as_quantity_one() -> None:
    line = LineSpec("Voice", Decimal(3), Decimal("0.333333"), 100, item_code="voice")
    [item] = payloads.line_items([line], "USD", 0, unitdp=4, tax_code=None)
    assert (item["Quantity"], item["UnitAmount"]) == (Decimal(1), Decimal("1.00"))
    assert item["Description"] == "Voice (3 \u00d7 0.333333)"
    assert item["TaxAmount"] == Decimal("0.00")


# --- JSON, dates, keys, where ----------------------------------------------------------------


def test_decimals_travel_exactly() -> None:
    body = {"UnitAmount": Decimal("0.0125"), "Quantity": Decimal(1500), "Name": 'A "B"'}
    assert payloads.dumps(body) == b'{"UnitAmount":0.0125,"Quantity":1500,"Name":"A \\"B\\""}'
    assert payloads.loads(b'{"Total": 18.75}') == {"Total": Decimal("18.75")}
    with pytest.raises(TypeError):
        payloads.dumps({"x": 0.1})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/Date(1539993600000+0000)/", date(2018, 10, 20)),
        ("/Date(1539993600000)/", date(2018, 10, 20)),
        ("/Date(1539990000000+1300)/", date(2018, 10, 20)),  # 23:00 UTC + 13h, NZ
        ("2018-10-20T00:00:00", date(2018, 10, 20)),
        ("garbage", None),
        (None, None),
    ],
)
def test_xero_dates(raw: object, expected: date | None) -> None:
    assert payloads.parse_date(raw) == expected


def test_request_keys_fit_xero_and_are_deterministic() -> None:
    assert request_key(["rebill:c:invoice:1:1"], op="put") == "rebill:c:invoice:1:1"
    long = "rebill:" + "x" * 200
    assert len(request_key([long], op="put")) <= 128
    batch = request_key(["a", "b"], op="put-invoices")
    assert (
        batch
        == request_key(["a", "b"], op="put-invoices")
        != request_key(["b", "a"], op="put-invoices")
    )
    assert request_key(["a"], op="credit", suffix="allocate") == "a:allocate"


def test_where_filters_quote_names_the_fake_reads_back() -> None:
    where = equals_any("Name", ['Smith "The Hammer" & Sons', "Plain"])
    keep = parse_where(where)
    assert keep({"Name": 'Smith "The Hammer" & Sons'}) and keep({"Name": "plain"})
    assert not keep({"Name": "Other"})


def test_contact_payload_carries_our_reference() -> None:
    spec = CustomerSpec(
        reference="client-1",
        display_name="Acme",
        email="a@example.com",
        currency="nzd",
        address={"line1": "1 Queen St", "city": "Auckland", "postcode": "1010", "country": "NZ"},
    )
    body = payloads.contact_payload(spec, "id-1")
    assert body["ContactID"] == "id-1" and body["ContactNumber"] == "client-1"
    assert "DefaultCurrency" not in body and "IsCustomer" not in body
    assert body["Addresses"] == [
        {
            "AddressType": "POBOX",
            "AddressLine1": "1 Queen St",
            "City": "Auckland",
            "PostalCode": "1010",
            "Country": "NZ",
        }
    ]


# --- every error shape ------------------------------------------------------------------------


def response(
    status: int,
    body: object = None,
    *,
    method: str = "PUT",
    path: str = "/api.xro/2.0/Invoices",
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    request = httpx.Request(method, f"https://api.xero.com{path}")
    if text is not None:
        return httpx.Response(status, text=text, request=request, headers=headers)
    content = payloads.dumps(body) if body is not None else b""
    return httpx.Response(status, content=content, request=request, headers=headers)


def test_validation_exception_names_each_element_and_line() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "InvoiceNumber": "INV-7",
                "ValidationErrors": [{"Message": "Invoice # must be unique."}],
                "LineItems": [
                    {"ValidationErrors": []},
                    {"ValidationErrors": [{"Message": "Account code '999' is not a valid code"}]},
                ],
            }
        ],
    }
    error = parse_error(response(400, body))
    assert isinstance(error, RejectedError) and error.status == 400
    assert error.message.startswith("Xero rejected the invoice INV-7: Invoice # must be unique.")
    assert "account_codes" in error.message and "already exists in Xero" in error.message
    assert [(e.field, e.message) for e in error.errors] == [
        ("Invoices[0]", "Invoice # must be unique."),
        ("Invoices[0].LineItems[1]", "Account code '999' is not a valid code"),
    ]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("PostDataInvalidException", "JSON for post data was invalid"),
        ("QueryParseException", "Operator '==' incompatible with operand types"),
        ("ValidationException", "A validation exception occurred"),
    ],
)
def test_other_400_exceptions_keep_xeros_message(kind: str, message: str) -> None:
    error = parse_error(response(400, {"ErrorNumber": 14, "Type": kind, "Message": message}))
    assert isinstance(error, RejectedError)
    assert error.message == f"Xero rejected the invoice: {message}"
    assert error.errors[0].code == kind


def test_a_400_without_json_is_still_rejected_clearly() -> None:
    error = parse_error(response(400, text="<html>Bad Request</html>", path="/api.xro/2.0/Items"))
    assert isinstance(error, RejectedError)
    assert error.message == "Xero rejected the item: Bad Request"


def test_401_token_expired_and_403_forbidden_need_the_partner() -> None:
    expired = parse_error(
        response(
            401,
            {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at x"},
        )
    )
    assert isinstance(expired, AuthExpiredError)
    assert expired.message.startswith("Xero refused the access token (TokenExpired)")
    forbidden = parse_error(
        response(403, {"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"})
    )
    assert isinstance(forbidden, AuthExpiredError) and forbidden.status == 403
    assert "AuthorizationUnsuccessful" in forbidden.message
    assert "reconnect Xero" in forbidden.message


def test_404_plain_text_is_not_found() -> None:
    error = parse_error(
        response(
            404,
            text="The resource you're looking for cannot be found",
            method="GET",
            path="/api.xro/2.0/Invoices/abc",
        )
    )
    assert isinstance(error, NotFoundError)
    assert error.message == "Xero has no such record (GET /api.xro/2.0/Invoices/abc)"


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        ("minute", "per-minute limit (60 calls)"),
        ("day", "daily limit (5,000 calls)"),
        ("concurrent", "limit of 5 calls at once"),
        ("appminute", "app-wide"),
        ("", "a Xero rate limit"),
    ],
)
def test_429_says_which_limit_and_when(problem: str, words: str) -> None:
    error = parse_error(
        response(429, text="", headers={"Retry-After": "42", "X-Rate-Limit-Problem": problem})
    )
    assert isinstance(error, RateLimitedError) and error.retry_after == 42
    assert words in error.message and "retry in 42 s" in error.message


@pytest.mark.parametrize(("status", "uncertain"), [(500, False), (503, False), (504, True)])
def test_5xx_is_retryable_and_a_gateway_timeout_on_a_write_is_uncertain(
    status: int, uncertain: bool
) -> None:
    error = parse_error(response(status, {"Title": "An error occurred", "Message": "Oops"}))
    assert isinstance(error, RetryableError) and error.uncertain is uncertain
    assert error.message.startswith(f"Xero is unavailable (HTTP {status}")


def test_element_errors_in_a_summarize_false_answer() -> None:
    from connectors.xero.errors import element_error

    error = element_error(
        {"StatusAttributeString": "ERROR", "ValidationErrors": [{"Message": "TaxType 'X' bad"}]},
        what="the invoice INV-3",
        path="Invoices[4]",
    )
    assert error.message == (
        "Xero rejected the invoice INV-3: TaxType 'X' bad (check tax_type / no_tax_type in "
        "[partner.connections.xero])"
    )
    assert error.errors[0].field == "Invoices[4]"


def test_three_decimal_currencies_are_refused_rather_than_rounded() -> None:
    line = LineSpec("Voice", Decimal(1), Decimal("1.234"), 1234, item_code="voice")
    with pytest.raises(ValueError, match="2 decimals"):
        payloads.line_items([line], "BHD", 0, unitdp=4, tax_code=None)
    fine = LineSpec("Voice", Decimal(1), Decimal("1.23"), 1230, item_code="voice")
    [item] = payloads.line_items([fine], "BHD", 0, unitdp=4, tax_code=None)
    assert item["UnitAmount"] == Decimal("1.23")


def test_a_zero_quantity_line_goes_as_one_at_its_amount() -> None:
    line = LineSpec("Unused minutes", Decimal(0), Decimal("0.25"), 0, item_code="voice")
    [item] = payloads.line_items([line], "USD", 0, unitdp=2, tax_code=None)
    assert (item["Quantity"], item["UnitAmount"]) == (Decimal(1), Decimal("0.00"))
