"""Worked examples: a partner in New York, clients in Los Angeles, Chicago and Tokyo. September
is closed and issued a week later; its margins per client, per usage type and for the portfolio
equal the invoices to the cent, and October is empty until it has usage. Then a late event, a
credit note and a void each move only the period they belong to.

September's invoices (by hand):
- la (Studio, 10% discount, 9.5% tax): base 50.00; voice 125.5 min graduated: 100 x 0.20 =
  20.00 + 25.5 x 0.15 = 3.825 -> 3.83; sms 120 volume at 0.02 = 2.40; subtotal 76.23;
  discount 7.623 -> -7.62; net of tax 68.61. Cost: 125.5 x 0.04 = 5.02 + 120 x 0.0079 =
  0.948 -> 0.95: 5.97.
- chicago (Floor, 10.00 minimum): sms 100 x 0.05 = 5.00 + true-up 5.00 = 10.00; cost 0.79.
- tokyo (Pack): base 20.00; voice 170 min, 100 included, 70 over in blocks of 50 = 2 x
  6.00 = 12.00; net of tax 32.00; cost 170 x 0.04 = 6.80.
Portfolio: 110.61 of charge for 13.56 of cost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from billing.invoicing.credits import CreditRequest, create_credit_note
from billing.invoicing.models import InvoiceLineKind
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice, void_invoice
from billing.margins import PeriodSelection, margins
from billing.pricing.accrual import accrue
from ledger import balances, trial_balance
from tests.billing.margins.world import (
    ISSUED_AT,
    PARTNER,
    SEPTEMBER,
    close_and_issue,
    figures,
    invoiced,
    local,
    rows_by,
    run_september,
    send,
    unbilled_receivable,
)

OCTOBER = date(2026, 10, 1)
SEPT_EXPECTED = {
    "la": (6861, 597),
    "chicago": (1000, 79),
    "tokyo": (3200, 680),
}


def _by_client(session: Session, month: str, now: datetime) -> dict[str, tuple[int, int, int]]:
    """client -> (charge, cost, unbilled charge)."""
    rows = rows_by(figures(session, month, now).cells, "client")
    return {key: (r.charge, r.cost, r.unbilled_charge) for (key, _), r in rows.items()}


def _ny_month_revenue(session: Session, first: date) -> int:
    """Revenue read by effective date over a calendar month in New York (the old reading)."""
    start = local("America/New_York", first, 0)
    end = local("America/New_York", (first + timedelta(days=32)).replace(day=1), 0)
    return sum(
        r.credits - r.debits
        for r in balances(session, PARTNER, start, end)
        if r.account_type == "revenue"
    )


def test_a_month_issued_a_week_later_reads_as_its_invoices(session: Session) -> None:
    issued = run_september(session)
    assert {i.client_id: (i.total_minor - i.tax_minor, i.cost_minor) for i in issued} == (
        {client: charge_cost for client, charge_cost in SEPT_EXPECTED.items()}
    )
    now = ISSUED_AT + timedelta(hours=1)
    september = figures(session, "2026-09", now)
    clients = rows_by(september.cells, "client")
    assert {key: (r.charge, r.cost) for (key, _), r in clients.items()} == SEPT_EXPECTED
    assert all(r.unbilled_charge == 0 and r.unbilled_cost == 0 for r in clients.values())
    # per usage type: the invoices' lines of each usage type; base fees, true-ups, discounts
    types = {key: r.charge for (key, _), r in rows_by(september.cells, "usage_type").items()}
    assert types == {"voice": 2000 + 383 + 1200, "sms": 240 + 500, "-": 5000 - 762 + 500 + 2000}
    [(_, total)] = rows_by(september.cells, "total").items()
    assert (total.charge, total.cost) == (11061, 1356)
    # the same, read from the invoices themselves
    from_invoices = invoiced(session, SEPTEMBER)
    assert {c: (v["charge"], v["cost"]) for c, v in from_invoices.items()} == SEPT_EXPECTED
    # the books by effective date in New York agree too: accruals are dated inside each
    # client's September and New York's; issuing on 8 October only reclassified them
    assert _ny_month_revenue(session, SEPTEMBER) == 11061
    assert _ny_month_revenue(session, OCTOBER) == 0
    assert all(v == 0 for v in unbilled_receivable(session).values())
    # October is empty until it has usage
    assert figures(session, "2026-10", now).cells == ()
    send(
        session, [("la", "voice", "10", local("America/Los_Angeles", OCTOBER, 9))], received_at=now
    )
    october = margins(session, PARTNER, PeriodSelection(OCTOBER, date(2026, 10, 31)), now=now)
    # LA's open period: live figures, base fee included (50.00 + 2.00) less 10%
    assert [(r.key, r.charge, r.unbilled_charge) for r in october.rows] == [("la", 4680, 4680)]
    assert _by_client(session, "2026-09", now) == {
        c: (*v, 0) for c, v in SEPT_EXPECTED.items()
    }  # September did not move
    assert trial_balance(session, PARTNER).is_balanced


def test_late_event_credit_note_and_void_move_only_their_periods(session: Session) -> None:
    septembers = {i.client_id: i for i in run_september(session)}
    now = ISSUED_AT + timedelta(days=1)
    before = _by_client(session, "2026-09", now)
    # Late events for September arrive after its invoices were issued.
    send(
        session,
        [
            ("chicago", "sms", "80", local("America/Chicago", date(2026, 9, 20), 10)),
            ("la", "voice", "30", local("America/Los_Angeles", date(2026, 9, 20), 10)),
        ],
    )
    late = _by_client(session, "2026-09", now)
    # chicago: 180 sms = 9.00 and a 1.00 true-up to the 10.00 minimum: nothing more to bill,
    # but the 80 messages cost 1.42 - 0.79 = 0.63 more. la: voice tier 2 3.83 -> 8.33 and the
    # discount 7.62 -> 8.07: 4.05 more, unbilled; cost 6.22 - 5.02 = 1.20 more.
    assert late["chicago"] == (1000, 79 + 63, 0)
    assert late["la"] == (6861 + 405, 597 + 120, 405)
    assert late["tokyo"] == before["tokyo"]
    september = rows_by(figures(session, "2026-09", now).cells, "client")
    assert september[("chicago", "USD")].unbilled_cost == 63
    assert figures(session, "2026-10", now).cells == ()  # October did not move
    # October closes: its invoices carry September's adjustments, September's own period.
    october_issue = datetime(2026, 11, 8, 15, tzinfo=UTC)
    accrue(session, PARTNER, datetime(2026, 11, 1, 12, tzinfo=UTC))
    session.commit()
    octobers = {i.client_id: i for i in close_and_issue(session, "2026-10", october_issue)}
    # la's October (docs/invoice-arithmetic.md): base fee 50.00 - 5.00 discount, then the
    # adjustments +4.50 and -0.45, then 9.5% tax on 49.05 = 4.66; total 53.71.
    assert (octobers["la"].tax_minor, octobers["la"].total_minor) == (466, 5371)
    lines = InvoiceRepository(session).lines([octobers["chicago"].invoice_id])
    adjustments = [
        (ln.adjusts, ln.amount_minor)
        for ln in lines[octobers["chicago"].invoice_id]
        if ln.kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
    ]
    assert adjustments == [(InvoiceLineKind.USAGE, 400), (InvoiceLineKind.MINIMUM_TRUE_UP, -400)]
    now = october_issue + timedelta(hours=1)
    after = _by_client(session, "2026-09", now)
    assert after == {**late, "la": (6861 + 405, 597 + 120, 0)}  # now invoiced, same figures
    assert invoiced(session, SEPTEMBER)["la"]["charge"] == 6861 + 405
    october = _by_client(session, "2026-10", now)
    # October holds October's own lines only: chicago's 10.00 minimum, tokyo's base fee;
    # la and tokyo had no October usage, la's October is its base fee less 10%.
    assert october == {"la": (4500, 0, 0), "chicago": (1000, 0, 0), "tokyo": (2000, 0, 0)}
    # A credit note on la's September invoice reduces September only: 5.00 of its voice
    # line and the 10% discount share, 4.50 net of tax.
    la_september = get_invoice(session, PARTNER, septembers["la"].invoice_id)
    voice = next(
        ln
        for ln in InvoiceRepository(session).lines([la_september.invoice_id])[
            la_september.invoice_id
        ]
        if ln.usage_type == "voice" and ln.tier == 0
    )
    create_credit_note(
        session,
        PARTNER,
        la_september.invoice_id,
        "calls dropped",
        lines=[CreditRequest(voice.position, 500)],
        documents=False,
        now=now,
    )
    session.commit()
    credited = _by_client(session, "2026-09", now)
    assert credited == {**after, "la": (6861 + 405 - 450, 597 + 120, 0)}
    assert _by_client(session, "2026-10", now) == october
    # Voiding tokyo's October invoice takes its October away; September stays.
    void_invoice(session, PARTNER, octobers["tokyo"].invoice_id, "sent by mistake", now=now)
    session.commit()
    assert _by_client(session, "2026-10", now) == {k: v for k, v in october.items() if k != "tokyo"}
    assert _by_client(session, "2026-09", now) == credited
    # Books and invoices agree: what is neither invoiced nor late sits in unbilled receivable.
    assert all(v == 0 for v in unbilled_receivable(session).values())
    assert trial_balance(session, PARTNER).is_balanced
