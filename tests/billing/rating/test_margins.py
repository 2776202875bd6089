"""Wholesale cost with the same price models, margins per usage type, and the example file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing.rating import (
    BillingPeriod,
    PlanPricing,
    UsageMargin,
    client_rating_inputs,
    margin_percent,
    rate_costs,
    rate_period,
    usage_margins,
)
from config.partner_file import load_partner_file, validate_partner_data
from tests.billing.rating.builders import D, graduated, per_unit

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "acme.toml"
MARCH = BillingPeriod(date(2026, 3, 1), date(2026, 4, 1))


def test_margin_percent() -> None:
    assert margin_percent(13580, 5555) == D("59.09")  # 8025 / 13580 = 59.0942...
    assert margin_percent(1000, 1185) == D("-18.50")
    assert margin_percent(3, 2) == D("33.33")
    assert margin_percent(2, 1) == D("50.00")
    assert margin_percent(0, 0) is None
    assert margin_percent(0, 500) is None
    assert margin_percent(8, 7) == D("12.50")  # exactly 12.5: no rounding needed
    assert margin_percent(16, 15) == D("6.25")
    assert margin_percent(1600, 1599) == D("0.06")  # 0.0625 -> 0.06


def test_cost_tiers_work_like_retail_tiers() -> None:
    wholesale = {"voice_minutes": graduated((1000, "0.05"), (None, "0.04"))}
    costs = rate_costs(wholesale, {"voice_minutes": D(1500)}, "USD")
    # 1000 x 0.05 + 500 x 0.04 = 50.00 + 20.00
    assert costs["voice_minutes"].amount == 7000
    assert [line.amount for line in costs["voice_minutes"].lines] == [5000, 2000]
    # no quantity: zero cost, still rated
    assert rate_costs(wholesale, {}, "USD")["voice_minutes"].amount == 0


def test_the_example_file_end_to_end() -> None:
    """Dental Co on Growth with its own voice rate, 10 % discount and 8.25 % sales tax.

    base fee 99.00; voice 1234.5 x 0.11 = 135.795 -> 135.80; sms 1000 included + 500 x 0.02 =
    10.00; subtotal 244.80 (above the 150.00 minimum); discount 24.48; tax 8.25 % of 220.32 =
    18.1764 -> 18.18; total 238.50. Cost: voice 1234.5 x 0.045 = 55.5525 -> 55.55, sms 1500 x
    0.0079 = 11.85.
    """
    partner_file = load_partner_file(EXAMPLE)
    inputs = client_rating_inputs(partner_file, "dental-co")
    quantities = {"voice_minutes": D("1234.5"), "sms": D(1500), "fax": D(3)}
    statement = rate_period(
        inputs.plan, quantities, inputs.currency, MARCH, inputs.terms, names=inputs.names
    )
    assert [(line.kind.value, line.amount) for line in statement.lines] == [
        ("base_fee", 9900),
        ("usage", 13580),
        ("included", 0),
        ("overage", 1000),
        ("discount", -2448),
        ("tax", 1818),
    ]
    assert statement.subtotal == 24480
    assert statement.total == 23850
    assert statement.unpriced_usage == ("fax",)
    assert statement.lines[1].description == "Voice AI minutes"

    costs = rate_costs(inputs.wholesale, quantities, inputs.cost_currency)
    assert {k: v.amount for k, v in costs.items()} == {"voice_minutes": 5555, "sms": 1185}
    margins = usage_margins(statement, costs)
    assert margins == (
        UsageMargin("voice_minutes", D("1234.5"), "USD", 13580, 5555),
        UsageMargin("sms", D(1500), "USD", 1000, 1185),
    )
    assert [m.margin for m in margins] == [8025, -185]
    assert [m.margin_percent for m in margins] == [D("59.09"), D("-18.50")]
    threshold = partner_file.partner.margin_alert_percent
    assert threshold is not None
    assert [m.below(threshold) for m in margins] == [False, True]


def test_plan_override_from_the_file() -> None:
    partner_file = load_partner_file(EXAMPLE)
    data = partner_file.model_dump(mode="json")
    data["clients"]["dental-co"]["plan_override"] = {"name": "Deal", "base_fee": "20.00"}
    data["clients"]["dental-co"]["plan"] = None
    custom = validate_partner_data(data)
    inputs = client_rating_inputs(custom, "dental-co")
    assert inputs.plan.name == "Deal"
    assert inputs.terms.plan_override is None
    statement = rate_period(inputs.plan, {"voice_minutes": D(10)}, "USD", MARCH, inputs.terms)
    # 20.00 + 10 x 0.11 = 21.10; discount 2.11; tax 8.25% of 18.99 = 1.566675 -> 1.57
    assert statement.total == 2110 - 211 + 157


def test_cost_only_usage_types_show_a_negative_margin() -> None:
    statement = rate_period(
        PlanPricing("Flat"),
        {"voice_minutes": D(100)},
        "USD",
        MARCH,
    )
    costs = rate_costs({"voice_minutes": per_unit("0.045")}, {"voice_minutes": D(100)}, "USD")
    (margin,) = usage_margins(statement, costs)
    assert (margin.charge, margin.cost, margin.margin, margin.margin_percent) == (
        0,
        450,
        -450,
        None,
    )
    assert margin.below(Decimal(30))


def test_margins_refuse_mixed_currencies() -> None:
    statement = rate_period(PlanPricing("Flat"), {}, "EUR", MARCH)
    costs = rate_costs({"sms": per_unit("0.01")}, {"sms": D(1)}, "USD")
    with pytest.raises(ValueError, match="convert before comparing"):
        usage_margins(statement, costs)
