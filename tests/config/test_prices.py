"""Price models: exact numbers, their own rules, and the JSON round trip price books rely on."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from config.prices import (
    GraduatedPrice,
    PackagePrice,
    PerUnitPrice,
    Tier,
    VolumePrice,
    canonical_decimal,
    decimal_places,
    format_loc,
    parse_decimal,
    parse_price,
    price_to_json,
)

EXAMPLES = [
    {"model": "per_unit", "unit_price": "0.045"},
    {"model": "per_unit", "unit_price": "0.0025", "block_size": 60},
    {
        "model": "graduated",
        "tiers": [
            {"up_to": 1000, "unit_price": "0.15"},
            {"up_to": 5000, "unit_price": "0.12"},
            {"unit_price": "0.09"},
        ],
    },
    {"model": "volume", "tiers": [{"up_to": "500", "unit_price": "0.03"}, {"unit_price": "0.02"}]},
    {"model": "package", "included": 1000, "overage_unit_price": "0.02"},
    {"model": "package", "included": "0", "block_size": 1000, "block_price": "5.00"},
]


@pytest.mark.parametrize("data", EXAMPLES, ids=lambda d: str(d["model"]))
def test_json_round_trip(data: dict[str, object]) -> None:
    price = parse_price(data)
    as_json = price_to_json(price)
    assert json.loads(json.dumps(as_json)) == as_json  # plain JSON types only
    assert parse_price(as_json) == price
    assert parse_price(json.loads(json.dumps(price.model_dump(mode="json")))) == price
    assert type(price).model_validate_json(price.model_dump_json()) == price


def test_json_form_is_canonical_text() -> None:
    price = parse_price({"model": "per_unit", "unit_price": "0.1500", "block_size": "60.0"})
    assert price_to_json(price) == {"model": "per_unit", "unit_price": "0.15", "block_size": "60"}
    assert isinstance(price, PerUnitPrice)
    assert price.unit_price == Decimal("0.15")


def test_python_dump_keeps_decimals() -> None:
    price = parse_price(EXAMPLES[0])
    assert price.model_dump()["unit_price"] == Decimal("0.045")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.15", Decimal("0.15")), (" 12 ", Decimal(12)), (7, Decimal(7)), ("-1.5", Decimal("-1.5"))],
)
def test_parse_decimal_accepts_strings_and_integers(value: object, expected: Decimal) -> None:
    assert parse_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0.15, 'must be written as a string, e.g. "0.15"'),
        (True, "not true/false"),
        ("1e3", "is not a decimal number"),
        ("NaN", "is not a decimal number"),
        ("1_000", "is not a decimal number"),
        ([1], "not an array"),
    ],
)
def test_parse_decimal_refuses_floats_and_oddities(value: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_decimal(value)
    assert fragment in str(info.value)


def test_json_numbers_with_fractions_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        PerUnitPrice.model_validate_json('{"model": "per_unit", "unit_price": 0.15}')
    assert "must be written as a string" in str(info.value)


def test_decimal_helpers() -> None:
    assert decimal_places(Decimal("0.150")) == 2
    assert decimal_places(Decimal("100")) == 0
    assert decimal_places(Decimal("1E+3")) == 0
    assert canonical_decimal(Decimal("1E+3")) == "1000"
    assert canonical_decimal(Decimal("-0.00")) == "0"
    assert format_loc(("clients", "dental-co", "prices", "v", "tiers", 1, "up_to")) == (
        "clients.dental-co.prices.v.tiers[1].up_to"
    )
    assert format_loc(("clients", "Dental Co")) == 'clients."Dental Co"'


def _messages(data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as info:
        parse_price(data)
    return str(info.value)


def test_standalone_rules_name_their_relative_path() -> None:
    text = _messages(
        {
            "model": "graduated",
            "tiers": [{"up_to": 1000, "unit_price": "1"}, {"up_to": 1000, "unit_price": "1"}],
        }
    )
    assert "tiers[1].up_to: must be greater than tiers[0].up_to" in text
    assert "tiers[1].up_to: must be omitted on the last tier" in text


def test_unit_price_places_and_sign() -> None:
    assert "at most 6 decimal places (got 7)" in _messages(
        {"model": "per_unit", "unit_price": "0.0000001"}
    )
    assert "must not be negative" in _messages({"model": "per_unit", "unit_price": "-1"})
    assert parse_price({"model": "per_unit", "unit_price": "0.000001"})  # 6 places is fine
    assert parse_price({"model": "per_unit", "unit_price": "0.1500000"})  # zeros are not places


def test_models_are_immutable() -> None:
    price = parse_price(EXAMPLES[0])
    with pytest.raises(ValidationError):
        price.unit_price = Decimal(1)  # type: ignore[misc]


_rates = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
_bounds = st.lists(
    st.decimals(min_value=1, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    min_size=0,
    max_size=5,
    unique=True,
).map(sorted)


@st.composite
def _tiers(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = draw(_bounds)
    tiers = [Tier(up_to=b, unit_price=draw(_rates)) for b in bounds]
    return (*tiers, Tier(unit_price=draw(_rates)))


prices = st.one_of(
    st.builds(
        PerUnitPrice,
        model=st.just("per_unit"),
        unit_price=_rates,
        block_size=st.none() | st.integers(1, 3600).map(Decimal),
    ),
    st.builds(GraduatedPrice, model=st.just("graduated"), tiers=_tiers()),
    st.builds(VolumePrice, model=st.just("volume"), tiers=_tiers()),
    st.builds(
        PackagePrice,
        model=st.just("package"),
        included=st.integers(0, 10**6).map(Decimal),
        overage_unit_price=_rates,
    ),
)


@given(prices)
def test_every_price_survives_json(price: PerUnitPrice) -> None:
    assert parse_price(json.loads(json.dumps(price_to_json(price)))) == price
