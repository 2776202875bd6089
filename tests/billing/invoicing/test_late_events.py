"""Grace period and late usage: events that arrive after their period's invoice was issued are
billed on the next invoice as prior-period adjustments, once, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.closing import close_cycles, refresh_draft
from billing.invoicing.explain import explain_invoice
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceLineKind
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices, get_invoice
from billing.pricing.book import client_period
from ledger import trial_balance
from tests.billing.invoicing.builders import (
    at,
    balance,
    close_and_issue,
    last_month,
    month_text,
    run_accrual,
    send,
    setup_partner,
)


def test_grace_period_holds_the_cycle_until_it_has_passed(session: Session) -> None:
    setup_partner(session, grace_period_hours=48)
    month = last_month()
    end = datetime.combine(client_period(1, month).end, datetime.min.time(), UTC)
    early = close_cycles(session, "acme", end + timedelta(hours=47), period=month_text(month))
    assert not early.created and len(early.not_due) == 3
    # Without --period: the last period is not due yet, the one before has no usage or plan
    # days (clients were created today), so nothing is drafted.
    assert not close_cycles(session, "acme", end + timedelta(hours=47)).created
    on_time = close_cycles(session, "acme", end + timedelta(hours=48), period=month_text(month))
    assert len(on_time.created) == 3
    session.commit()


def test_exactly_once(session: Session) -> None:
    setup_partner(session)
    month = last_month()
    first = close_cycles(session, "acme", period=month_text(month))
    session.commit()
    assert len(first.created) == 3
    again = close_cycles(session, "acme", period=month_text(month))
    assert not again.created and again.already_closed == 3
    due = close_cycles(session, "acme")  # the due periods: the same ones
    assert not due.created


def _late_setup(session: Session) -> tuple[str, datetime]:
    """dental (graduated voice: 0.15 up to 1000, 0.12 to 5000) used 900 minutes; its October
    invoice is issued; then 300 more minutes of that month arrive."""
    setup_partner(session)
    month = last_month()
    send(session, [("v1", "dental", "voice_minutes", "900", at(month, 3))])
    run_accrual(session)
    [october] = close_and_issue(session, month, client_id="dental")
    send(session, [("late1", "dental", "voice_minutes", "300", at(month, 27))])
    run_accrual(session)
    next_start = client_period(1, month).end
    next_close = datetime.combine(client_period(1, next_start).end, datetime.min.time(), UTC)
    return str(october.number), next_close + timedelta(hours=25)  # after the grace period


def test_late_usage_goes_on_the_next_invoice(session: Session) -> None:
    october, when = _late_setup(session)
    result = close_cycles(session, "acme", when, client_id="dental")
    session.commit()
    assert result.adjustments == 2
    [draft_id] = result.created
    lines = InvoiceRepository(session).lines([draft_id])[draft_id]
    adjustment, discount = [
        ln for ln in lines if ln.kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
    ]
    # 900 -> 1200 minutes: 100 more at 0.15 and 200 at 0.12 = 39.00, the change in charge; the
    # re-rated period's 10% discount grows by 3.90 (23.40 -> 27.30).
    assert adjustment.amount_minor == 3900 and discount.amount_minor == -390
    assert adjustment.usage_type == "voice_minutes"
    assert adjustment.adjusts is InvoiceLineKind.USAGE
    assert discount.adjusts is InvoiceLineKind.DISCOUNT and discount.usage_type is None
    assert {adjustment.origin_period_start, discount.origin_period_start} == {last_month()}
    # The adjustment comes after this period's discount (not discounted twice) and is taxed
    # (8.25%) with this invoice.
    invoice = get_invoice(session, "acme", draft_id)
    assert invoice.total_minor == sum(ln.amount_minor for ln in lines)
    kinds = [ln.kind for ln in lines]
    assert (
        kinds.index(InvoiceLineKind.DISCOUNT)
        < kinds.index(InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT)
        < kinds.index(InvoiceLineKind.TAX)
    )
    # Refreshing the draft finds the same adjustment, not a second one.
    amounts = [ln.amount_minor for ln in lines]
    position = adjustment.position
    refreshed = refresh_draft(session, "acme", draft_id, when)
    session.expire_all()
    again = InvoiceRepository(session).lines([draft_id])[draft_id]
    assert [ln.amount_minor for ln in again] == amounts
    assert refreshed.total_minor == invoice.total_minor
    # Issue: the late usage accrued into unbilled is cleared; the books balance.
    approve_invoices(session, "acme", by="test")
    [issued] = issue_invoices(session, "acme", [draft_id], documents=False).invoices
    session.commit()
    assert balance(session, "1150") == 0
    assert balance(session, "4000.voice_minutes") == -(13500 + 3900)
    assert balance(session, "4800") == 2340 + 390 + invoice.discount_minor * -1
    assert trial_balance(session, "acme").is_balanced
    # The dispute pack shows the late event behind the adjustment.
    explanation = explain_invoice(session, issued)
    assert explanation.ok
    line = next(ln for ln in explanation.lines if ln.position == position)
    assert [e.event_id for e in line.events] == ["late1"]
    # The October invoice itself stays as issued; its pack says one event came later.
    old = explain_invoice(session, get_invoice(session, "acme", october))
    voice = next(u for u in old.usage if u.usage_type == "voice_minutes")
    assert old.ok and voice.later_events == 1
    # Nothing is billed twice: a third cycle has no adjustment.
    third = close_cycles(session, "acme", when + timedelta(days=31), client_id="dental")
    assert third.adjustments == 0


def test_a_negative_correction_after_issue_is_credited_on_the_next_invoice(
    session: Session,
) -> None:
    setup_partner(session)
    month = last_month()
    send(session, [("v1", "bakery", "voice_minutes", "100", at(month, 3))])
    close_and_issue(session, month, client_id="bakery")
    from billing.metering.service import ingest

    fix = {
        "event_id": "fix1",
        "client": "bakery",
        "usage_type": "voice_minutes",
        "quantity": "-40",
        "occurred_at": at(month, 3),
        "adjusts": "v1",
    }
    assert not ingest(session, "acme", [fix]).rejections
    session.commit()
    next_close = datetime.combine(
        client_period(1, client_period(1, month).end).end, datetime.min.time(), UTC
    )
    result = close_cycles(session, "acme", next_close + timedelta(hours=25), client_id="bakery")
    [draft_id] = result.created
    lines = InvoiceRepository(session).lines([draft_id])[draft_id]
    [adjustment] = [ln for ln in lines if ln.kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT]
    assert adjustment.amount_minor == -40 * 18  # 40 blocks of a minute at 0.18
    assert adjustment.quantity == -40 and adjustment.unit_price == Decimal("0.18")
