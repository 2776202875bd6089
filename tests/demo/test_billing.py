"""`make demo`: the whole job on the demo partner, and a second run that finds nothing new."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.models import InvoiceStatus
from billing.invoicing.service import list_invoices
from demo.billing import demo_month, run_demo
from ledger import trial_balance


def test_demo_month_waits_for_the_grace_period() -> None:
    assert f"{demo_month(datetime(2026, 11, 24, tzinfo=UTC)):%Y-%m}" == "2026-10"
    assert f"{demo_month(datetime(2026, 11, 2, 7, tzinfo=UTC)):%Y-%m}" == "2026-09"
    assert f"{demo_month(datetime(2026, 1, 3, tzinfo=UTC)):%Y-%m}" == "2025-12"


@pytest.mark.slow
def test_the_demo_runs_and_is_idempotent(
    engine: Engine, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(engine)
    first = capsys.readouterr().out
    assert "20 drafts (12 auto-approved)" in first and "issued 20 invoices" in first
    assert "Dispute packs: 20 of 20 invoices add up" in first
    assert "Client portal of BL-000001 (after `python main.py serve`): http" in first
    # The what-if moves the margin down (a dearer wholesale price) and names the command.
    [what_if] = [line for line in first.splitlines() if line.startswith("  margin ")]
    before, after = (Decimal(p) for p in re.findall(r"\(([0-9.]+)%\)", what_if))
    assert after < before
    run_demo(engine)
    second = capsys.readouterr().out
    assert "nothing new" in second and "0 drafts" in second
    invoices = list_invoices(session, "brightline")
    assert len(invoices) == 20 and all(i.status is InvoiceStatus.ISSUED for i in invoices)
    assert trial_balance(session, "brightline").is_balanced
