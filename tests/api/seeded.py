"""A partner with everything the API can show: usage types with a wholesale price that appears
nowhere else (`WHOLESALE_PRICE`), plans, clients with prices, events over two months, an
issued and paid invoice, a credit note, drafts, the price change log, a reconciliation run, and
one key per scope. Used to walk every route of the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.credits import create_credit_note
from billing.payments.manual import record_manual_payment
from billing.pricing.accrual import accrue
from billing.tenants.logos import set_logo
from billing.tenants.models import Scope
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    month_text,
    run_accrual,
    send,
    setup_partner,
)

WHOLESALE_PRICE = "0.0437"
LOGO = Path(__file__).resolve().parents[2] / "examples" / "branding" / "acme.png"


@dataclass(frozen=True)
class Seeded:
    keys: dict[str, str]  # scope name -> key of partner acme; "platform": a platform key
    issued: str  # the number of an issued, partly paid and credited invoice
    credit_note: str  # the number of its credit note
    draft: str  # the id of a draft
    run_id: int
    months: tuple[str, str]  # the issued month and the drafted one, e.g. ("2026-10", "2026-11")


def seed(session: Session) -> Seeded:
    setup_partner(
        session,
        SIMPLE.replace('unit_price = "0.04"', f'unit_price = "{WHOLESALE_PRICE}"'),
        margin_alert_percent=70,
    )
    last = last_month()
    earlier = (last - timedelta(days=1)).replace(day=1)
    send(
        session,
        [
            ("e1", "c1", "voice", "100", at(earlier, 2)),
            ("e2", "c2", "voice", "500", at(earlier, 3)),
        ],
    )
    accrue(session, "acme", datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=1))
    session.commit()
    [issued, *_] = close_and_issue(session, earlier)
    send(
        session,
        [("l1", "c1", "voice", "300", at(last, 1)), ("l2", "c2", "voice", "20", at(last, 2))],
    )
    run_accrual(session)
    result = close_cycles(session, "acme", period=month_text(last))
    session.commit()
    number = str(issued.number)
    record_manual_payment(session, "acme", number, amount="1.00", reference="bank-1")
    credit = create_credit_note(session, "acme", number, "goodwill", by="test")
    now = datetime.now(UTC)
    run = ReconcileRun(
        partner_id="acme",
        period=month_text(earlier),
        period_start=earlier,
        period_end=last - timedelta(days=1),
        started_at=now,
        finished_at=now,
        differences=1,
        summary={
            "wholesale": {"matched": 0, "ours_minor": 2185, "theirs_minor": 2000, "notes": []}
        },
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    session.add(
        ReconcileDifference(
            run_id=run.id,
            kind="wholesale_cost_mismatch",
            severity="warning",
            system="wholesale",
            subject="voice",
            ours="computed cost 21.85",
            theirs="platform bill 20.00",
            amount_minor=185,
            currency="USD",
            action="check",
        )
    )
    set_logo(session, "acme", LOGO.read_bytes())
    keys = {scope.value: make_key(session, "acme", scope) for scope in Scope}
    keys["platform"] = make_key(session, None, Scope.ADMIN)
    session.commit()
    return Seeded(
        keys,
        number,
        credit.note.number,
        str(result.created[0]),
        run.id,
        (month_text(earlier), month_text(last)),
    )
