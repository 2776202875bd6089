"""Books posted the old way (no service periods; accruals of usage only, dated at the client's
period end; base fees, true-ups and discounts booked when the invoice is issued) are re-tagged
by reversing and re-posting: by-period margins then equal the invoices, the trial balance
stays balanced, no posted row changes, and a second run finds nothing to do."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from billing.invoicing.credits import create_credit_note
from billing.invoicing.service import void_invoice
from billing.margins import parse_period, period_figures
from billing.margins.retag import retag_periods
from billing.margins.service import group
from billing.pricing import accrual
from billing.pricing.book import period_window
from billing.rating import BillingPeriod, PeriodStatement
from ledger import JournalEntry, Posting, balances, trial_balance
from ledger.repository import LedgerRepository
from ledger.schemas import EntrySpec
from main import app
from tests.billing.margins.world import (
    PARTNER,
    SEPTEMBER,
    close_and_issue,
    invoiced,
    local,
    run_september,
    send,
)

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def old_way(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The posting rules before periods were recorded (until `.undo()`)."""

    def usage_only(statement: PeriodStatement) -> dict[str, int]:
        return {charge.usage_type: charge.amount for charge in statement.usage}

    def period_end(
        period: BillingPeriod, client_timezone: str, partner_timezone: str, moment: datetime
    ) -> datetime:
        start, end = period_window(period, client_timezone)
        return min(max(moment, start), end - timedelta(microseconds=1))

    original = LedgerRepository.insert_sealed

    def untagged(
        self: LedgerRepository, partner_id: str, specs: Sequence[EntrySpec], *rest: Any
    ) -> None:
        bare = [
            replace(s, postings=tuple(replace(p, service_period=None) for p in s.postings))
            for s in specs
        ]
        original(self, partner_id, bare, *rest)

    monkeypatch.setattr(accrual, "statement_components", usage_only)
    monkeypatch.setattr(accrual, "recognition_moment", period_end)
    monkeypatch.setattr(LedgerRepository, "insert_sealed", untagged)
    yield monkeypatch
    monkeypatch.undo()


def _books_the_old_way(session: Session, old_way: pytest.MonkeyPatch) -> None:
    """September issued, a late event and a credit note; October issued with September's
    adjustments; tokyo's October voided. Then the new code is back."""
    septembers = {i.client_id: i for i in run_september(session)}
    send(session, [("la", "voice", "30", local("America/Los_Angeles", date(2026, 9, 20), 10))])
    create_credit_note(
        session,
        PARTNER,
        septembers["chicago"].invoice_id,
        "goodwill",
        documents=False,
        now=datetime(2026, 10, 20, tzinfo=UTC),
    )
    send(
        session,
        [("tokyo", "voice", "20", local("Asia/Tokyo", date(2026, 10, 3), 12))],
        received_at=datetime(2026, 10, 4, tzinfo=UTC),
    )
    accrual.accrue(session, PARTNER, datetime(2026, 11, 1, 12, tzinfo=UTC))
    session.commit()
    octobers = {
        i.client_id: i
        for i in close_and_issue(session, "2026-10", datetime(2026, 11, 8, 15, tzinfo=UTC))
    }
    void_invoice(session, PARTNER, octobers["tokyo"].invoice_id, "wrong plan")
    session.commit()
    old_way.undo()


def _by_client(session: Session, month: str) -> dict[str, tuple[int, int, int, int]]:
    """client -> (charge, cost, unbilled charge, unbilled cost) by period."""
    now = datetime(2026, 12, 20, tzinfo=UTC)
    cells = period_figures(session, PARTNER, parse_period(month), now).cells
    return {
        row.key: (row.charge, row.cost, row.unbilled_charge, row.unbilled_cost)
        for row in group(cells, lambda c: c.client_id)
    }


