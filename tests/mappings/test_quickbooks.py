"""The QuickBooks mapping: the partner file's Ids land on every line, names fit QuickBooks'
rules, every mistake names its setting, and lines built with it always add up under
QuickBooks' Amount = Qty x UnitPrice check (7 decimals of each)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoicing.models import InvoiceLineKind
from config.money import from_minor, to_minor
from mappings.base import ADJUSTMENT_ITEM, BASE_FEE_ITEM, ConnectionMapping, MappingError
from mappings.invoices import decimals, line_spec
from mappings.quickbooks import (
    ITEM_NAME_MAX,
    QuickBooksMapping,
    item_name,
    mapping_from_settings,
)

EXAMPLE: dict[str, object] = {
    "income_accounts": {"voice": "79", "sms": 80},
    "default_income_account": "81",
    "tax_code": "TAX",
    "non_tax_code": "NON",
    "class_ref": "5000",
    "item_prefix": "Rebill ",
    "provider": "quickbooks",
}


def test_example_settings_resolve_every_line_attribute() -> None:
    mapping: ConnectionMapping = mapping_from_settings(EXAMPLE)  # mypy checks the protocol
    assert isinstance(mapping, QuickBooksMapping)
    assert mapping.provider == "quickbooks" and mapping.draft is False
    assert mapping.income_account("voice") == "79"
    assert mapping.income_account("sms") == "80"  # a TOML integer becomes its digits
    assert mapping.income_account("chat") == "81"
    assert mapping.income_account(None) == "81"
    assert mapping.tax_code(taxed=True) == "TAX" and mapping.tax_code(taxed=False) == "NON"
    assert mapping.tracking() == {"class": "5000"}
    assert mapping.item_code("voice") == "Rebill voice"
    assert mapping.item_code(None) == f"Rebill {BASE_FEE_ITEM}"
    assert mapping.item_code(ADJUSTMENT_ITEM) == f"Rebill {ADJUSTMENT_ITEM}"
    assert mapping.max_unit_price_decimals == 7 and mapping.max_quantity_decimals == 7
    assert mapping.required_remote_names() == {
        "income_accounts.sms": "80",
        "income_accounts.voice": "79",
        "default_income_account": "81",
        "tax_code": "TAX",
        "non_tax_code": "NON",
        "class_ref": "5000",
    }


def test_minimal_settings() -> None:
    mapping = mapping_from_settings({"default_income_account": "79"})
    assert mapping.income_account("voice") == "79"
    assert mapping.tax_code(taxed=True) is None and mapping.tax_code(taxed=False) is None
    assert mapping.tracking() == {}
    assert mapping.item_code("voice") == "voice"
    assert mapping.required_remote_names() == {"default_income_account": "79"}


@pytest.mark.parametrize(
    ("settings", "field", "reason"),
    [
        ({}, "default_income_account", "required"),
        ({"default_income_account": 79.0}, "default_income_account", "Id"),
        ({"default_income_account": True}, "default_income_account", "Id"),
        ({"default_income_account": ""}, "default_income_account", "not an Id"),
        ({"default_income_account": " 79"}, "default_income_account", "not an Id"),
        ({"default_income_account": "7'9"}, "default_income_account", "not an Id"),
        ({"default_income_account": "1" * 51}, "default_income_account", "longer"),
        ({"default_income_account": "79", "income_accounts": "79"}, "income_accounts", "table"),
        (
            {"default_income_account": "79", "income_accounts": {"voice": []}},
            "income_accounts.voice",
            "Id",
        ),
        ({"default_income_account": "79", "income_acounts": {}}, "income_acounts", "unknown"),
        ({"default_income_account": "79", "tax_code": 1.5}, "tax_code", "Id"),
        ({"default_income_account": "79", "class_ref": {}}, "class_ref", "Id"),
        ({"default_income_account": "79", "item_prefix": "A:B"}, "item_prefix", "':'"),
        ({"default_income_account": "79", "item_prefix": 3}, "item_prefix", "text"),
        ({"default_income_account": "79", "item_prefix": "x" * 41}, "item_prefix", "40"),
    ],
)
def test_every_mistake_names_its_setting(settings: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        mapping_from_settings(settings)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_long_names_stay_distinct_and_within_limits() -> None:
    a, b = item_name("", "x" * 150 + "a"), item_name("", "x" * 150 + "b")
    assert a != b and len(a) == len(b) == ITEM_NAME_MAX
    assert item_name("P ", "a:b\nc") == "P a-b-c"


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.text(st.characters(blacklist_characters=":\t\n\r"), max_size=40),
    key=st.text(min_size=1, max_size=300),
)
def test_item_names_are_always_acceptable_to_quickbooks(prefix: str, key: str) -> None:
    name = item_name(prefix, key)
    assert len(name) <= ITEM_NAME_MAX
    assert not set(name) & set(":\t\n\r")
    assert name == item_name(prefix, key)  # deterministic: found again next time


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12),
        st.integers(1, 10**9),
        max_size=6,
    )
)
def test_every_mapped_usage_type_gets_its_account(accounts: dict[str, int]) -> None:
    mapping = mapping_from_settings({"income_accounts": accounts, "default_income_account": "1"})
    for usage, account in accounts.items():
        assert mapping.income_account(usage) == str(account)
        assert mapping.required_remote_names()[f"income_accounts.{usage}"] == str(account)


@dataclass
class Line:
    kind: InvoiceLineKind
    usage_type: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.decimals(
        min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False
    ),
    unit_price=st.decimals(
        min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(["USD", "EUR", "JPY"]),
)
def test_lines_built_with_the_mapping_pass_quickbooks_amount_check(
    quantity: Decimal, unit_price: Decimal, currency: str
) -> None:
    """What QuickBooks does to a line: keep 7 decimals of Qty and UnitPrice, refuse it unless
    Amount == Qty x UnitPrice at 2 decimals. Our lines must always pass, at our amount."""
    mapping = mapping_from_settings(EXAMPLE)
    amount = to_minor(quantity * unit_price, currency)
    line = Line(InvoiceLineKind.USAGE, "voice", "Voice", quantity, unit_price, amount)
    spec = line_spec(line, currency, mapping, taxed=True)
    assert decimals(spec.quantity) <= 7 and decimals(spec.unit_price) <= 7
    assert spec.quantity * spec.unit_price == from_minor(amount, currency)
    assert spec.item_code == "Rebill voice" and spec.account == "79" and spec.tax_code == "TAX"
    assert spec.tracking == {"class": "5000"}
