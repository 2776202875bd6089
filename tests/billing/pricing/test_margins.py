"""Margins read from the books equal the rated figures; clients below the alert are flagged."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import Session
from typer.testing import CliRunner

from billing.pricing import accrue, margins, rate_clients
from main import app
from tests.billing.pricing.helpers import apply_text, event, send

FEB = datetime(2026, 2, 20, 12, tzinfo=UTC)
MAR = datetime(2026, 3, 20, 12, tzinfo=UTC)


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


def test_margins_by_client_equal_the_rated_figures(session: Session) -> None:
    _books(session)
    report = margins(session, "acme", date(2026, 3, 1), date(2026, 3, 31), "client")
    rated = {f.client_id: f for f in rate_clients(session, "acme", MAR)}
    rows = {row.key: row for row in report.rows}
    assert set(rows) == {"alpha", "beta", "gamma"}
    for client, row in rows.items():
        # March holds March usage and, for beta, its period that began 15 February
        if client == "beta":
            continue
        assert (row.charge, row.cost) == (rated[client].usage_total, rated[client].cost_total)
    alpha = rows["alpha"]
    assert alpha.margin == alpha.charge - alpha.cost
    assert alpha.margin_percent == (Decimal(alpha.margin) * 100 / alpha.charge).quantize(
        Decimal("0.01")
    )
    assert rows["gamma"].charge == 0 and rows["gamma"].margin_percent is None
    assert rows["gamma"].flagged and not alpha.flagged
    # beta: one chat within its package (no charge) but a cent of cost
    assert report.flagged_clients == ("beta", "gamma")
    assert report.threshold == Decimal("30")
    [total] = report.totals
    assert total.charge == sum(r.charge for r in report.rows)


def test_margins_by_usage_type_and_period(session: Session) -> None:
    _books(session)
    by_type = margins(session, "acme", date(2026, 2, 1), date(2026, 3, 31), "usage_type")
    by_client = margins(session, "acme", date(2026, 2, 1), date(2026, 3, 31), "client")
    assert {row.key for row in by_type.rows} == {"voice", "sms", "seats", "chat"}
    assert by_type.totals == by_client.totals
    by_month = margins(session, "acme", date(2026, 2, 1), date(2026, 3, 31), "period")
    assert [row.key for row in by_month.rows] == ["2026-02", "2026-03"]
    assert sum(r.charge for r in by_month.rows) == by_client.totals[0].charge
    february = margins(session, "acme", date(2026, 2, 1), date(2026, 2, 28), "client")
    assert {row.key for row in february.rows} == {"alpha", "beta"}


def test_margins_command(session: Session) -> None:
    _books(session)
    runner = CliRunner()
    result = runner.invoke(
        app, ["margins", "-p", "acme", "--from", "2026-03-01", "--to", "2026-03-31"]
    )
    assert result.exit_code == 0, result.output
    assert "! gamma" in result.output
    assert "clients below the alert: beta, gamma" in result.output
    as_json = runner.invoke(
        app,
        ["margins", "-p", "acme", "--by", "usage-type", "--from", "2026-03-01", "--to", "2026-03-31", "--json"],
    )  # fmt: skip
    payload = json.loads(as_json.output)
    assert payload["from"] == "2026-03-01" and payload["group_by"] == "usage_type"
    sms = next(row for row in payload["rows"] if row["key"] == "sms")
    assert isinstance(sms["cost"], int) and (
        sms["margin_percent"] is None or "." in sms["margin_percent"]
    )
    bad = runner.invoke(app, ["margins", "-p", "acme", "--by", "week"])
    assert bad.exit_code != 0
