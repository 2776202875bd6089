"""The document object: totals are sums of lines, the payment note, what it refuses to hold."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing.documents import (
    ClientDetails,
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
    Logo,
    PartnerBranding,
    document_lines,
)
from billing.rating import BillingPeriod, ClientTerms, PlanPricing, TaxRate, rate_period
from billing.rating.lines import ChargeLine, LineKind
from billing.tenants.models import Client, Partner
from tests.billing.documents.builders import D, K, branding, invoice
from tests.billing.rating.builders import GROWTH_SMS, GROWTH_VOICE, per_unit


def test_totals_are_sums_of_the_lines() -> None:
    doc = invoice()
    assert (doc.subtotal_minor, doc.discount_minor, doc.tax_minor) == (23071, -2307, 4153)
    assert doc.total_minor == 24917 == sum(line.amount_minor for line in doc.lines)
    assert [line.kind for line in doc.itemised_lines].count(K.USAGE) == 2
    assert all(line.kind not in (K.DISCOUNT, K.TAX) for line in doc.itemised_lines)


def test_payment_note_depends_on_how_the_client_pays() -> None:
    assert invoice().payment_note == "Due by 1 December 2026, net 30 days."
    assert invoice(net_days=1).payment_note.endswith("net 1 day.")
    assert invoice(auto_charge=True, card_on_file=True).payment_note == (
        "This invoice will be charged to your card on file."
    )
    credit = invoice(
        kind=DocumentKind.CREDIT_NOTE,
        number="ACME-CN-0001",
        due_date=None,
        credited_invoice="ACME-000042",
        credit_reason="Duplicate SMS charges",
        lines=[DocumentLine(K.USAGE, "SMS refund", D(100), D("0.02"), 200)],
        tax=None,
    )
    assert credit.title == "Credit note"
    assert credit.payment_note == (
        "This credit note reduces invoice ACME-000042 by 2.00 USD. No payment is due."
    )


def test_the_client_facing_object_has_no_place_for_cost_or_margin() -> None:
    names = {
        f.name
        for cls in (InvoiceDocument, DocumentLine, PartnerBranding, ClientDetails)
        for f in dataclasses.fields(cls)
    }
    assert not [n for n in names if "cost" in n or "margin" in n or "wholesale" in n]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"due_date": None}, "due_date is required"),
        ({"kind": DocumentKind.CREDIT_NOTE}, "credited_invoice and credit_reason"),
        ({"currency": "US"}, "ISO 4217"),
        ({"period_end": date(2026, 9, 30)}, "before"),
        ({"number": " "}, "number"),
        ({"net_days": -1}, "net_days"),
    ],
)
def test_inconsistent_documents_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invoice(**changes)


def test_floats_and_bad_colours_are_refused() -> None:
    with pytest.raises(TypeError, match="quantity must be a finite Decimal"):
        DocumentLine(K.USAGE, "x", 1.5, D(1), 150)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unit_price"):
        DocumentLine(K.USAGE, "x", D(1), 0.1, 10)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="amount_minor"):
        DocumentLine(K.USAGE, "x", D(1), D(1), 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="#RRGGBB"):
        branding(primary_color="red; } body { display: none")
    assert branding(primary_color="#0b5fff").primary_color == "#0B5FFF"


def test_branding_and_client_read_from_the_tenant_rows(tmp_path: Path) -> None:
    file_style = Partner(
        id="acme",
        name="Acme Agency",
        currency="USD",
        timezone="UTC",
        invoice_prefix="ACME",
        branding={
            "logo": "branding/acme.png",
            "primary_color": "#0b5fff",
            "sender_name": "Acme AI Billing",
            "sender_email": "billing@acme.example",
            "address": "1 Main St\nSpringfield",
            "paper_size": "letter",
        },
    )
    (tmp_path / "branding").mkdir()
    (tmp_path / "branding/acme.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    brand = PartnerBranding.from_partner(file_style)
    assert (brand.logo_path, brand.logo) == (None, None)  # a stored path is never read
    uploaded = Logo(b"\x89PNG...", "image/png")
    assert PartnerBranding.from_partner(file_style, logo=uploaded).logo == uploaded
    assert (brand.primary_color, brand.address, brand.paper_size) == (
        "#0B5FFF",
        ("1 Main St", "Springfield"),
        "Letter",
    )
    assert brand.display_sender == "Acme AI Billing"

    api_style = Partner(
        id="acme",
        name="Acme Agency",
        currency="USD",
        timezone="UTC",
        invoice_prefix="ACME",
        branding={
            "display_name": "Acme AI",
            "logo_url": "https://cdn.example/l.png",
            "primary_color": "not-a-colour",
            "footer": "VAT GB123",
        },
    )
    brand = PartnerBranding.from_partner(api_style)
    assert (brand.name, brand.logo_path, brand.logo, brand.footer) == (
        "Acme AI",
        None,
        None,
        "VAT GB123",
    )  # a URL is never fetched
    assert brand.primary_color == "#1F2937"  # a bad stored colour never reaches CSS

    client = Client(
        partner_id="acme",
        id="bistro",
        name="Bistro",
        billing_email="ap@bistro.example",
        address={"line1": "2 Side St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        currency="EUR",
        timezone="Europe/Paris",
        external_ref="CRM-7",
    )
    details = ClientDetails.from_client(client)
    assert details.address == ("2 Side St", "69001 Lyon", "FR")
    assert (details.email, details.external_ref) == ("ap@bistro.example", "CRM-7")


def test_rating_lines_become_document_lines() -> None:
    period = BillingPeriod(date(2026, 10, 1), date(2026, 11, 1))
    plan = PlanPricing(
        "Growth",
        base_fee=Decimal("49"),
        prices={"voice_minutes": GROWTH_VOICE, "sms": GROWTH_SMS, "chat": per_unit("0.5", 10)},
    )
    statement = rate_period(
        plan,
        {"voice_minutes": D("1234.5"), "sms": D("1120"), "chat": D("25")},
        "USD",
        period,
        ClientTerms(discount_percent=D("10"), tax=TaxRate("VAT", D("20"))),
        names={"voice_minutes": "Voice AI minutes", "sms": "SMS", "chat": "Chat"},
    )
    lines = document_lines(
        statement.lines, {"voice_minutes": "minute", "sms": "message", "chat": "conversation"}
    )
    doc = invoice(lines=lines, period_end=period.last_day)
    assert doc.total_minor == statement.total
    assert doc.subtotal_minor + doc.discount_minor == statement.taxable
    voice = [line for line in lines if line.usage_type == "voice_minutes"]
    assert [(line.tier, line.description) for line in voice] == [
        (0, "Voice AI minutes, up to 1,000"),
        (1, "Voice AI minutes, 1,001-5,000"),
    ]
    assert {line.unit for line in voice} == {"minute"}
    [chat] = [line for line in lines if line.usage_type == "chat"]
    assert chat.unit == "block of 10 conversation"
    kinds = {line.kind for line in lines}
    assert {K.BASE_FEE, K.USAGE, K.INCLUDED, K.OVERAGE, K.DISCOUNT, K.TAX} <= kinds


def test_every_rating_line_kind_has_a_document_kind() -> None:
    assert {kind.value for kind in LineKind} <= {kind.value for kind in DocumentLineKind}
    line = ChargeLine(LineKind.MINIMUM_TRUE_UP, "Minimum", D(1), D("5.00"), 500)
    assert DocumentLine.from_charge_line(line).kind is DocumentLineKind.MINIMUM_TRUE_UP
