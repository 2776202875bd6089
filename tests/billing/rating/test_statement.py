"""A client's period: base fee (prorated), usage, minimum spend, discount, tax; worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.rating import (
    BillingPeriod,
    ClientTerms,
    LineKind,
    PeriodStatement,
    PlanPricing,
    TaxRate,
    rate_period,
)
from config.money import to_minor
from tests.billing.rating.builders import GROWTH_SMS, GROWTH_VOICE, D, per_unit

GROWTH = PlanPricing(
    "Growth",
    base_fee=D("99.00"),
    minimum_spend=D("150.00"),
    prices={"voice_minutes": GROWTH_VOICE, "sms": GROWTH_SMS},
)
UNLIMITED = PlanPricing("Unlimited", base_fee=D("499.00"))
MARCH = BillingPeriod(date(2026, 3, 1), date(2026, 4, 1))
NAMES = {"voice_minutes": "Voice AI minutes", "sms": "SMS messages"}


def kinds(statement: PeriodStatement) -> list[tuple[str, int]]:
    return [(line.kind.value, line.amount) for line in statement.lines]


def assert_recomputes(statement: PeriodStatement) -> None:
    """What a remote system does: quantity x unit price per line, then add the lines."""
    for line in statement.lines:
        assert to_minor(line.quantity * line.unit_price, statement.currency) == line.amount
    assert statement.total == sum(line.amount for line in statement.lines)


def test_hybrid_plan_above_the_minimum() -> None:
    # base 99.00; voice 2000: 1000 x 0.15 + 1000 x 0.12 = 270.00; sms 1200: 200 x 0.02 = 4.00
    statement = rate_period(
        GROWTH, {"voice_minutes": D(2000), "sms": D(1200)}, "USD", MARCH, names=NAMES
    )
    assert kinds(statement) == [
        ("base_fee", 9900),
        ("usage", 15000),
        ("usage", 12000),
        ("included", 0),
        ("overage", 400),
    ]
    assert statement.subtotal == 37300
    assert statement.minimum_true_up is None
    assert statement.total == 37300
    assert statement.lines[0].description == "Growth: base fee"
    assert statement.lines[1].description == "Voice AI minutes, up to 1,000"
    assert statement.plan_name == "Growth"
    assert statement.active_days == 31
    assert_recomputes(statement)


def test_minimum_spend_true_up() -> None:
    # 99.00 + 100 x 0.15 = 114.00 < 150.00: true-up 36.00
    statement = rate_period(GROWTH, {"voice_minutes": D(100)}, "USD", MARCH)
    assert statement.subtotal == 11400
    assert statement.minimum_true_up is not None
    assert statement.minimum_true_up.amount == 3600
    assert statement.minimum_true_up.kind is LineKind.MINIMUM_TRUE_UP
    assert statement.minimum_true_up.description == "Minimum spend true-up (minimum 150 USD)"
    assert statement.total == 15000
    assert_recomputes(statement)


def test_minimum_then_discount_then_tax() -> None:
    # 150.00 after true-up; discount 10% = 15.00; tax 8.25% of 135.00 = 11.1375 -> 11.14
    terms = ClientTerms(discount_percent=D(10), tax=TaxRate("Sales tax", D("8.25")))
    statement = rate_period(GROWTH, {"voice_minutes": D(100)}, "USD", MARCH, terms)
    assert kinds(statement)[-3:] == [("minimum_true_up", 3600), ("discount", -1500), ("tax", 1114)]
    assert statement.taxable == 13500
    assert statement.total == 15000 - 1500 + 1114
    assert statement.discount is not None and statement.discount.description == "Discount 10%"
    assert statement.tax is not None and statement.tax.description == "Sales tax 8.25%"
    assert_recomputes(statement)


def test_discount_and_tax_round_half_up_once() -> None:
    # subtotal 1.05: discount 10% = 0.105 -> 0.11; tax 10% of 0.94 = 0.094 -> 0.09
    plan = PlanPricing("Tiny", base_fee=D("1.05"))
    terms = ClientTerms(discount_percent=D(10), tax=TaxRate("VAT", D(10)))
    statement = rate_period(plan, {}, "USD", MARCH, terms)
    assert kinds(statement) == [("base_fee", 105), ("discount", -11), ("tax", 9)]
    assert statement.total == 103
    assert_recomputes(statement)


def test_tax_without_discount_and_zero_lines_kept() -> None:
    terms = ClientTerms(tax=TaxRate("VAT", D(20)))
    statement = rate_period(PlanPricing("Free"), {}, "USD", MARCH, terms)
    assert kinds(statement) == [("tax", 0)]
    assert statement.total == 0


def test_client_price_override_replaces_the_plan_price() -> None:
    quantities = {"voice_minutes": D(2000), "sms": D(0)}
    plan_only = rate_period(GROWTH, quantities, "USD", MARCH)
    overridden = rate_period(
        GROWTH,
        quantities,
        "USD",
        MARCH,
        ClientTerms(price_overrides={"voice_minutes": per_unit("0.11")}),
    )
    voice_plan = plan_only.usage_charge("voice_minutes")
    voice_client = overridden.usage_charge("voice_minutes")
    assert voice_plan is not None and voice_client is not None
    assert voice_plan.amount == 27000  # graduated: 150.00 + 120.00
    assert voice_client.amount == 22000  # 2000 x 0.11
    assert overridden.usage_charge("sms") == plan_only.usage_charge("sms")
    assert overridden.base_fee == plan_only.base_fee


def test_client_override_can_add_a_usage_type_the_plan_does_not_price() -> None:
    terms = ClientTerms(price_overrides={"chat": per_unit("0.01")})
    statement = rate_period(UNLIMITED, {"chat": D(250)}, "USD", MARCH, terms)
    assert kinds(statement) == [("base_fee", 49900), ("usage", 250)]


def test_whole_plan_override_replaces_the_plan() -> None:
    custom = PlanPricing("Custom", base_fee=D("50.00"), prices={"sms": per_unit("0.01")})
    statement = rate_period(
        GROWTH,
        {"voice_minutes": D(10), "sms": D(100)},
        "USD",
        MARCH,
        ClientTerms(plan_override=custom),
    )
    assert statement.plan_name == "Custom"
    assert kinds(statement) == [("base_fee", 5000), ("usage", 100)]
    assert statement.unpriced_usage == ("voice_minutes",)
    assert statement.minimum_true_up is None  # the custom plan has no minimum


def test_usage_without_a_price_is_not_charged() -> None:
    statement = rate_period(UNLIMITED, {"voice_minutes": D(5000), "sms": D(0)}, "USD", MARCH)
    assert kinds(statement) == [("base_fee", 49900)]
    assert statement.unpriced_usage == ("voice_minutes",)  # zero sms is not listed


def test_zero_usage_shows_every_priced_usage_type() -> None:
    statement = rate_period(GROWTH, {}, "USD", MARCH)
    assert kinds(statement) == [
        ("base_fee", 9900),
        ("usage", 0),
        ("included", 0),
        ("minimum_true_up", 5100),
    ]


# --- proration of the base fee -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "starts_on", "ends_on", "days", "amount"),
    [
        # February 2026, 28 days, from the 15th: 14/28 x 499.00 = 249.50
        (BillingPeriod(date(2026, 2, 1), date(2026, 3, 1)), date(2026, 2, 15), None, 14, 24950),
        # February 2024, 29 days, from the 15th: 15/29 x 499.00 = 258.1034... -> 258.10
        (BillingPeriod(date(2024, 2, 1), date(2024, 3, 1)), date(2024, 2, 15), None, 15, 25810),
        # April 2026, 30 days, from the 11th: 20/30 x 499.00 = 332.666... -> 332.67
        (BillingPeriod(date(2026, 4, 1), date(2026, 5, 1)), date(2026, 4, 11), None, 20, 33267),
        # January 2026, 31 days, ended on the 10th: 10/31 x 499.00 = 160.9677... -> 160.97
        (BillingPeriod(date(2026, 1, 1), date(2026, 2, 1)), None, date(2026, 1, 10), 10, 16097),
        # March 2026, 31 days, 5th to 20th: 16/31 x 499.00 = 257.5483... -> 257.55
        (MARCH, date(2026, 3, 5), date(2026, 3, 20), 16, 25755),
        # a whole month is never prorated, whatever its length
        (BillingPeriod(date(2026, 2, 1), date(2026, 3, 1)), None, None, 28, 49900),
        (MARCH, date(2026, 2, 1), date(2026, 5, 1), 31, 49900),
        # a period anchored on the 15th: Jan 15 to Feb 15 is 31 days; from Feb 1: 14 days
        (BillingPeriod(date(2026, 1, 15), date(2026, 2, 15)), date(2026, 2, 1), None, 14, 22535),
    ],
)
def test_base_fee_proration_by_days(
    period: BillingPeriod, starts_on: date | None, ends_on: date | None, days: int, amount: int
) -> None:
    terms = ClientTerms(starts_on=starts_on, ends_on=ends_on)
    statement = rate_period(UNLIMITED, {}, "USD", period, terms)
    assert statement.active_days == days
    assert statement.base_fee is not None
    assert statement.base_fee.amount == amount
    if days < period.days:
        assert (
            statement.base_fee.description == f"Unlimited: base fee, {days} of {period.days} days"
        )
        assert statement.base_fee.quantity == 1
    assert_recomputes(statement)


def test_proration_rounds_half_up() -> None:
    # 14/28 x 1.01 = 0.505 -> 0.51
    february = BillingPeriod(date(2026, 2, 1), date(2026, 3, 1))
    statement = rate_period(
        PlanPricing("P", base_fee=D("1.01")),
        {},
        "USD",
        february,
        ClientTerms(starts_on=date(2026, 2, 15)),
    )
    assert statement.total == 51


def test_minimum_spend_is_prorated_with_the_base_fee() -> None:
    # April, 30 days, from the 16th: 15 days. Base 99.00 -> 49.50; minimum 150.00 -> 75.00
    april = BillingPeriod(date(2026, 4, 1), date(2026, 5, 1))
    terms = ClientTerms(starts_on=date(2026, 4, 16))
    statement = rate_period(GROWTH, {}, "USD", april, terms)
    assert statement.base_fee is not None and statement.base_fee.amount == 4950
    assert statement.minimum_true_up is not None and statement.minimum_true_up.amount == 2550
    assert statement.total == 7500


def test_client_not_active_in_the_period_owes_no_fee() -> None:
    terms = ClientTerms(ends_on=date(2026, 2, 27))
    statement = rate_period(GROWTH, {}, "USD", MARCH, terms)
    assert statement.active_days == 0
    assert statement.base_fee is None and statement.minimum_true_up is None
    assert statement.total == 0


# --- currencies ----------------------------------------------------------------------------------


def test_statement_in_yen() -> None:
    # base 1000; 3 x 1.5 = 4.5 -> 5; subtotal 1005; discount 10% = 100.5 -> 101;
    # tax 10% of 904 = 90.4 -> 90; total 994
    plan = PlanPricing("Yen", base_fee=D(1000), prices={"voice_minutes": per_unit("1.5")})
    terms = ClientTerms(discount_percent=D(10), tax=TaxRate("Consumption tax", D(10)))
    statement = rate_period(plan, {"voice_minutes": D(3)}, "jpy", MARCH, terms)
    assert statement.currency == "JPY"
    assert kinds(statement) == [("base_fee", 1000), ("usage", 5), ("discount", -101), ("tax", 90)]
    assert statement.total == 994
    assert_recomputes(statement)


def test_statement_in_bahraini_dinar() -> None:
    # base 10.000; 101 x 0.0125 = 1.2625 -> 1.263; subtotal 11.263; tax 10% = 1.1263 -> 1.126
    plan = PlanPricing("Dinar", base_fee=D("10.000"), prices={"sms": per_unit("0.0125")})
    terms = ClientTerms(tax=TaxRate("VAT", D(10)))
    statement = rate_period(plan, {"sms": D(101)}, "BHD", MARCH, terms)
    assert kinds(statement) == [("base_fee", 10000), ("usage", 1263), ("tax", 1126)]
    assert statement.total == 12389
    assert_recomputes(statement)


# --- refusals ------------------------------------------------------------------------------------


def test_terms_refuse_impossible_percentages() -> None:
    with pytest.raises(ValueError, match="discount percent"):
        ClientTerms(discount_percent=D(101))
    with pytest.raises(ValueError, match="tax percent"):
        TaxRate("VAT", D(-1))


def test_negative_quantities_are_refused_even_when_unpriced() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        rate_period(UNLIMITED, {"voice_minutes": Decimal(-1)}, "USD", MARCH)
