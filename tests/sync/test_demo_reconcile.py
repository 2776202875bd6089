"""`make demo` ends with a reconciliation against the sandboxes after planting four problems
(an invoice deleted in QuickBooks, a payment only in Xero, a late event, a wholesale bill line
that disagrees): the report shows exactly those, and the report e-mail goes to finance with the
CSV of every difference. A second demo run, against fresh sandboxes, reports the same four."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import Engine

from billing.invoicing.demo import PARTNER, demo_month, run_demo
from config.settings import get_settings
from sync.demo import run_sandbox_sync
from sync.demo_reconcile import EXPECTED_KINDS


def _reports(mail_dir: Path) -> list[bytes]:
    found = []
    for path in sorted(mail_dir.rglob("*.eml")):
        raw = path.read_bytes()
        if b"econciliation" in raw:
            found.append(raw)
    return found


def test_the_demo_reconciliation_reports_exactly_the_planted_problems(engine: Engine) -> None:
    month = demo_month(datetime.now(UTC))
    lines: list[str] = []
    run_demo(engine)
    arrived = run_sandbox_sync(engine, PARTNER, month, lines.append, reconcile_after=True)
    assert arrived == {"quickbooks": 20, "xero": 20}
    assert any("4 differences, exactly the planted problems" in line for line in lines), lines
    for kind in EXPECTED_KINDS:
        assert any(f"] {kind} " in line for line in lines), kind

    [report] = _reports(get_settings().mail_dir)
    message = message_from_bytes(report)
    assert "finance@brightline.example" in str(message["To"])
    attachments = [part for part in message.walk() if part.get_filename()]
    assert [part.get_filename().endswith(".csv") for part in attachments] == [True]
    csv_text = attachments[0].get_payload(decode=True).decode()
    assert sum(kind in csv_text for kind in EXPECTED_KINDS) == len(EXPECTED_KINDS)

    again: list[str] = []
    run_sandbox_sync(engine, PARTNER, month, again.append, reconcile_after=True)
    assert any("4 differences, exactly the planted problems" in line for line in again), again
