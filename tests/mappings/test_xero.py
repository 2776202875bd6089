"""The Xero mapping: what the partner file says becomes the codes on every line, and every
mistake names its setting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.base import BASE_FEE_ITEM, ConnectionMapping, MappingError
from mappings.xero import ITEM_CODE_MAX, XeroMapping, derived_item_code, mapping_from_settings

EXAMPLE: dict[str, object] = {
    "account_codes": {"voice": "200", "sms": "210"},
    "default_account_code": "260",
    "tax_type": "OUTPUT2",
    "no_tax_type": "NONE",
    "item_codes": {"voice": "VOICE"},
    "tracking": {"Region": "North"},
    "status": "AUTHORISED",
}


def test_example_settings_resolve_every_line_attribute() -> None:
    mapping: ConnectionMapping = mapping_from_settings(EXAMPLE)  # mypy checks the protocol
    assert isinstance(mapping, XeroMapping)
    assert mapping.provider == "xero"
    assert mapping.income_account("voice") == "200"
    assert mapping.income_account("sms") == "210"
    assert mapping.income_account("chat") == "260"  # default
    assert mapping.income_account(None) == "260"  # base fees
    assert mapping.tax_code(taxed=True) == "OUTPUT2"
    assert mapping.tax_code(taxed=False) == "NONE"
    assert mapping.item_code("voice") == "VOICE"
    assert mapping.item_code("sms") == "sms"
    assert mapping.item_code(None) == BASE_FEE_ITEM
    assert mapping.tracking() == {"Region": "North"}
    assert mapping.draft is False
    assert mapping.max_unit_price_decimals == 4
    assert mapping.required_remote_names() == {
        "account_codes.sms": "210",
        "account_codes.voice": "200",
        "default_account_code": "260",
        "tax_type": "OUTPUT2",
        "no_tax_type": "NONE",
        "tracking.Region": "North",
    }


def test_draft_status_and_defaults() -> None:
    mapping = mapping_from_settings({"default_account_code": 200, "status": "draft"})
    assert mapping.draft is True
    assert mapping.status == "DRAFT"
    assert mapping.income_account("voice") == "200"  # TOML integer accepted as its digits
    assert mapping.tax_code(taxed=False) == "NONE"  # Xero's no-tax type by default
    assert mapping.tax_code(taxed=True) is None  # the account's default tax rate


def test_missing_account_for_a_usage_type_names_the_setting() -> None:
    mapping = mapping_from_settings({"account_codes": {"voice": "200"}})
    with pytest.raises(MappingError) as info:
        mapping.income_account("sms")
    assert info.value.field == "account_codes.sms"
    assert "default_account_code" in info.value.reason


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({}, "default_account_code", "required"),
        ({"default_account_code": ""}, "default_account_code", "non-empty"),
        ({"default_account_code": "12345678901"}, "default_account_code", "10 characters"),
        ({"default_account_code": 2.5}, "default_account_code", "text code"),
        ({"default_account_code": True}, "default_account_code", "text code"),
        ({"account_codes": ["200"]}, "account_codes", "table"),
        ({"account_codes": {"voice": None}}, "account_codes.voice", "text code"),
        ({"default_account_code": "200", "tax_type": " OUTPUT"}, "tax_type", "spaces"),
        (
            {"default_account_code": "200", "item_codes": {"voice": "V" * 31}},
            "item_codes.voice",
            "30",
        ),
        (
            {"default_account_code": "200", "tracking": {"A": "1", "B": "2", "C": "3"}},
            "tracking",
            "at most 2",
        ),
        ({"default_account_code": "200", "status": "PAID"}, "status", "AUTHORISED, DRAFT"),
        ({"default_account_code": "200", "acount_codes": {}}, "acount_codes", "unknown"),
    ],
)
def test_bad_settings_name_the_field_and_reason(
    settings: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(MappingError) as info:
        mapping_from_settings(settings)
    assert info.value.field == field
    assert words in info.value.reason
    assert str(info.value).startswith(f"{field}: ")


def test_provider_and_enabled_keys_are_tolerated() -> None:
    mapping = mapping_from_settings(
        {
            "provider": "xero",
            "enabled": True,
            "tenant_name": "Acme Ltd",  # read at connect time, not a mapping setting
            "default_account_code": "200",
        }
    )
    assert mapping.income_account(None) == "200"


def test_long_usage_types_get_distinct_item_codes_within_30_characters() -> None:
    a = derived_item_code("x" * 40 + "-voice-inbound")
    b = derived_item_code("x" * 40 + "-voice-outbound")
    assert a != b
    assert len(a) == len(b) == ITEM_CODE_MAX


# --- properties -----------------------------------------------------------------------------

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=40)
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)


@st.composite
def xero_settings(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = {
        "account_codes": draw(st.dictionaries(names, codes, max_size=5)),
        "item_codes": draw(st.dictionaries(names, codes, max_size=5)),
        "tracking": draw(st.dictionaries(names, codes, max_size=2)),
        "status": draw(st.sampled_from(["AUTHORISED", "DRAFT", "draft", "Authorised"])),
    }
    default = draw(st.none() | codes)
    if default is not None or not result["account_codes"]:
        result["default_account_code"] = default or "200"
    for key in ("tax_type", "no_tax_type"):
        value = draw(st.none() | codes)
        if value is not None:
            result[key] = value
    return result


@settings(deadline=None, max_examples=150)
@given(xero_settings(), names)
def test_every_resolved_code_comes_from_the_settings(raw: dict[str, Any], usage_type: str) -> None:
    mapping = mapping_from_settings(raw)
    expected = raw["account_codes"].get(usage_type, raw.get("default_account_code"))
    if expected is None:
        with pytest.raises(MappingError) as info:
            mapping.income_account(usage_type)
        assert info.value.field == f"account_codes.{usage_type}"
        return
    account = mapping.income_account(usage_type)
    assert account == expected
    # `connections check` verifies everything a line can carry
    required = set(mapping.required_remote_names().values())
    assert account in required
    for taxed in (True, False):
        code = mapping.tax_code(taxed=taxed)
        assert code is None or code in required
    for category, option in mapping.tracking().items():
        assert mapping.required_remote_names()[f"tracking.{category}"] == option
    item = mapping.item_code(usage_type)
    assert 1 <= len(item) <= ITEM_CODE_MAX
    assert item == raw["item_codes"].get(usage_type, derived_item_code(usage_type))
    assert mapping.draft == (raw["status"].upper() == "DRAFT")


@settings(deadline=None, max_examples=150)
@given(xero_settings())
def test_parsing_is_stable(raw: dict[str, Any]) -> None:
    """Parsing the settings a mapping describes gives the same mapping (config apply may
    re-read the stored table any number of times)."""
    first = mapping_from_settings(raw)
    again: dict[str, object] = {
        "account_codes": dict(first.account_codes),
        "item_codes": dict(first.item_codes),
        "tracking": dict(first.tracking_options),
        "status": first.status,
        "no_tax_type": first.no_tax_type,
    }
    if first.default_account_code is not None:
        again["default_account_code"] = first.default_account_code
    if first.tax_type is not None:
        again["tax_type"] = first.tax_type
    assert mapping_from_settings(again) == first


@settings(deadline=None, max_examples=100)
@given(st.dictionaries(names, st.integers() | st.booleans() | st.none() | st.floats(), min_size=1))
def test_arbitrary_tables_either_parse_or_name_a_setting(table: dict[str, object]) -> None:
    try:
        mapping = mapping_from_settings({"account_codes": table, "default_account_code": "1"})
    except MappingError as exc:
        assert exc.field.startswith("account_codes.")
        assert exc.reason
    else:
        assert isinstance(mapping, XeroMapping)
        for name, value in table.items():
            assert mapping.income_account(name) == str(value)
