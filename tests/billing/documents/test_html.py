"""The branded HTML: what the client must see, what it must never see, and hostile input."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from billing.documents import DocumentKind, DocumentLine, render_email_text, render_invoice_html
from billing.documents.formatting import format_amount
from billing.documents.render import MAX_LOGO_BYTES, load_logo
from billing.rating import BillingPeriod, PlanPricing, rate_costs, rate_period
from tests.billing.documents.builders import PNG, D, K, branding, invoice, usd_lines, with_client
from tests.billing.rating.builders import GROWTH_VOICE, per_unit


def test_the_invoice_shows_what_the_client_needs() -> None:
    html = render_invoice_html(invoice())
    for text in (
        "ACME-000042",  # number
        "Bistro Ltd",
        "2 Side St",
        "ap@bistro.example",
        "CUST-9",  # client
        "Acme AI",
        "1 Main St",
        "billing@acme.example",
        "#0B5FFF",  # partner branding
        "1 October 2026 \u2013 31 October 2026",  # period
        "1 November 2026",
        "1 December 2026",  # issue and due dates
        "Tier 1: up to 1,000",
        "Tier 2: 1,001 to 5,000",  # tier breakdown
        "1,000",
        "234.50",
        "0.125",
        "0.15",  # quantities and exact unit prices
        "150.00",
        "29.31",  # line amounts
        "230.71 USD",
        "Discount 10%",
        "-23.07 USD",
        "VAT (20%)",
        "41.53 USD",  # totals
        "249.17 USD",
        "Due by 1 December 2026, net 30 days.",  # payment note
        "size: A4",
    ):
        assert text in html, text
    assert "included" in html  # the package's included units are shown, not priced


def test_auto_charge_and_letter_paper() -> None:
    doc = invoice(auto_charge=True, card_on_file=True, partner=branding(paper_size="Letter"))
    html = render_invoice_html(doc)
    assert "This invoice will be charged to your card on file." in html
    assert "size: Letter" in html


def test_wholesale_cost_and_margin_never_appear() -> None:
    """Rate a real period, compute its wholesale cost and margin as the core will, and check
    that neither the words nor the figures reach the client's document."""
    period = BillingPeriod.monthly(date(2026, 10, 5))
    plan = PlanPricing("Growth", prices={"voice_minutes": GROWTH_VOICE})
    quantities = {"voice_minutes": D("7777")}
    statement = rate_period(plan, quantities, "USD", period)
    costs = rate_costs({"voice_minutes": per_unit("0.0137")}, quantities, "USD")
    cost = sum(c.amount for c in costs.values())
    margin = statement.total - cost
    lines = [DocumentLine.from_charge_line(line, unit="minute") for line in statement.lines]
    doc = invoice(lines=lines, tax=None)
    html = render_invoice_html(doc)
    visible = re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.DOTALL)
    for rendered in (visible, render_email_text(doc)):
        assert not re.search(r"cost|margin|wholesale", rendered, re.IGNORECASE)
    for rendered in (html, render_email_text(doc)):
        for figure in (format_amount(cost, "USD"), format_amount(margin, "USD"), "0.0137"):
            assert figure not in rendered


def test_hostile_client_names_are_text() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & Co'
    doc = with_client(invoice(), name=hostile, address=("<b>1</b> Road",))
    html = render_invoice_html(doc)
    assert "<script>" not in html and "<img src=x" not in html and "<b>1</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&amp; Co" in html
    # The text e-mail is not HTML: the name is printed as given.
    assert hostile in render_email_text(doc)


