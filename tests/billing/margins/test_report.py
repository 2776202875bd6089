"""Margins group one computation: clients, usage types and periods add up to the same totals;
an open period is its live figures, a closed period the books; clients under the alert are
flagged; the command and its selection."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from billing.margins import PeriodSelection, margins, parse_period
from billing.margins.cli import selection_of
from billing.pricing import accrue, rate_clients
from main import app
from tests.billing.pricing.helpers import apply_text, event, send

FEB = datetime(2026, 2, 20, 12, tzinfo=UTC)
MAR = datetime(2026, 3, 20, 12, tzinfo=UTC)
LATER = datetime(2026, 6, 1, tzinfo=UTC)
MARCH = PeriodSelection(date(2026, 3, 1), date(2026, 3, 31))


def _books(session: Session) -> None:
    apply_text(session, "acme", now=FEB)
    feb = datetime(2026, 2, 17, tzinfo=UTC)  # alpha's February, beta's period from the 15th
    send(
        session,
        "acme",
        [event("f1", "alpha", "voice", "300", feb), event("f2", "beta", "sms", "100", feb)],
        received_at=FEB,
    )
    accrue(session, "acme", FEB)
    mar = datetime(2026, 3, 16, tzinfo=UTC)
    send(
        session,
        "acme",
        [
            event("m1", "alpha", "voice", "40.25", mar),
            event("m2", "alpha", "seats", "3", mar),
            event("m3", "gamma", "sms", "500", mar),  # gamma's own plan has no sms price
            event("m4", "beta", "chat", "1", mar),
        ],
        received_at=MAR,
    )
    accrue(session, "acme", MAR)
    session.commit()


def test_open_periods_are_the_live_figures_and_closed_ones_the_books(session: Session) -> None:
    _books(session)
    live = margins(session, "acme", MARCH, "client", now=MAR)
    rated = {f.client_id: f for f in rate_clients(session, "acme", MAR, used_only=True)}
    rows = {row.key: row for row in live.rows}
    assert set(rows) == {"alpha", "beta", "gamma"}
    for client, row in rows.items():
        # the statement net of tax: usage, base fee, minimum true-up, discount
        figures = rated[client]
        assert (row.charge, row.cost) == (figures.statement.taxable, figures.cost_total)
        assert row.unbilled_charge == row.charge  # nothing is invoiced yet
    assert live.open_periods == 3
    # Months later, with nothing invoiced, the same periods read from the books are the same:
    # accrual recognised exactly the live figures.
    booked = margins(session, "acme", MARCH, "client", now=LATER)
    assert booked.rows == live.rows and booked.open_periods == 0
    alpha = rows["alpha"]
    assert alpha.margin == alpha.charge - alpha.cost
    assert alpha.margin_percent == (Decimal(alpha.margin) * 100 / alpha.charge).quantize(
        Decimal("0.01")
    )
    # gamma: 10.00 base fee, 500 sms of cost it is not charged for: 10.00 - 3.95
    assert (rows["gamma"].charge, rows["gamma"].cost) == (1000, 395)
    assert live.threshold == Decimal("30")
    [total] = live.totals
    assert total.charge == sum(r.charge for r in live.rows)


def test_usage_types_and_periods_add_up_to_the_clients(session: Session) -> None:
    _books(session)
    both = PeriodSelection(date(2026, 2, 1), date(2026, 3, 31))
    by_type = margins(session, "acme", both, "usage_type", now=LATER)
    by_client = margins(session, "acme", both, "client", now=LATER)
    assert {row.key for row in by_type.rows} == {
        "voice",
        "sms",
        "seats",
        "chat",
        "(no usage type)",
    }
    assert by_type.totals == by_client.totals
    by_month = margins(session, "acme", both, "period", now=LATER)
    assert [row.key for row in by_month.rows] == ["2026-02", "2026-03"]
    assert sum(r.charge for r in by_month.rows) == by_client.totals[0].charge
    # beta's period starting 15 February is February's, whatever day its usage was booked
    february = margins(session, "acme", parse_period("2026-02"), "client", now=LATER)
    assert {row.key for row in february.rows} == {"alpha", "beta"}


def test_clients_under_the_threshold_are_flagged(session: Session) -> None:
    apply_text(session, "acme", now=FEB)
    mar = datetime(2026, 3, 16, tzinfo=UTC)
    send(session, "acme", [event("g", "gamma", "sms", "3000", mar)], received_at=MAR)
    accrue(session, "acme", MAR)
    session.commit()
    report = margins(session, "acme", MARCH, "client", now=MAR)
    [gamma] = report.rows
    # 10.00 base fee against 3000 sms of cost (23.70): a negative margin
    assert gamma.flagged and report.flagged_clients == ("gamma",)
    assert gamma.margin_percent is not None and gamma.margin_percent < 0


def test_the_selection_of_a_range_or_a_month() -> None:
    today = date(2026, 12, 6)
    assert selection_of(None, None, None, today) == PeriodSelection(
        date(2026, 12, 1), date(2026, 12, 31)
    )
    assert selection_of("2026-11", None, None, today) == selection_of(
        None, date(2026, 11, 1), date(2026, 11, 30), today
    )
    assert parse_period("2026-02").last == date(2026, 2, 28)
    with pytest.raises(ValueError, match="period: '2026-13' is not a month"):
        parse_period("2026-13")
    with pytest.raises(ValueError, match="not both"):
        selection_of("2026-11", date(2026, 11, 1), None, today)
    with pytest.raises(ValueError, match="ends"):
        PeriodSelection(date(2026, 11, 30), date(2026, 11, 1))


def test_margins_command(session: Session) -> None:
    _books(session)
    runner = CliRunner()
    result = runner.invoke(app, ["margins", "-p", "acme", "--period", "2026-03"])
    assert result.exit_code == 0, result.output
    assert "Margins of acme, period 2026-03, by client" in result.output
    assert "  gamma " in result.output and "10.00 USD" in result.output
    ranged = runner.invoke(
        app, ["margins", "-p", "acme", "--from", "2026-03-01", "--to", "2026-03-31"]
    )
    assert ranged.exit_code == 0 and ranged.output.split("\n")[1:] == result.output.split("\n")[1:]
    as_json = runner.invoke(
        app, ["margins", "-p", "acme", "--by", "usage-type", "--period", "2026-03", "--json"]
    )
    payload = json.loads(as_json.output)
    assert payload["from"] == "2026-03-01" and payload["group_by"] == "usage_type"
    assert payload["period"] == "2026-03"
    sms = next(row for row in payload["rows"] if row["key"] == "sms")
    assert isinstance(sms["cost"], int) and (
        sms["margin_percent"] is None or "." in sms["margin_percent"]
    )
    assert sms["invoiced_charge"] + sms["unbilled_charge"] == sms["charge"]
    bad = runner.invoke(app, ["margins", "-p", "acme", "--by", "week"])
    assert bad.exit_code != 0
    month = runner.invoke(app, ["margins", "-p", "acme", "--period", "March"])
    assert month.exit_code == 1 and "period: 'March' is not a month" in month.output
