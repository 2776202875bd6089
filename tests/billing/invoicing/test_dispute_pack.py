"""The dispute pack adds up to every line, and (Hypothesis) for any usage the invoice total is
the live figure's total and the sum of its rounded lines."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.explain import explain_invoice
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice
from billing.pricing.live import live_figures
from config.money import to_minor
from tests.billing.invoicing.builders import TOML, at, last_month, month_text, send, setup_partner

_partners = itertools.count()

USAGE = st.lists(
    st.tuples(
        st.sampled_from(["dental", "bakery", "gym"]),
        st.sampled_from(["voice_minutes", "sms", "calls"]),
        st.integers(min_value=0, max_value=3000),
        st.integers(min_value=0, max_value=99),
        st.integers(min_value=0, max_value=27),
    ),
    max_size=25,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(usage=USAGE)
def test_invoice_equals_live_figure_and_the_pack_adds_up(
    session: Session, usage: list[tuple[str, str, int, int, int]]
) -> None:
    partner = f"p{next(_partners)}"
    setup_partner(session, TOML.replace('id = "acme"', f'id = "{partner}"', 1))
    month = last_month()
    events = [
        (
            f"e{n}",
            client,
            usage_type,
            f"{whole}.{cents:02d}" if usage_type == "voice_minutes" else str(whole),
            at(month, day, hours=n % 24),
        )
        for n, (client, usage_type, whole, cents, day) in enumerate(usage)
    ]
    if events:
        send(session, events, partner=partner)
    result = close_cycles(session, partner, period=month_text(month))
    session.commit()
    repo = InvoiceRepository(session)
    lines = repo.lines(result.created)
    for invoice_id in result.created:
        invoice = get_invoice(session, partner, invoice_id)
        rows = lines[invoice_id]
        assert invoice.total_minor == sum(line.amount_minor for line in rows)
        for line in rows:
            assert to_minor(line.quantity * line.unit_price, invoice.currency) == line.amount_minor
        live = live_figures(
            session, partner, invoice.client_id, datetime.now(UTC), on=invoice.period_start
        )
        assert live.statement.total == invoice.total_minor
        assert live.cost_total == invoice.cost_minor
        explanation = explain_invoice(session, invoice)
        assert explanation.ok, [(line.description, line.check) for line in explanation.lines]
        for usage_check in explanation.usage:
            assert usage_check.events_quantity == usage_check.billed_quantity


def test_tier_boundaries_split_an_event_across_lines(session: Session) -> None:
    """dental (graduated 1000 / 5000): 600 + 600 + 4000 minutes; the second event crosses
    1000 and the third crosses 5000, each split between two lines."""
    setup_partner(session)
    month = last_month()
    send(
        session,
        [
            ("a", "dental", "voice_minutes", "600", at(month, 1)),
            ("b", "dental", "voice_minutes", "600", at(month, 2)),
            ("c", "dental", "voice_minutes", "4000", at(month, 3)),
        ],
    )
    [invoice_id, *_] = close_cycles(
        session, "acme", period=month_text(month), client_id="dental"
    ).created
    explanation = explain_invoice(session, get_invoice(session, "acme", invoice_id))
    assert explanation.ok
    tiers = [line for line in explanation.lines if line.usage_type == "voice_minutes"]
    shares = [[(e.event_id, str(e.share)) for e in line.events] for line in tiers]
    assert shares == [
        [("a", "600.000000"), ("b", "400.000000")],
        [("b", "200.000000"), ("c", "3800.000000")],
        [("c", "200.000000")],
    ]
