"""`make demo` ends with a reconciliation against the sandboxes after planting four problems
(an invoice deleted in QuickBooks, a payment only in Xero, a late event, a wholesale bill line
that disagrees): the report shows exactly those, and the report e-mail goes to finance with the
CSV of every difference. A second demo run, against fresh sandboxes, reports the same four.
After the demo its sandboxes are gone: the commands its last line prints still work as printed,
and name systems and clients, never a generated id."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from config.settings import get_settings
from connectors.connections.models import Connection, ConnectionStatus
from demo.billing import PARTNER, demo_month, run_demo
from demo.reconcile import EXPECTED_KINDS
from demo.sync import run_sandbox_sync
from main import app


def _reports(mail_dir: Path) -> list[bytes]:
    found = []
    for path in sorted(mail_dir.rglob("*.eml")):
        raw = path.read_bytes()
        if b"econciliation" in raw:
            found.append(raw)
    return found


@pytest.mark.slow
def test_the_demo_reconciliation_reports_exactly_the_planted_problems(engine: Engine) -> None:
    month = demo_month(datetime.now(UTC))
    lines: list[str] = []
    run_demo(engine)
    arrived = run_sandbox_sync(engine, PARTNER, month, lines.append, reconcile_after=True)
    assert arrived == {"quickbooks": 20, "xero": 20}
    assert any("4 differences, exactly the planted problems" in line for line in lines), lines
    for title in (
        "Invoice missing in the accounting system",
        "Different status in the accounting system",
        "Late usage, billed on the next invoice",
        "Platform bill differs from the computed cost",
    ):
        assert any(title in line for line in lines), title

    [report] = _reports(get_settings().mail_dir)
    message = message_from_bytes(report)
    assert "finance@brightline.example" in str(message["To"])
    attachments = [part for part in message.walk() if part.get_filename()]
    assert [part.get_filename().endswith(".csv") for part in attachments] == [True]
    csv_text = attachments[0].get_payload(decode=True).decode()
    assert sum(kind in csv_text for kind in EXPECTED_KINDS) == len(EXPECTED_KINDS)
    assert "QuickBooks Online: Brightline AI Agency (sandbox)" in csv_text

    again: list[str] = []
    run_sandbox_sync(engine, PARTNER, month, again.append, reconcile_after=True)
    assert any("4 differences, exactly the planted problems" in line for line in again), again


@pytest.mark.slow
def test_the_last_hint_works_after_the_demo(engine: Engine) -> None:
    month = demo_month(datetime.now(UTC))
    lines: list[str] = []
    run_demo(engine)
    run_sandbox_sync(engine, PARTNER, month, lines.append, reconcile_after=True)
    hint = lines[-1]
    assert hint.lstrip().startswith("afterwards:"), lines[-3:]
    with Session(engine) as session:  # the sandboxes stopped: nothing may try to reach them
        sandboxes = session.exec(select(Connection).where(Connection.partner_id == PARTNER)).all()
        ids = {c.id for c in sandboxes}
        assert ids and {c.status for c in sandboxes} == {ConnectionStatus.DISCONNECTED}
    commands = re.findall(r"python main\.py ([a-z][^;.]*?\d{4}-\d{2}|reconcile show \d+)", hint)
    assert len(commands) == 2, hint
    outputs = []
    for command in commands:
        result = CliRunner().invoke(app, shlex.split(command))
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    shown, again = outputs
    assert "Differences: 4 (1 error to act on, 3 warnings to check)" in shown
    assert "QuickBooks Online: Brightline AI Agency (sandbox)" in shown
    # Reconciled again: the books still show the late usage and the platform bill; the
    # accounting sandboxes, gone, are left out rather than reported unreadable by an id.
    assert "Differences: 2 (0 errors to act on, 2 warnings to check)" in again
    assert "Late usage, billed on the next invoice" in again and "Could not read" not in again
    for output in outputs:
        assert not any(connection_id in output for connection_id in ids)
        assert not re.search(r"\b[0-9a-f]{32}\b", output)

    # One cost for the month in both views: the report's computed wholesale cost is the cost
    # `margins --period` shows, the late event's included (the platform bills every event).
    period = re.search(r"--period (\d{4}-\d{2})", hint)
    assert period is not None, hint
    margins = CliRunner().invoke(app, ["margins", "--partner", PARTNER, "--period", period[1]])
    assert margins.exit_code == 0, margins.output
    totals = [line for line in margins.output.splitlines() if line.split()[:1] == ["total"]]
    assert len(totals) == 1, margins.output
    total = totals[0]
    margin_cost = re.findall(r"[\d,]+\.\d\d USD", total)[2]  # charge, unbilled, cost
    [bill_row] = [  # the systems table's row (the difference's "System:" line has no amounts)
        line
        for line in shown.splitlines()
        if line.strip().startswith("Platform wholesale bill") and "USD" in line
    ]
    ours, theirs = re.findall(r"[\d,]+\.\d\d USD", bill_row)
    assert ours == margin_cost
    assert ours != theirs  # the planted surplus on one usage type
