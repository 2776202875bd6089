"""Every kind of line, and invoice arithmetic: each line rounded once, tax once on the
discounted subtotal (half-up), total = sum of lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.drafts import Adjustment, allocate, build_lines
from billing.invoicing.models import InvoiceLineKind
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice
from billing.rating import BillingPeriod, ClientTerms, PlanPricing, TaxRate, rate_period
from config.money import to_minor
from config.prices import PerUnitPrice
from tests.billing.invoicing.builders import TOML, at, last_month, month_text, send, setup_partner

K = InvoiceLineKind


def test_every_kind_of_line(session: Session) -> None:
    toml = (
        TOML
        + """
[clients.tiny]
name = "Tiny"
email = "tiny@example.com"
plan = "growth"
"""
    )
    setup_partner(session, toml)
    month = last_month()
    send(
        session,
        [
            ("d1", "dental", "voice_minutes", "1500", at(month, 1)),
            ("d2", "dental", "sms", "1200", at(month, 2)),
            ("b1", "bakery", "voice_minutes", "10.25", at(month, 3)),
            ("b2", "bakery", "sms", "600", at(month, 3)),
            ("g1", "gym", "sms", "2500", at(month, 4)),
            ("t1", "tiny", "voice_minutes", "10", at(month, 4)),
        ],
    )
    result = close_cycles(session, "acme", period=month_text(month))
    session.commit()
    repo = InvoiceRepository(session)
    lines = repo.lines(result.created)
    by_client = {get_invoice(session, "acme", i).client_id: lines[i] for i in result.created}

    def kinds(client: str) -> list[tuple[K, int | None, int]]:
        return [(ln.kind, ln.tier, ln.amount_minor) for ln in by_client[client]]

    # Growth: base fee, package (included + overage per unit), graduated tiers, discount, tax.
    assert kinds("dental") == [
        (K.BASE_FEE, None, 9900),
        (K.INCLUDED, None, 0),
        (K.OVERAGE, None, 400),
        (K.USAGE, 0, 15000),
        (K.USAGE, 1, 6000),
        (K.DISCOUNT, None, -3130),  # 10% of 313.00
        (K.TAX, None, 2324),  # 8.25% of 281.70 = 23.24025
    ]
    # Starter: per started minute (blocks), volume tier 2 for all 600 messages, zero calls.
    assert kinds("bakery") == [(K.USAGE, None, 0), (K.USAGE, 1, 1200), (K.USAGE, None, 198)]
    # Blocks plan: included 100, overage 2400 in 3 started blocks of 1000 at 10.00.
    assert kinds("gym") == [(K.INCLUDED, None, 0), (K.OVERAGE, None, 3000)]
    # Minimum spend: 99.00 + 1.50 is below 150.00: a true-up line makes up the difference.
    tiny = kinds("tiny")
    assert (K.MINIMUM_TRUE_UP, None, 15000 - 9900 - 150) in tiny
    for client, rows in by_client.items():
        for line in rows:  # every line recomputes to the cent
            assert to_minor(line.quantity * line.unit_price, "USD") == line.amount_minor, client
        invoice = next(
            get_invoice(session, "acme", i)
            for i in result.created
            if get_invoice(session, "acme", i).client_id == client
        )
        assert invoice.total_minor == sum(ln.amount_minor for ln in rows)
        assert invoice.subtotal_minor + invoice.discount_minor + invoice.tax_minor == (
            invoice.total_minor
        )


PERIOD = BillingPeriod(date(2026, 10, 1), date(2026, 11, 1))


def _statement(quantity: str, discount: str = "0", tax: str | None = None) -> object:
    plan = PlanPricing(
        "p", prices={"u": PerUnitPrice(model="per_unit", unit_price=Decimal("0.01"))}
    )
    terms = ClientTerms(
        discount_percent=Decimal(discount), tax=TaxRate("T", Decimal(tax)) if tax else None
    )
    return rate_period(plan, {"u": Decimal(quantity)}, "USD", PERIOD, terms)


def _adjustment(charge: int) -> Adjustment:
    return Adjustment(
        "u",
        date(2026, 9, 1),
        date(2026, 9, 30),
        "U",
        "unit",
        Decimal(charge),
        Decimal(charge),
        charge,
        0,
        1,
        datetime.now(UTC),
    )


def test_tax_is_rounded_once_on_the_discounted_subtotal_including_adjustments() -> None:
    # 6 units at 0.01 this period + 6 cents of late usage: 8.25% per line would be 0 + 0;
    # once on 0.12 it is 0.0099 -> 0.01.
    statement = _statement("6", tax="8.25")
    lines = build_lines(statement, {}, TaxRate("T", Decimal("8.25")), [_adjustment(6)])  # type: ignore[arg-type]
    assert [(ln.kind, ln.amount) for ln in lines] == [
        (K.USAGE, 6),
        (K.PRIOR_PERIOD_ADJUSTMENT, 6),
        (K.TAX, 1),
    ]
    # Half-up: 2.5% of 0.20 is exactly half a cent, which rounds up.
    lines = build_lines(
        _statement("10", tax="2.5"),
        {},
        TaxRate("T", Decimal("2.5")),
        [_adjustment(10)],  # type: ignore[arg-type]
    )
    assert lines[-1].kind is K.TAX and lines[-1].amount == 1
    # The period's own discount (15% of 5.00 = 0.75), then the adjustment, which carries its
    # own period's discount already and is not discounted again, then tax once on
    # 5.00 - 0.75 + 5.00 = 9.25: 0.763125 -> 0.76.
    lines = build_lines(
        _statement("500", discount="15", tax="8.25"),
        {},
        TaxRate("T", Decimal("8.25")),
        [_adjustment(500)],  # type: ignore[arg-type]
    )
    assert [(ln.kind, ln.amount) for ln in lines] == [
        (K.USAGE, 500),
        (K.DISCOUNT, -75),
        (K.PRIOR_PERIOD_ADJUSTMENT, 500),
        (K.TAX, 76),
    ]
    # A negative adjustment that takes the taxable amount below zero: the tax is negative,
    # and a half-way value rounds away from zero (-0.125 -> -0.13), like a positive one.
    lines = build_lines(
        _statement("0", tax="12.5"),
        {},
        TaxRate("T", Decimal("12.5")),
        [_adjustment(-100)],  # type: ignore[arg-type]
    )
    assert [(ln.kind, ln.amount) for ln in lines][-2:] == [
        (K.PRIOR_PERIOD_ADJUSTMENT, -100),
        (K.TAX, -13),
    ]


@given(
    total=st.integers(-(10**9), 10**9),
    weights=st.lists(st.decimals(0, 10**6, places=3), min_size=1, max_size=8),
)
def test_allocation_adds_up_exactly(total: int, weights: list[Decimal]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total and len(parts) == len(weights)
    if total >= 0:
        assert all(p >= 0 for p in parts)


@given(
    cents=st.integers(-(10**9), 10**9),
    places=st.integers(1, 4),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_negative_amounts_round_as_the_negative_of_their_positive(
    cents: int, places: int, currency: str
) -> None:
    """One rounding function, half away from zero: -x rounds to -round(x), half-way values
    included (a credit or a negative adjustment's tax mirrors its positive counterpart)."""
    amount = Decimal(cents).scaleb(-places - 2)
    assert to_minor(-amount, currency) == -to_minor(amount, currency)
    assert to_minor(Decimal("-0.125"), "USD") == -13 and to_minor(Decimal("-0.5"), "JPY") == -1
