"""The FreshBooks mapping: settings become item names, the tax line's name and the status; and
what FreshBooks computes from our invoices is our total to the cent, whatever the lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.money import to_minor
from connectors.freshbooks.payloads import invoice_payload
from mappings.base import BASE_FEE_ITEM, ConnectionMapping, MappingError
from mappings.freshbooks import (
    ITEM_NAME_MAX,
    FreshBooksMapping,
    derived_item_name,
    mapping_from_settings,
)
from mappings.invoices import invoice_spec
from remote_specs import InvoiceSpec, LineSpec, RemoteRef
from sandbox.freshbooks_rules import invoice_totals
from tests.mappings.test_invoices import Inv, invoices

EXAMPLE: dict[str, object] = {
    "item_names": {"voice": "Voice minutes", "sms": "SMS"},
    "tax_name": "Sales tax 8%",
    "status": "sent",
}


def test_example_settings_resolve_every_line_attribute() -> None:
    mapping: ConnectionMapping = mapping_from_settings(EXAMPLE)  # mypy checks the protocol
    assert isinstance(mapping, FreshBooksMapping)
    assert mapping.provider == "freshbooks"
    assert mapping.item_code("voice") == "Voice minutes"
    assert mapping.item_code("chat") == "chat"
    assert mapping.item_code(None) == BASE_FEE_ITEM
    assert mapping.income_account("voice") is None
    assert (mapping.tax_code(taxed=True), mapping.tax_code(taxed=False)) == ("Sales tax 8%", None)
    assert mapping.tracking() == {} and mapping.required_remote_names() == {}
    assert mapping.draft is False and mapping.status == "sent"
    assert (mapping.max_unit_price_decimals, mapping.max_quantity_decimals) == (2, 2)


def test_defaults_and_drafts() -> None:
    mapping = mapping_from_settings({"status": "Draft", "provider": "freshbooks"})
    assert mapping.draft is True and mapping.tax_name == "Tax"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"item_names": ["x"]}, "item_names", "table"),
        ({"item_names": {"voice": ""}}, "item_names.voice", "non-empty"),
        ({"item_names": {"voice": 1.5}}, "item_names.voice", "text"),
        ({"item_names": {"voice": "V" * 101}}, "item_names.voice", "100 characters"),
        ({"tax_name": " VAT"}, "tax_name", "spaces"),
        ({"status": "paid"}, "status", "sent, draft"),
        ({"item_name": {}}, "item_name", "unknown FreshBooks setting"),
    ],
)
def test_bad_settings_name_the_field_and_reason(
    raw: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(MappingError) as info:
        mapping_from_settings(raw)
    assert info.value.field == field
    assert words in info.value.reason


def test_long_usage_types_get_distinct_names_within_the_cap() -> None:
    a, b = derived_item_name("x" * 120 + "-in"), derived_item_name("x" * 120 + "-out")
    assert a != b and len(a) == len(b) == ITEM_NAME_MAX


# --- properties ---------------------------------------------------------------------------


def remote_total(spec: InvoiceSpec) -> tuple[list[int], int]:
    """What FreshBooks computes from our payload (the fake's rules: qty and rate kept to two
    decimals, each line rounded, summed), in minor units."""
    body = invoice_payload(spec)
    lines, total = invoice_totals(list(body["lines"]), spec.currency)  # type: ignore[call-overload]
    amounts = [to_minor(Decimal(line["amount"]["amount"]), spec.currency) for line in lines]
    return amounts, to_minor(total, spec.currency)


@settings(deadline=None, max_examples=250)
@given(invoices(), st.sampled_from([None, "VAT 20%"]), st.booleans())
def test_the_freshbooks_total_equals_ours_to_the_cent(
    invoice: Inv, tax_name: str | None, draft: bool
) -> None:
    raw: dict[str, object] = {"status": "draft" if draft else "sent"}
    if tax_name:
        raw["tax_name"] = tax_name
    mapping = mapping_from_settings(raw)
    spec = invoice_spec(invoice, invoice.lines, mapping, RemoteRef("7"))
    amounts, total = remote_total(spec)
    assert total == invoice.total_minor
    ours = [line.amount_minor for line in spec.lines]
    assert amounts[: len(ours)] == ours  # every line to the cent, not just the sum
    if invoice.tax_minor:
        assert amounts[len(ours) :] == [invoice.tax_minor]
        assert invoice_payload(spec)["lines"][-1]["name"] == mapping.tax_name  # type: ignore[index]


@st.composite
def raw_lines(draw: st.DrawFn, currency: str) -> LineSpec:
    """Lines as any caller might pass them, exact or not (a connector must cope either way)."""
    places = draw(st.integers(0, 6))
    price = Decimal(draw(st.integers(-(10**6), 10**6))).scaleb(-places)
    if draw(st.booleans()):  # exact: a fine rate times a round quantity (1500 x 0.0125)
        quantity = Decimal(draw(st.integers(0, 1000))).scaleb(places)
        amount = to_minor(quantity * price, currency)
    else:
        quantity = Decimal(draw(st.integers(0, 10**6))).scaleb(-draw(st.integers(0, 6)))
        amount = draw(st.integers(-(10**7), 10**7))
    return LineSpec("Usage", quantity, price, amount, item_code="voice")


@st.composite
def raw_invoices(draw: st.DrawFn) -> InvoiceSpec:
    currency = draw(st.sampled_from(["USD", "JPY", "BHD"]))
    lines = tuple(draw(st.lists(raw_lines(currency), max_size=6)))
    tax = draw(st.integers(0, 10**5))
    subtotal = sum(line.amount_minor for line in lines)
    return InvoiceSpec(
        reference="1",
        number="N-1",
        customer_reference="c",
        customer=RemoteRef("7"),
        currency=currency,
        issue_date=date(2026, 11, 1),
        due_date=None,
        lines=lines,
        subtotal_minor=subtotal,
        tax_minor=tax,
        total_minor=subtotal + tax,
    )


@settings(deadline=None, max_examples=250)
@given(raw_invoices())
def test_any_lines_reach_our_total(spec: InvoiceSpec) -> None:
    amounts, total = remote_total(spec)
    assert total == spec.total_minor
    assert amounts[: len(spec.lines)] == [line.amount_minor for line in spec.lines]
