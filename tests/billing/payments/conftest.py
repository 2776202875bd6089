"""An issued invoice to pay: c1, 100 minutes at 0.10 + base fee 20.00 + VAT 10% = 33.00."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from billing.invoicing.models import Invoice
from ledger.repository import LedgerRepository
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    run_accrual,
    send,
    setup_partner,
)

PAID_AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def invoice(session: Session) -> Invoice:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    [issued] = close_and_issue(session, month, client_id="c1")
    assert issued.total_minor == 3300
    return issued


def legs(session: Session, entry_id: int | None) -> dict[str, int]:
    """Account code -> debit-positive amount of one entry."""
    assert entry_id is not None
    out: dict[str, int] = {}
    for posting, account in LedgerRepository(session).postings_of([entry_id]):
        out[account.code] = out.get(account.code, 0) + posting.amount
    return out
