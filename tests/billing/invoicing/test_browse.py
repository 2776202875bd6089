"""The invoices page's list (`browse_invoices`): every filter, alone and together, and paging.

Three hundred invoices of two clients over many periods, in every state, paid, partly paid,
overdue, with outbox rows in every sync state and a reconciliation that found some missing.
The reference is the same question asked of the rows in Python; pages are read to the end.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from billing.invoicing.browse_repository import (
    COLLECTIBLE,
    INVOICE_OPS,
    MISSING_KIND,
    OPEN_STATUSES,
    BrowseFilter,
    PaymentState,
    SyncState,
    browse_invoices,
)
from billing.invoicing.margin import invoice_margin
from billing.invoicing.models import (
    ISSUED_STATES,
    BillingEvent,
    BillingEventKind,
    Invoice,
    InvoiceStatus,
)
from sync.models import OutboxOp, OutboxRow, OutboxStatus
from sync.reconcile.kinds import KINDS
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from tests.billing.invoicing.builders import SIMPLE, setup_partner

TODAY = date(2026, 12, 6)
MOMENT = datetime(2026, 12, 6, 12, tzinfo=UTC)
COUNT = 300


def test_the_copied_names_match_sync() -> None:
    assert set(INVOICE_OPS) == {OutboxOp.INVOICE_PUSH.value, OutboxOp.INVOICE_VOID.value}
    assert MISSING_KIND in KINDS
    assert {s.value for s in SyncState} - {"missing"} <= {s.value for s in OutboxStatus}


def _world(session: Session) -> tuple[list[Invoice], dict[int, set[str]], set[int]]:
    """The invoices, each one's outbox states, and the ids the latest run found missing."""
    setup_partner(session, SIMPLE)  # with clients c1 and c2
    rng = random.Random(5)
    statuses = [s for s in InvoiceStatus]
    invoices: list[Invoice] = []
    for n in range(COUNT):
        status = rng.choice(statuses)
        start = date(2020, 1, 1) + timedelta(days=n // 2 * 9)
        total = rng.choice([0, 1_000, 25_000, 99_999])
        paid = rng.choice([0, total // 2, total]) if status in ISSUED_STATES else 0
        issued = status not in OPEN_STATUSES
        invoices.append(
            Invoice(
                partner_id="acme",
                client_id="c1" if n % 2 else "c2",
                number=f"ACME-{n:05d}" if issued else None,
                status=status,
                currency="USD",
                period_start=start,
                period_end=start + timedelta(days=8),
                period_start_at=datetime.combine(start, datetime.min.time(), UTC),
                period_end_at=datetime.combine(start + timedelta(days=9), datetime.min.time(), UTC),
                timezone="UTC",
                total_minor=total,
                tax_minor=total // 10,
                amount_paid_minor=paid,
                credited_minor=rng.choice([0, 0, 0, total - paid]),
                cost_minor=total // 3,
                cost_currency="USD",
                watermark=MOMENT,
                issued_at=MOMENT if issued else None,
                due_at=rng.choice([None, TODAY - timedelta(days=3), TODAY + timedelta(days=3)]),
            )
        )
    session.add_all(invoices)
    session.flush()
    states: dict[int, set[str]] = {}
    for invoice in invoices:
        event = BillingEvent(
            partner_id="acme",
            kind=BillingEventKind.INVOICE_ISSUED,
            subject_type="invoice",
            subject_id=str(invoice.invoice_id),
            payload={},
        )
        session.add(event)
        session.flush()
        assert event.id is not None
        for connection in ("qbo", "xero"):
            if rng.random() < 0.4:
                state = rng.choice(list(OutboxStatus))
                op = rng.choice([OutboxOp.INVOICE_PUSH, OutboxOp.CUSTOMER_UPSERT])
                session.add(
                    OutboxRow(
                        connection_id=connection,
                        partner_id="acme",
                        billing_event_id=event.id,
                        op=op,
                        subject_id=str(invoice.invoice_id),
                        our_id=str(invoice.invoice_id),
                        status=state,
                    )
                )
                if op is OutboxOp.INVOICE_PUSH:
                    states.setdefault(invoice.invoice_id, set()).add(state.value)
    runs = [
        ReconcileRun(partner_id="acme", period="2026-11", period_start=TODAY, period_end=TODAY)
        for _ in range(2)
    ]
    for run in runs:  # the older first: the page reads the latest only
        session.add(run)
        session.flush()
    missing = {i.invoice_id for i in invoices if rng.random() < 0.1}
    for run, ids in ((runs[0], {i.invoice_id for i in invoices[:50]}), (runs[1], missing)):
        for invoice_id in ids:
            session.add(
                ReconcileDifference(
                    run_id=run.id,
                    kind=MISSING_KIND,
                    severity="high",
                    system="quickbooks:main",
                    subject="x",
                    invoice_id=invoice_id,
                )
            )
    session.commit()
    return invoices, states, missing


def _reference(
    invoices: list[Invoice], states: dict[int, set[str]], missing: set[int], where: BrowseFilter
) -> list[int]:
    """The same question asked of the rows in Python."""
    chosen = []
    for i in invoices:
        if i.status in OPEN_STATUSES:
            continue
        if where.status is not None and i.status != where.status:
            continue
        if where.period is not None and not where.period[0] <= i.period_start <= where.period[1]:
            continue
        if where.client_id is not None and i.client_id != where.client_id:
            continue
        if where.number and where.number.lower() not in (i.number or "").lower():
            continue
        if where.payment is not None and not _pays(i, where.payment):
            continue
        if where.sync is SyncState.MISSING and i.invoice_id not in missing:
            continue
        if (
            where.sync not in (None, SyncState.MISSING)
            and where.sync.value not in states.get(i.invoice_id, set())  # type: ignore[union-attr]
        ):
            continue
        chosen.append(i.invoice_id)
    return sorted(chosen, reverse=True)


def _pays(i: Invoice, state: PaymentState) -> bool:
    if i.status not in COLLECTIBLE:
        return False
    due = i.amount_due_minor
    overdue = i.due_at is not None and i.due_at < TODAY
    return {
        PaymentState.PAID: due <= 0,
        PaymentState.PARTLY_PAID: due > 0 and i.amount_paid_minor > 0,
        PaymentState.OVERDUE: due > 0 and overdue,
        PaymentState.DUE: due > 0 and not overdue,
    }[state]


def _all_pages(session: Session, where: BrowseFilter, size: int) -> list[int]:
    seen: list[int] = []
    before = None
    while True:
        page = browse_invoices(session, "acme", where, TODAY, before=before, limit=size)
        seen.extend(i.invoice_id for i in page)
        if len(page) < size:
            return seen
        before = page[-1].invoice_id


filters = st.builds(
    BrowseFilter,
    status=st.none() | st.sampled_from([s for s in InvoiceStatus if s not in OPEN_STATUSES]),
    period=st.none()
    | st.integers(min_value=0, max_value=40).map(
        lambda k: (date(2020 + k // 12, k % 12 + 1, 1), date(2020 + k // 12, k % 12 + 1, 28))
    ),
    client_id=st.none() | st.sampled_from(["c1", "c2", "nobody"]),
    payment=st.none() | st.sampled_from(list(PaymentState)),
    sync=st.none() | st.sampled_from(list(SyncState)),
    number=st.none() | st.sampled_from(["acme-001", "ACME-0", "00", "%", "_1", "x"]),
)


def test_every_filter_and_every_page_match_the_rows(session: Session) -> None:
    invoices, states, missing = _world(session)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(where=filters, size=st.sampled_from([7, 50, 1000]))
    def check(where: BrowseFilter, size: int) -> None:
        assert _all_pages(session, where, size) == _reference(invoices, states, missing, where)

    check()
    # the filters are not vacuous: each state of each filter finds something in this world
    for where in (
        BrowseFilter(payment=PaymentState.OVERDUE),
        BrowseFilter(payment=PaymentState.PARTLY_PAID),
        BrowseFilter(sync=SyncState.DEAD),
        BrowseFilter(sync=SyncState.MISSING),
        BrowseFilter(number="ACME-0012"),
    ):
        assert _all_pages(session, where, 50), where


def test_a_page_does_not_shift_when_invoices_arrive(session: Session) -> None:
    invoices, _, _ = _world(session)
    first = browse_invoices(session, "acme", BrowseFilter(), TODAY, limit=20)
    newer = invoices[0].model_copy(update={"id": None, "number": "ACME-NEW", "client_id": "c1"})
    newer.period_start = date(2030, 1, 1)
    session.add(newer)
    session.commit()
    second = browse_invoices(
        session, "acme", BrowseFilter(), TODAY, before=first[-1].invoice_id, limit=20
    )
    assert not {i.invoice_id for i in first} & {i.invoice_id for i in second}
    assert max(i.invoice_id for i in second) < min(i.invoice_id for i in first)


def test_a_drafts_margin_is_its_total_net_of_tax_less_its_cost() -> None:
    draft = Invoice(
        partner_id="acme",
        client_id="c1",
        status=InvoiceStatus.DRAFT,
        currency="USD",
        period_start=TODAY,
        period_end=TODAY,
        period_start_at=MOMENT,
        period_end_at=MOMENT,
        timezone="UTC",
        total_minor=11_000,
        tax_minor=1_000,
        cost_minor=2_500,
        cost_currency="USD",
        watermark=MOMENT,
    )
    margin = invoice_margin(draft)
    assert margin is not None
    assert (margin.charge, margin.margin, str(margin.percent)) == (10_000, 7_500, "75.00")
    draft.cost_currency = "EUR"
    assert invoice_margin(draft) is None  # no honest difference across currencies
