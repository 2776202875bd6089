"""An issued invoice cannot be changed, not even by raw SQL; billing events are immutable."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.credits import create_credit_note
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    month_text,
    send,
    setup_partner,
)

REFUSED = [
    "UPDATE invoice SET total_minor = total_minor + 1 WHERE id = :id",
    "UPDATE invoice SET number = 'X-1' WHERE id = :id",
    "UPDATE invoice SET due_at = NULL WHERE id = :id",
    "UPDATE invoice SET status = 'draft' WHERE id = :id",
    "DELETE FROM invoice WHERE id = :id",
    "UPDATE invoice_line SET amount_minor = 0 WHERE invoice_id = :id",
    "DELETE FROM invoice_line WHERE invoice_id = :id",
    "INSERT INTO invoice_line (invoice_id, position, kind, description, quantity, unit_price, "
    "amount_minor, cost_minor) VALUES (:id, 99, 'usage', 'sneaky', '1', '1', 100, 0)",
    "UPDATE invoice_usage SET charge_minor = 0 WHERE invoice_id = :id",
    "DELETE FROM invoice_usage WHERE invoice_id = :id",
    "UPDATE billing_event SET payload = '{}'",
    "DELETE FROM billing_event",
    "UPDATE credit_note SET total_minor = 1",
    "DELETE FROM credit_note_line",
]


@pytest.fixture
def invoice_id(session: Session) -> int:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    [invoice] = close_and_issue(session, month, client_id="c1")
    create_credit_note(session, "acme", invoice.invoice_id, "goodwill", documents=False)
    session.commit()
    return invoice.invoice_id


@pytest.mark.parametrize("statement", REFUSED)
def test_raw_sql_cannot_change_an_issued_invoice(
    engine: Engine, invoice_id: int, statement: str
) -> None:
    with pytest.raises(DatabaseError), engine.begin() as conn:
        conn.execute(text(statement), {"id": invoice_id})


def test_payment_state_may_still_move(engine: Engine, invoice_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE invoice SET amount_paid_minor = 100, version = version + 1 WHERE id = :id"
            ),
            {"id": invoice_id},
        )


def test_a_voided_invoice_is_final(engine: Engine, session: Session) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    [invoice] = close_and_issue(session, month, client_id="c2")
    from billing.invoicing.service import void_invoice

    void_invoice(session, "acme", invoice.invoice_id, "test")
    session.commit()
    with pytest.raises(DatabaseError), engine.begin() as conn:
        conn.execute(
            text("UPDATE invoice SET status = 'issued' WHERE id = :id"), {"id": invoice.id}
        )


def test_drafts_can_be_changed(engine: Engine, session: Session) -> None:
    setup_partner(session, SIMPLE)
    result = close_cycles(session, "acme", period=month_text(last_month()))
    session.commit()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE invoice_line SET description = 'edited' WHERE invoice_id = :id"),
            {"id": result.created[0]},
        )
