"""Property: any invoice our builders can make arrives in QuickBooks (the fake redoes
QuickBooks' arithmetic: 7 decimals of Qty and UnitPrice, Amount = Qty x UnitPrice at 2
decimals, TotalAmt = lines + tax) with our total to the cent, and reads back unchanged."""

from __future__ import annotations

from decimal import Decimal

import anyio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing.invoicing.models import InvoiceLineKind
from config.money import to_minor
from connectors.http import RetryPolicy
from mappings.invoices import line_spec
from mappings.quickbooks import mapping_from_settings
from remote_specs import RemoteRef, RemoteStatus
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from tests.connectors.test_quickbooks import CONTRACT, make_connector

MAPPING = mapping_from_settings(
    {"default_income_account": "79", "tax_code": "TAX", "non_tax_code": "NON"}
)


class Line:
    def __init__(
        self,
        kind: InvoiceLineKind,
        usage_type: str | None,
        quantity: Decimal,
        unit_price: Decimal,
        amount_minor: int,
    ) -> None:
        self.kind, self.usage_type, self.description = kind, usage_type, "line"
        self.quantity, self.unit_price, self.amount_minor = quantity, unit_price, amount_minor


quantities = st.decimals(
    min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False
)
prices = st.decimals(min_value=0, max_value=50, places=6, allow_nan=False, allow_infinity=False)
remainders = st.integers(min_value=-5000, max_value=50_000)  # a tier remainder, a discount


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    usage=[(Decimal("1234.567"), Decimal("0.012345"))], odd=[-903], tax_percent=Decimal("8.25")
)
@given(
    usage=st.lists(st.tuples(quantities, prices), min_size=1, max_size=6),
    odd=st.lists(remainders, max_size=3),
    tax_percent=st.sampled_from([Decimal(0), Decimal("8.25"), Decimal(20)]),
)
def test_any_invoice_arrives_with_our_total(
    usage: list[tuple[Decimal, Decimal]], odd: list[int], tax_percent: Decimal
) -> None:
    lines = [Line(InvoiceLineKind.USAGE, "voice", q, p, to_minor(q * p, "USD")) for q, p in usage]
    lines += [
        Line(
            InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT,
            None,
            Decimal("2.5"),
            Decimal(amount) / 250,
            amount,
        )
        for amount in odd
    ]
    specs = tuple(line_spec(line, "USD", MAPPING, taxed=True) for line in lines)
    subtotal = sum(s.amount_minor for s in specs)
    if subtotal < 0:
        return  # QuickBooks refuses a negative invoice; ours issue credit notes instead
    tax = to_minor(Decimal(subtotal) * tax_percent / 100, "USD") if tax_percent else 0

    async def scenario() -> None:
        fake = FakeQuickBooks()
        connector = make_connector(fake, FakeTokens(fake), RetryPolicy(max_attempts=1))
        try:
            customer = await CONTRACT.customer(connector)
            # the contract's items exist now: voice, sms, base-fee, adjustment (no prefix)
            spec = CONTRACT.make_invoice_spec("P-1", customer, lines=specs, tax_minor=tax)
            [ref] = await connector.push_invoices([spec], ["k"])
            assert isinstance(ref, RemoteRef), ref
            remote = await connector.fetch_invoice(ref)
            assert remote.total_minor == spec.total_minor == subtotal + tax
            assert remote.amount_due_minor == spec.total_minor
            if spec.total_minor:
                assert remote.status is RemoteStatus.OPEN
        finally:
            await connector.aclose()

    anyio.run(scenario)