def _rows(session: Session) -> list[tuple[Any, ...]]:
    """Every posting, in id order (the comparisons below are of lists: without an order a
    database may return rows in any order, and PostgreSQL does after updates elsewhere)."""
    table = Posting.__table__  # type: ignore[attr-defined]
    return [tuple(r) for r in session.execute(select(table).order_by(table.c.id)).all()]


def test_old_books_retagged_read_as_their_invoices(
    session: Session, old_way: pytest.MonkeyPatch
) -> None:
    _books_the_old_way(session, old_way)
    assert session.scalar(select(func.count()).where(col(Posting.service_period).is_not(None))) == 0
    posted = _rows(session)
    september, october = invoiced(session, SEPTEMBER), invoiced(session, OCTOBER)
    expected_sep = {c: (v["charge"], v["cost"], 0, 0) for c, v in september.items()}
    expected_oct = {c: (v["charge"], v["cost"], 0, 0) for c, v in october.items() if v["charge"]}
    assert expected_sep["la"][0] == 6861 + 405  # its late usage billed in October
    assert "tokyo" not in expected_oct  # voided
    # Before: nothing is read by period (the old books have no periods).
    now = datetime(2026, 12, 20, tzinfo=UTC)
    before = period_figures(session, PARTNER, parse_period("2026-09"), now).cells
    assert {(c.charge, c.cost) for c in before} == {(0, 0)}

    dry = retag_periods(session, PARTNER, apply=False)
    session.rollback()
    assert dry.total > 0 and dry.retagged["accrual"] and dry.retagged["invoice"]
    assert dry.retagged["credit_note"] == 1 and not dry.fallbacks
    assert _rows(session) == posted  # a dry run writes nothing

    done = retag_periods(session, PARTNER, apply=True)
    session.commit()
    assert done.retagged == dry.retagged and done.redated > 0
    assert _by_client(session, "2026-09") == expected_sep
    # tokyo's October invoice was voided: its usage (20 minutes, in its package) costs 0.80
    # and is not invoiced any more.
    assert _by_client(session, "2026-10") == {**expected_oct, "tokyo": (0, 80, 0, 80)}
    assert trial_balance(session, PARTNER).is_balanced
    # No posted row changed: the old rows are all still there, exactly.
    after = _rows(session)
    assert after[: len(posted)] == posted and len(after) > len(posted)
    # Accruals re-dated: la's September usage (booked on 1 October in New York) is September's
    # by date too, in the partner's calendar.
    start = local("America/New_York", SEPTEMBER, 0)
    end = local("America/New_York", OCTOBER, 0)
    usage = sum(
        r.credits - r.debits
        for r in balances(session, PARTNER, start, end, by_client=True)
        if r.account_code.startswith("4000") and r.client_id == "la"
    )
    assert usage == 2000 + 383 + 240  # voice tiers and sms, as accrued before the late event
    again = retag_periods(session, PARTNER, apply=True)
    assert again.total == 0


def test_the_retag_command(session: Session, old_way: pytest.MonkeyPatch) -> None:
    _books_the_old_way(session, old_way)
    runner = CliRunner()
    dry = runner.invoke(app, ["ledger", "retag-periods", "--partner", PARTNER])
    assert dry.exit_code == 0, dry.output
    assert "to re-tag (dry run: nothing was written)" in dry.output
    assert "trial balance: balanced" in dry.output
    count = session.scalar(select(func.count()).select_from(JournalEntry))
    session.rollback()  # end the read snapshot: the command writes through its own engine
    done = runner.invoke(app, ["ledger", "retag-periods", "--partner", PARTNER, "--apply"])
    assert done.exit_code == 0 and " entries re-tagged (" in done.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(JournalEntry)) > (count or 0)
    again = runner.invoke(app, ["ledger", "retag-periods", "--partner", PARTNER, "--apply"])
    assert "0 entries re-tagged" in again.output and "nothing to do" in again.output
    unknown = runner.invoke(app, ["ledger", "retag-periods", "--partner", "nobody"])
    assert unknown.exit_code == 1 and "nobody" in unknown.output