def test_the_logo_is_embedded_from_disk(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    html = render_invoice_html(invoice(partner=branding(logo_path=logo)))
    assert 'src="data:image/png;base64,iVBORw0KGgo' in html


def test_a_missing_or_unusable_logo_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for path in (
        tmp_path / "missing.png",
        tmp_path / "logo.exe",
        tmp_path / "huge.png",
    ):
        if path.name == "huge.png":
            path.write_bytes(b"\0" * (MAX_LOGO_BYTES + 1))
        assert load_logo(path) is None
        html = render_invoice_html(invoice(partner=branding(logo_path=path)))
        assert "<img" not in html and "ACME-000042" in html
    for reason in ("No such file", "not a PNG", "over 1048576"):
        assert reason in caplog.text


def test_draft_and_void_are_marked_and_credit_notes_name_their_invoice() -> None:
    assert "Draft: not a request for payment" in render_invoice_html(invoice(status="draft"))
    assert ">Void<" in render_invoice_html(invoice(status="void"))
    credit = invoice(
        kind=DocumentKind.CREDIT_NOTE,
        number="ACME-CN-0001",
        due_date=None,
        credited_invoice="ACME-000042",
        credit_reason="Duplicate <SMS> charges",
        lines=[DocumentLine(K.USAGE, "SMS refund", D(100), D("0.02"), 200)],
        tax=None,
    )
    html = render_invoice_html(credit)
    assert "Credit note" in html and "ACME-CN-0001" in html and "Total credit" in html
    assert "Credits invoice <strong>ACME-000042</strong>" in html
    assert "Duplicate &lt;SMS&gt; charges" in html
    assert "Due date" not in html


def test_no_lines_still_renders() -> None:
    doc = replace(invoice(lines=[], tax=None))
    html = render_invoice_html(doc)
    assert "No charges this period." in html and "0.00 USD" in html


def test_prior_period_adjustments_come_after_the_discount_and_before_tax() -> None:
    """The printed arithmetic: the period's subtotal and discount, then the adjustments (an
    earlier period re-rated in full, not discounted again) in their own table, then tax."""
    lines = usd_lines()
    adjustments = [
        DocumentLine(
            K.PRIOR_PERIOD_ADJUSTMENT,
            "Voice AI minutes: late usage from 01 Sep 2026 to 30 Sep 2026 (+30 minute)",
            D("30"),
            D("0.15"),
            450,
            "voice_minutes",
            "minute",
        ),
        DocumentLine(
            K.PRIOR_PERIOD_ADJUSTMENT,
            "Growth: discount of 01 Sep 2026 to 30 Sep 2026 re-rated with its late usage",
            D(1),
            D("-0.45"),
            -45,
        ),
    ]
    doc = invoice(lines=[*lines[:-1], *adjustments, lines[-1]])
    html = render_invoice_html(doc)
    text = render_email_text(doc)
    assert "Prior-period adjustments: earlier periods re-rated in full" in html
    own = sum(ln.amount_minor for ln in lines if ln.kind not in (K.DISCOUNT, K.TAX))
    order = [
        html.index(f">{label}<")
        for label in ("Subtotal", "Discount 10%", "Prior-period adjustments", "VAT (20%)")
    ]
    assert order == sorted(order)
    assert format_amount(own, "USD") in html  # the period's own subtotal, adjustments apart
    assert "Prior-period adjustments: 4.05 USD" in text
    assert "late usage from 01 Sep 2026" in text
    # the itemised table of the period holds no adjustment
    table = html.split('<table class="lines">', 2)[1]
    assert "late usage" not in table.split("</table>", 1)[0]


def test_tier_lines_read_with_their_range_and_rate() -> None:
    tiers = [
        DocumentLine(K.USAGE, "Voice AI minutes, up to 1,000", D(1000), D("0.15"), 15000, tier=0),
        DocumentLine(
            K.USAGE, "Voice AI minutes, 1,001-5,000", D("12345.50"), D("0.12"), 148146, tier=1
        ),
    ]
    html = render_invoice_html(invoice(lines=tiers, tax=None))
    assert "Voice AI minutes, up to 1,000 at 0.15" in html
    assert "Voice AI minutes, 1,001-5,000 at 0.12" in html
    assert "12,345.50" in html and "1,631.46 USD" in html
    german = render_invoice_html(invoice(lines=tiers, tax=None, partner=branding(locale="de")))
    assert "1,001-5,000 at 0,12" in german and "12.345,50" in german
