"""Worked examples, amounts computed by hand, for every price model."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from billing.rating import LineKind, UsageCharge, rate_usage
from config.prices import PriceModel
from tests.billing.rating.builders import (
    GROWTH_SMS,
    GROWTH_VOICE,
    STARTER_SMS,
    D,
    graduated,
    package,
    per_unit,
)


def rate(price: PriceModel, quantity: str | int, currency: str = "USD") -> UsageCharge:
    return rate_usage(price, D(quantity), currency, usage_type="voice", name="Voice")


def summary(charge: UsageCharge) -> list[tuple[str, Decimal, Decimal, int, int | None]]:
    return [
        (line.kind.value, line.quantity, line.unit_price, line.amount, line.tier)
        for line in charge.lines
    ]


# --- per_unit ------------------------------------------------------------------------------------


def test_per_unit_fractional_quantity_half_up_at_exactly_half_a_cent() -> None:
    # 1234.5 x 0.11 = 135.795 -> 135.80
    assert rate(per_unit("0.11"), "1234.5").amount == 13580
    # 2.5 x 0.01 = 0.025 -> 0.03 (half-even would give 0.02)
    assert rate(per_unit("0.01"), "2.5").amount == 3
    # 1 x 0.125 = 0.125 -> 0.13
    assert rate(per_unit("0.125"), 1).amount == 13
    # 0.5 minute x 0.18 = 0.09
    assert rate(per_unit("0.18"), "0.5").amount == 9


def test_per_unit_line_shape() -> None:
    charge = rate(per_unit("0.18"), 100)
    (line,) = charge.lines
    assert (line.kind, line.quantity, line.unit_price, line.amount) == (
        LineKind.USAGE,
        D(100),
        D("0.18"),
        1800,
    )
    assert (line.usage_type, line.tier, line.block_size, line.description) == (
        "voice",
        None,
        None,
        "Voice",
    )
    assert charge.amount == 1800 and charge.currency == "USD" and charge.quantity == D(100)


def test_per_unit_zero_usage_is_one_zero_line() -> None:
    assert summary(rate(per_unit("0.18"), 0)) == [("usage", D(0), D("0.18"), 0, None)]


@pytest.mark.parametrize(
    ("seconds", "blocks", "amount"),
    [("61", 2, 30), ("60", 1, 15), ("0.001", 1, 15), ("0", 0, 0), ("120", 2, 30), ("121", 3, 45)],
)
def test_per_unit_blocks_bill_per_started_block(seconds: str, blocks: int, amount: int) -> None:
    # 0.0025 per second, billed per started minute: a block costs 0.15
    charge = rate(per_unit("0.0025", 60), seconds)
    (line,) = charge.lines
    assert (line.quantity, line.unit_price, line.block_size, line.amount) == (
        D(blocks),
        D("0.1500"),
        D(60),
        amount,
    )
    assert f"Voice ({seconds} in {blocks} started blocks of 60)" == line.description


def test_per_unit_per_thousand_units() -> None:
    # 2500 tokens at 0.000002 per token, per started 1,000: 3 blocks x 0.002 = 0.006 -> 0.01
    charge = rate(per_unit("0.000002", 1000), 2500)
    assert summary(charge) == [("usage", D(3), D("0.002"), 1, None)]


# --- graduated -----------------------------------------------------------------------------------


def test_graduated_exactly_at_the_boundary_is_wholly_first_tier() -> None:
    assert summary(rate(GROWTH_VOICE, 1000)) == [("usage", D(1000), D("0.15"), 15000, 0)]


def test_graduated_one_unit_over() -> None:
    assert summary(rate(GROWTH_VOICE, 1001)) == [
        ("usage", D(1000), D("0.15"), 15000, 0),
        ("usage", D(1), D("0.12"), 12, 1),
    ]


def test_graduated_into_the_last_tier_with_a_fraction() -> None:
    # 1000 x 0.15 = 150.00; 4000 x 0.12 = 480.00; 2500.5 x 0.09 = 225.045 -> 225.05
    charge = rate(GROWTH_VOICE, "7500.5")
    assert summary(charge) == [
        ("usage", D(1000), D("0.15"), 15000, 0),
        ("usage", D(4000), D("0.12"), 48000, 1),
        ("usage", D("2500.5"), D("0.09"), 22505, 2),
    ]
    assert charge.amount == 85505
    assert [line.description for line in charge.lines] == [
        "Voice, up to 1,000",
        "Voice, 1,001-5,000",
        "Voice, over 5,000",
    ]


def test_graduated_at_the_second_boundary() -> None:
    assert rate(GROWTH_VOICE, 5000).amount == 15000 + 48000
    assert len(rate(GROWTH_VOICE, 5000).lines) == 2


def test_graduated_zero_and_fractional() -> None:
    assert summary(rate(GROWTH_VOICE, 0)) == [("usage", D(0), D("0.15"), 0, 0)]
    # 0.5 x 0.15 = 0.075 -> 0.08
    assert summary(rate(GROWTH_VOICE, "0.5")) == [("usage", D("0.5"), D("0.15"), 8, 0)]


def test_graduated_rounds_each_tier_line_once() -> None:
    # tier lines 0.005 + 0.005 would be 0.01 unrounded, but each line rounds: 0.01 + 0.01
    price = graduated((1, "0.005"), (None, "0.005"))
    charge = rate(price, 2)
    assert [line.amount for line in charge.lines] == [1, 1]
    assert charge.amount == 2


# --- volume --------------------------------------------------------------------------------------


def test_volume_at_the_boundary_prices_everything_at_the_first_tier() -> None:
    assert summary(rate(STARTER_SMS, 500)) == [("usage", D(500), D("0.03"), 1500, 0)]


def test_volume_one_over_prices_everything_at_the_second_tier() -> None:
    # 501 x 0.02 = 10.02: more usage, lower bill, as volume pricing intends
    charge = rate(STARTER_SMS, 501)
    assert summary(charge) == [("usage", D(501), D("0.02"), 1002, 1)]
    assert charge.lines[0].description == "Voice, volume tier over 500"


def test_volume_zero_and_fractional() -> None:
    assert summary(rate(STARTER_SMS, 0)) == [("usage", D(0), D("0.03"), 0, 0)]
    # 250.5 x 0.03 = 7.515 -> 7.52
    assert rate(STARTER_SMS, "250.5").amount == 752


# --- package -------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0", "800", "999.99", "1000"])
def test_package_within_included_is_free(quantity: str) -> None:
    charge = rate(GROWTH_SMS, quantity)
    assert summary(charge) == [("included", D(quantity), D(0), 0, None)]
    assert charge.lines[0].description == f"Voice, included ({quantity} of 1000)"


def test_package_overage_per_unit() -> None:
    assert summary(rate(GROWTH_SMS, 1001)) == [
        ("included", D(1000), D(0), 0, None),
        ("overage", D(1), D("0.02"), 2, None),
    ]
    # 500.5 x 0.02 = 10.01
    assert rate(GROWTH_SMS, "1500.5").amount == 1001


@pytest.mark.parametrize(("quantity", "blocks"), [(1001, 1), (1500, 1), (1501, 2), (2000, 2)])
def test_package_overage_per_started_block(quantity: int, blocks: int) -> None:
    price = package(1000, block_size=500, block_price="5.00")
    charge = rate(price, quantity)
    overage = charge.lines[-1]
    assert (overage.kind, overage.quantity, overage.unit_price, overage.block_size) == (
        LineKind.OVERAGE,
        D(blocks),
        D("5.00"),
        D(500),
    )
    assert charge.amount == blocks * 500


def test_package_with_nothing_included() -> None:
    price = package(0, overage_unit_price="0.01")
    assert summary(rate(price, 0)) == [("overage", D(0), D("0.01"), 0, None)]
    assert summary(rate(price, 3)) == [("overage", D(3), D("0.01"), 3, None)]


# --- currencies ----------------------------------------------------------------------------------


def test_zero_decimal_currency() -> None:
    # 3 x 0.5 JPY = 1.5 -> 2 yen; 1 x 0.4 -> 0
    assert rate(per_unit("0.5"), 3, "JPY").amount == 2
    assert rate(per_unit("0.4"), 1, "JPY").amount == 0
    # graduated: 1000 x 0.15 = 150; 1 x 0.12 = 0.12 -> 0
    assert [line.amount for line in rate(GROWTH_VOICE, 1001, "JPY").lines] == [150, 0]


def test_three_decimal_currency() -> None:
    # 1234.5 x 0.0105 = 12.96225 -> 12.962 BHD (12962 fils)
    assert rate(per_unit("0.0105"), "1234.5", "BHD").amount == 12962
    # 1 x 0.0125 = 0.0125 -> 0.013 (half-up at exactly half a fils)
    assert rate(per_unit("0.0125"), 1, "BHD").amount == 13


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [D(-1), Decimal("NaN"), Decimal("Infinity")])
def test_negative_or_non_finite_quantities_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        rate_usage(per_unit("1"), bad, "USD", usage_type="voice")


def test_float_quantities_are_refused() -> None:
    with pytest.raises(TypeError, match="must be a Decimal"):
        rate_usage(per_unit("1"), 1.5, "USD", usage_type="voice")  # type: ignore[arg-type]


def test_huge_quantities_stay_exact() -> None:
    # more than 28 significant digits in the product: still exact, one half-up rounding
    quantity = "123456789012345.123456"
    exact_cents = Fraction(D(quantity)) * Fraction(D("0.123455")) * 100
    assert rate(per_unit("0.123455"), quantity).amount == int(exact_cents + Fraction(1, 2))


# --- remembered charges ---------------------------------------------------------------------------


def test_equal_quantities_written_differently_keep_their_own_lines() -> None:
    # rate_usage remembers charges; 5 and 5.00 are equal but print differently on a line
    price = per_unit("0.11")
    whole, cents = rate(price, "5"), rate(price, "5.00")
    assert str(whole.lines[0].quantity) == "5" and str(cents.lines[0].quantity) == "5.00"
    assert rate(price, "5") == whole and whole.amount == cents.amount == 55


def test_remembered_charges_follow_the_price_and_the_labels() -> None:
    first, second = per_unit("0.11"), per_unit("0.12")
    assert rate(first, "10").amount == 110 and rate(second, "10").amount == 120
    named = rate_usage(first, D("10"), "USD", usage_type="voice", name="Calls")
    assert (
        named.lines[0].description == "Calls" and rate(first, "10").lines[0].description == "Voice"
    )
    assert rate(first, "10", "JPY").amount == 1 and rate(first, "10", "JPY").currency == "JPY"


def test_a_fractional_tier_bound_is_not_counted_in_whole_units() -> None:
    price = graduated(("1000.5", "0.15"), ("5000", "0.12"), (None, "0.09"))
    assert [line.description for line in rate(price, 6000).lines] == [
        "Voice, up to 1,000.5",
        "Voice, over 1,000.5 up to 5,000",
        "Voice, over 5,000",
    ]
