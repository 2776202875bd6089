"""The common builders: the remote total equals ours to the cent, always.

Generated invoices with every kind of line, any quantity and rate precision, three currency
exponents and remotes with different decimal limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoicing.models import InvoiceLineKind as K
from config.money import from_minor, to_minor
from mappings.base import ADJUSTMENT_ITEM, BASE_FEE_ITEM
from mappings.invoices import (
    SpecError,
    credit_note_spec,
    customer_spec,
    decimals,
    invoice_spec,
    item_specs,
    line_spec,
)
from remote_specs import RemoteRef


@dataclass
class Mapping4:
    """A simple test mapping: Xero-like 4 unit-price decimals unless told otherwise."""

    provider: str = "test"
    draft: bool = False
    max_unit_price_decimals: int = 4
    max_quantity_decimals: int = 4

    def item_code(self, usage_type: str | None) -> str:
        if usage_type in (None, BASE_FEE_ITEM, ADJUSTMENT_ITEM):
            return usage_type or BASE_FEE_ITEM
        return f"item-{usage_type}"

    def income_account(self, usage_type: str | None) -> str | None:
        return "4000" if usage_type is None else f"41-{usage_type}"

    def tax_code(self, *, taxed: bool) -> str | None:
        return "TAX" if taxed else "NON"

    def tracking(self) -> Mapping[str, str]:
        return {"Region": "North"}

    def required_remote_names(self) -> Mapping[str, str]:
        return {}


@dataclass
class Line:
    kind: K
    usage_type: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int


@dataclass
class Inv:
    currency: str
    lines: list[Line] = field(default_factory=list)
    id: int | None = 7
    number: str | None = "ACME-000007"
    client_id: str = "c1"
    issue_date: date | None = date(2026, 11, 1)
    due_at: date | None = date(2026, 11, 15)
    period_start: date = date(2026, 10, 1)
    period_end: date = date(2026, 10, 31)

    @property
    def tax_minor(self) -> int:
        return sum(ln.amount_minor for ln in self.lines if ln.kind is K.TAX)

    @property
    def total_minor(self) -> int:
        return sum(ln.amount_minor for ln in self.lines)


REF = RemoteRef("cust-1")
CURRENCIES = st.sampled_from(["USD", "JPY", "BHD"])


def _decimal(max_places: int, max_units: int = 10**7) -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda units, places: Decimal(units).scaleb(-places),
        st.integers(0, max_units),
        st.integers(0, max_places),
    )


@st.composite
def usage_line(draw: st.DrawFn, currency: str) -> Line:
    quantity = draw(_decimal(6))
    price = draw(_decimal(6, 10**6))
    exact = to_minor(quantity * price, currency)
    prorated = draw(st.booleans())
    amount = draw(st.integers(0, 10**7)) if prorated else exact
    kind = draw(st.sampled_from([K.USAGE, K.OVERAGE, K.INCLUDED, K.PRIOR_PERIOD_ADJUSTMENT]))
    return Line(kind, draw(st.sampled_from(["voice", "sms"])), "Voice", quantity, price, amount)


@st.composite
def invoices(draw: st.DrawFn) -> Inv:
    currency = draw(CURRENCIES)
    lines = draw(st.lists(usage_line(currency), max_size=8))
    if draw(st.booleans()):
        fee = draw(st.integers(0, 10**6))
        lines.insert(
            0, Line(K.BASE_FEE, None, "Base fee", Decimal(1), from_minor(fee, currency), fee)
        )
    if draw(st.booleans()):
        days = Decimal(draw(st.integers(1, 31)))
        fee = draw(st.integers(0, 10**6))
        lines.append(Line(K.MINIMUM_TRUE_UP, None, "Minimum", days / 31, Decimal("99.99"), fee))
    subtotal = sum(ln.amount_minor for ln in lines)
    if draw(st.booleans()) and subtotal:
        pct = Decimal(draw(st.integers(1, 50)))
        off = -to_minor(Decimal(subtotal).scaleb(-2) * pct / 100, "USD")
        lines.append(
            Line(K.DISCOUNT, None, f"Discount {pct}%", Decimal(1), Decimal(off).scaleb(-2), off)
        )
    if draw(st.booleans()):
        tax = draw(st.integers(0, 10**5))
        lines.append(Line(K.TAX, None, "Tax", Decimal("0.0825"), Decimal(subtotal), tax))
    return Inv(currency, lines)


MAPPINGS = st.builds(
    Mapping4, max_unit_price_decimals=st.integers(0, 6), max_quantity_decimals=st.integers(0, 6)
)


@settings(deadline=None, max_examples=300)
@given(invoices(), MAPPINGS)
def test_the_remote_total_equals_ours_to_the_cent(invoice: Inv, mapping: Mapping4) -> None:
    spec = invoice_spec(invoice, invoice.lines, mapping, REF)
    assert sum(ln.amount_minor for ln in spec.lines) + spec.tax_minor == invoice.total_minor
    assert spec.total_minor == invoice.total_minor and spec.tax_minor == invoice.tax_minor
    assert len(spec.lines) == sum(1 for ln in invoice.lines if ln.kind is not K.TAX)
    for ours, line in zip(
        [ln for ln in invoice.lines if ln.kind is not K.TAX], spec.lines, strict=True
    ):
        major = from_minor(line.amount_minor, invoice.currency)
        # What the remote recomputes is exactly the amount, whichever way the line went.
        assert line.quantity * line.unit_price == major
        assert decimals(line.quantity) <= max(mapping.max_quantity_decimals, 0)
        collapsed = line.quantity == 1 and line.unit_price == major
        if not collapsed:
            assert (line.quantity, line.unit_price) == (ours.quantity, ours.unit_price)
            assert decimals(line.unit_price) <= mapping.max_unit_price_decimals
        elif (ours.quantity, ours.unit_price) != (Decimal(1), major):
            assert "\u00d7" in line.description  # the detail is kept in words


def test_a_rate_with_too_many_decimals_goes_as_one_at_the_line_amount() -> None:
    line = Line(K.USAGE, "voice", "Voice minutes", Decimal("1234.5"), Decimal("0.0125"), 1543)
    spec = line_spec(
        line, "USD", Mapping4(max_unit_price_decimals=2), taxed=False, units={"voice": "min"}
    )
    assert (spec.quantity, spec.unit_price, spec.amount_minor) == (1, Decimal("15.43"), 1543)
    assert spec.description == "Voice minutes (1,234.5 min \u00d7 0.0125)"
    exact = line_spec(line, "USD", Mapping4(), taxed=True)  # 15.43125 is not 15.43: collapsed too
    assert exact.quantity == 1
    kept = Line(K.USAGE, "voice", "Voice", Decimal("1232"), Decimal("0.0125"), 1540)
    assert line_spec(kept, "USD", Mapping4(), taxed=True).quantity == Decimal("1232")
    assert (exact.item_code, exact.account, exact.tax_code) == ("item-voice", "41-voice", "TAX")


def test_a_zero_quantity_line_goes_as_one_at_zero() -> None:
    line = Line(K.USAGE, "voice", "Voice", Decimal(0), Decimal("0.10"), 0)
    spec = line_spec(line, "USD", Mapping4(), taxed=False)
    assert (spec.quantity, spec.unit_price, spec.amount_minor) == (1, Decimal("0.00"), 0)
    assert spec.description == "Voice (0 \u00d7 0.1)"


def test_generic_lines_use_the_base_fee_and_adjustment_items() -> None:
    inv = Inv(
        "USD",
        [
            Line(K.BASE_FEE, None, "Base fee", Decimal(1), Decimal("99.00"), 9900),
            Line(K.MINIMUM_TRUE_UP, None, "Minimum", Decimal(1), Decimal("10.00"), 1000),
            Line(K.DISCOUNT, None, "Discount 10%", Decimal(1), Decimal("-10.90"), -1090),
            Line(
                K.PRIOR_PERIOD_ADJUSTMENT, "sms", "SMS, September", Decimal(10), Decimal("0.02"), 20
            ),
            Line(K.TAX, None, "VAT", Decimal(1), Decimal("9.83"), 983),
        ],
    )
    spec = invoice_spec(inv, inv.lines, Mapping4(draft=True), REF)
    assert [ln.item_code for ln in spec.lines] == [
        BASE_FEE_ITEM,
        BASE_FEE_ITEM,
        ADJUSTMENT_ITEM,
        "item-sms",
    ]
    assert (spec.subtotal_minor, spec.tax_minor, spec.total_minor) == (9830, 983, 10813)
    assert spec.draft and spec.tax_code == "TAX" and spec.number == "ACME-000007"
    assert spec.lines[2].unit_price == Decimal("-10.90")


def test_a_document_that_does_not_add_up_is_refused() -> None:
    inv = Inv("USD", [Line(K.USAGE, "voice", "Voice", Decimal(1), Decimal(1), 100)])
    inv.lines.append(Line(K.TAX, None, "Tax", Decimal(1), Decimal(1), 10))

    class Broken(Inv):
        @property
        def total_minor(self) -> int:
            return 111

    broken = Broken("USD", inv.lines)
    with pytest.raises(SpecError, match="do not add up"):
        invoice_spec(broken, broken.lines, Mapping4(), REF)
    with pytest.raises(SpecError, match="only issued"):
        invoice_spec(Inv("USD", [], number=None), [], Mapping4(), REF)


@dataclass
class Note:
    currency: str = "USD"
    id: int | None = 3
    number: str = "CN-000003"
    client_id: str = "c1"
    issue_date: date = date(2026, 11, 5)
    reason: str = "goodwill"
    tax_minor: int = 100
    total_minor: int = 1100


def test_credit_note_spec() -> None:
    lines = [
        Line(K.USAGE, "voice", "Voice", Decimal(100), Decimal("0.10"), 1000),
        Line(K.TAX, None, "VAT", Decimal(1), Decimal(1), 100),
    ]
    spec = credit_note_spec(
        Note(),
        lines,
        Mapping4(),
        invoice_ref=RemoteRef("inv-9"),
        invoice_number="ACME-1",
        customer_ref=REF,
    )
    assert spec.total_minor == 1100 and spec.tax_minor == 100 and len(spec.lines) == 1
    assert spec.invoice.remote_id == "inv-9" and spec.reason == "goodwill"


@dataclass
class Client:
    id: str = "c1"
    name: str = "Client One"
    billing_email: str | None = "one@example.com"
    currency: str = "USD"
    address: dict[str, object] = field(default_factory=lambda: {"city": "Oslo", "line2": ""})


@dataclass
class UsageType:
    code: str
    display_name: str
    unit: str


def test_customer_and_item_specs() -> None:
    spec = customer_spec(Client())
    assert (spec.reference, spec.display_name, spec.address) == (
        "c1",
        "Client One",
        {"city": "Oslo"},
    )
    items = item_specs(
        [UsageType("voice", "Voice minutes", "minute"), UsageType("sms", "SMS", "message")],
        Mapping4(),
    )
    assert [i.code for i in items] == ["item-voice", "item-sms", BASE_FEE_ITEM, ADJUSTMENT_ITEM]
    assert items[0].income_account == "41-voice" and items[2].income_account == "4000"
