"""Properties of rating that must hold for any prices and quantities (Hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rating import (
    BillingPeriod,
    ClientTerms,
    LineKind,
    PlanPricing,
    TaxRate,
    rate_period,
    rate_usage,
)
from config.money import ceil_units, currency_exponent, from_minor, to_minor
from config.prices import GraduatedPrice, PackagePrice, PerUnitPrice, Tier, VolumePrice

CURRENCIES = st.sampled_from(["USD", "JPY", "BHD", "EUR"])
rates = st.decimals(min_value=0, max_value=50, places=6, allow_nan=False, allow_infinity=False)
quantities = st.decimals(
    min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False
)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = sorted(
        draw(
            st.lists(
                st.decimals(min_value=1, max_value=10**6, places=2, allow_nan=False),
                max_size=4,
                unique=True,
            )
        )
    )
    bounded = [Tier(up_to=bound, unit_price=draw(rates)) for bound in bounds]
    return (*bounded, Tier(unit_price=draw(rates)))


def graduated(tiers: tuple[Tier, ...]) -> GraduatedPrice:
    return GraduatedPrice(model="graduated", tiers=tiers)


def volume(tiers: tuple[Tier, ...]) -> VolumePrice:
    return VolumePrice(model="volume", tiers=tiers)


@st.composite
def any_price(draw: st.DrawFn) -> PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice:
    kind = draw(st.sampled_from(["per_unit", "block", "graduated", "volume", "package", "pblock"]))
    if kind == "per_unit":
        return PerUnitPrice(model="per_unit", unit_price=draw(rates))
    if kind == "block":
        block = Decimal(draw(st.integers(1, 3600)))
        return PerUnitPrice(model="per_unit", unit_price=draw(rates), block_size=block)
    if kind == "graduated":
        return graduated(draw(tier_lists()))
    if kind == "volume":
        return volume(draw(tier_lists()))
    included = Decimal(draw(st.integers(0, 10**5)))
    if kind == "package":
        return PackagePrice(model="package", included=included, overage_unit_price=draw(rates))
    block_price = Decimal(draw(st.integers(0, 10**5))) / 100
    return PackagePrice(
        model="package",
        included=included,
        block_size=Decimal(draw(st.integers(1, 1000))),
        block_price=block_price,
    )


@given(tier_lists(), quantities, quantities, CURRENCIES)
def test_graduated_never_decreases_and_is_the_sum_of_its_tier_lines(
    tiers: tuple[Tier, ...], a: Decimal, b: Decimal, currency: str
) -> None:
    low, high = sorted((a, b))
    price = graduated(tiers)
    charge_low = rate_usage(price, low, currency, usage_type="u")
    charge_high = rate_usage(price, high, currency, usage_type="u")
    assert charge_low.amount <= charge_high.amount
    for charge in (charge_low, charge_high):
        assert charge.amount == sum(line.amount for line in charge.lines)
        assert sum(line.quantity for line in charge.lines) == charge.quantity
        tiers_used = [line.tier for line in charge.lines]
        assert tiers_used == sorted(set(tiers_used))  # one line per tier, in order
        for line in charge.lines:
            assert line.unit_price == tiers[line.tier or 0].unit_price
            assert line.amount == to_minor(line.quantity * line.unit_price, currency)


@given(rates, quantities, CURRENCIES)
def test_volume_and_graduated_agree_on_a_single_tier(
    rate: Decimal, quantity: Decimal, currency: str
) -> None:
    single = (Tier(unit_price=rate),)
    expected = to_minor(quantity * rate, currency)
    assert rate_usage(graduated(single), quantity, currency, usage_type="u").amount == expected
    assert rate_usage(volume(single), quantity, currency, usage_type="u").amount == expected


@given(tier_lists(), quantities, CURRENCIES)
def test_volume_and_graduated_agree_within_the_first_tier(
    tiers: tuple[Tier, ...], quantity: Decimal, currency: str
) -> None:
    first = tiers[0].up_to
    if first is not None and quantity > first:
        quantity = first
    g = rate_usage(graduated(tiers), quantity, currency, usage_type="u")
    v = rate_usage(volume(tiers), quantity, currency, usage_type="u")
    assert g.amount == v.amount


@given(st.integers(0, 10**6), rates, st.data())
def test_package_is_free_up_to_included(included: int, rate: Decimal, data: st.DataObject) -> None:
    price = PackagePrice(model="package", included=Decimal(included), overage_unit_price=rate)
    quantity = data.draw(
        st.decimals(
            min_value=0, max_value=included, places=3, allow_nan=False, allow_infinity=False
        )
    )
    charge = rate_usage(price, quantity, "USD", usage_type="u")
    assert charge.amount == 0
    above = rate_usage(price, Decimal(included) + 1, "USD", usage_type="u")
    assert above.amount == to_minor(rate, "USD")


@given(st.integers(1, 3600), rates, quantities)
def test_blocks_bill_whole_started_blocks(block: int, rate: Decimal, quantity: Decimal) -> None:
    price = PerUnitPrice(model="per_unit", unit_price=rate, block_size=Decimal(block))
    (line,) = rate_usage(price, quantity, "USD", usage_type="u").lines
    blocks = ceil_units(quantity, Decimal(block))
    assert line.quantity == blocks
    assert (blocks - 1) * block < quantity <= blocks * block or quantity == 0
    assert line.amount == to_minor(blocks * block * rate, "USD")


@settings(max_examples=200)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), any_price(), max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "c", "e"]), quantities, max_size=4),
    st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False),
    st.none() | st.decimals(min_value=0, max_value=10**5, places=2, allow_nan=False),
    percents,
    st.none() | percents,
    CURRENCIES,
    st.integers(0, 40),
)
def test_statement_total_is_what_a_remote_system_recomputes(
    prices: dict[str, PerUnitPrice],
    usage: dict[str, Decimal],
    base_fee: Decimal,
    minimum: Decimal | None,
    discount: Decimal,
    tax: Decimal | None,
    currency: str,
    start_day: int,
) -> None:
    exponent = currency_exponent(currency)
    base_fee = base_fee.quantize(Decimal(1).scaleb(-min(exponent, 2)))
    plan = PlanPricing("P", base_fee=base_fee, minimum_spend=minimum, prices=prices)
    period = BillingPeriod.monthly(date(2026, 2, 10))
    starts_on = period.start + timedelta(days=start_day)
    terms = ClientTerms(
        discount_percent=discount,
        tax=None if tax is None else TaxRate("Tax", tax),
        starts_on=starts_on,
    )
    statement = rate_period(plan, usage, currency, period, terms)

    # a remote system: every line is quantity x unit price, rounded; the total is their sum
    recomputed = [to_minor(line.quantity * line.unit_price, currency) for line in statement.lines]
    assert recomputed == [line.amount for line in statement.lines]
    assert statement.total == sum(recomputed)

    # The order of docs/invoice-arithmetic.md: subtotal -> true-up -> discount on it -> tax on the discounted amount
    assert statement.subtotal == sum(
        line.amount
        for line in statement.lines
        if line.kind not in {LineKind.MINIMUM_TRUE_UP, LineKind.DISCOUNT, LineKind.TAX}
    )
    true_up = statement.minimum_true_up.amount if statement.minimum_true_up else 0
    assert true_up >= 0
    if minimum is None:
        assert true_up == 0
    before_discount = statement.subtotal + true_up
    expected_discount = to_minor(from_minor(before_discount, currency) * discount / 100, currency)
    assert (statement.discount.amount if statement.discount else 0) == -expected_discount
    taxable = before_discount - expected_discount
    assert statement.taxable == taxable
    expected_tax = (
        0 if tax is None else to_minor(from_minor(taxable, currency) * tax / 100, currency)
    )
    assert (statement.tax.amount if statement.tax else 0) == expected_tax
    assert statement.total == taxable + expected_tax
    assert statement.total >= 0
