"""The accounting comparison on its own (no database, no HTTP): every mismatch kind, and a
property: remote copies equal to ours give no difference, and dropping any subset of them
gives exactly one `missing_there` per dropped invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from billing.invoicing.models import Invoice, InvoiceStatus
from remote_specs import RemoteInvoice, RemoteRef, RemoteStatus
from sync.reconcile.compare_accounting import AccountingSide, compare_accounting

DAY = date(2026, 11, 1)


def _invoice(n: int, total: int = 1000, paid: int = 0) -> Invoice:
    at = datetime(2026, 10, 1, tzinfo=UTC)
    return Invoice(
        id=n,
        partner_id="acme",
        client_id=f"c{n}",
        number=f"A-{n:04}",
        status=InvoiceStatus.PAID if paid and paid == total else InvoiceStatus.ISSUED,
        currency="USD",
        period_start=at.date(),
        period_end=date(2026, 10, 31),
        period_start_at=at,
        period_end_at=datetime(2026, 11, 1, tzinfo=UTC),
        timezone="UTC",
        total_minor=total,
        amount_paid_minor=paid,
        issue_date=DAY,
        watermark=at,
    )


def _theirs(invoice: Invoice, **changes: object) -> RemoteInvoice:
    values: dict[str, object] = {
        "ref": RemoteRef(f"r{invoice.id}"),
        "number": str(invoice.number),
        "customer_id": f"k{invoice.client_id}",
        "currency": invoice.currency,
        "issue_date": invoice.issue_date,
        "status": RemoteStatus.OPEN,
        "total_minor": invoice.total_minor,
        "amount_due_minor": invoice.total_minor - invoice.amount_paid_minor,
        "amount_paid_minor": invoice.amount_paid_minor,
    }
    values.update(changes)
    return RemoteInvoice(**values)  # type: ignore[arg-type]


def _side(invoices: list[Invoice]) -> AccountingSide:
    return AccountingSide(
        "conn",
        {str(i.id): f"r{i.id}" for i in invoices},
        {i.client_id: f"k{i.client_id}" for i in invoices},
    )


def test_every_mismatch_kind() -> None:
    ours = [_invoice(n) for n in range(1, 7)]
    remote = [
        _theirs(ours[0], currency="EUR"),
        _theirs(ours[1], issue_date=date(2026, 11, 9)),
        _theirs(ours[2], customer_id="someone-else"),
        _theirs(
            ours[3], amount_paid_minor=400, amount_due_minor=600, status=RemoteStatus.PARTIALLY_PAID
        ),
        _theirs(ours[4], total_minor=1200, amount_due_minor=1200),
        _theirs(ours[5]),
        _theirs(ours[5], ref=RemoteRef("copy")),
    ]
    tally, diffs = compare_accounting("books", _side(ours), ours, remote)
    found = sorted((d.kind, d.invoice_number) for d in diffs)
    assert found == [
        ("amount_mismatch", "A-0005"),
        ("currency_mismatch", "A-0001"),
        ("customer_mismatch", "A-0003"),
        ("date_mismatch", "A-0002"),
        ("duplicated_there", "A-0006"),
        ("payment_mismatch", "A-0004"),
    ]
    assert tally.matched == 0
    pay = next(d for d in diffs if d.kind == "payment_mismatch")
    assert pay.amount_minor == 400 and pay.fix == {
        "action": "pull_payment",
        "connection_id": "conn",
        "invoice_id": 4,
    }
    assert next(d for d in diffs if d.kind == "amount_mismatch").amount_minor == 200


def test_void_there_and_paid_here_only() -> None:
    ours = [_invoice(1), _invoice(2, paid=1000)]
    remote = [
        _theirs(ours[0], status=RemoteStatus.VOID, total_minor=0, amount_due_minor=0),
        _theirs(ours[1], amount_paid_minor=0, amount_due_minor=1000),
    ]
    _, diffs = compare_accounting("books", _side(ours), ours, remote)
    kinds = {(d.kind, d.invoice_number): d for d in diffs}
    assert set(kinds) == {("status_mismatch", "A-0001"), ("payment_mismatch", "A-0002")}
    assert kinds[("payment_mismatch", "A-0002")].fix is None  # ours to push, not to pull
    assert (
        "Send Rebill's payment of A-0002 to books" in kinds[("payment_mismatch", "A-0002")].action
    )


@given(
    totals=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30),
    data=st.data(),
)
def test_equal_copies_match_and_dropped_ones_are_missing(
    totals: list[int], data: st.DataObject
) -> None:
    ours = [_invoice(n + 1, total) for n, total in enumerate(totals)]
    dropped = data.draw(st.sets(st.sampled_from([i.invoice_id for i in ours])))
    remote = [_theirs(i) for i in ours if i.invoice_id not in dropped]
    tally, diffs = compare_accounting("books", _side(ours), ours, remote)
    assert sorted((d.kind, d.fix["invoice_id"] if d.fix else None) for d in diffs) == sorted(
        ("missing_there", n) for n in dropped
    )
    assert tally.matched == len(ours) - len(dropped)
    assert tally.theirs_minor == sum(i.total_minor for i in ours if i.invoice_id not in dropped)
    assert sum(d.amount_minor for d in diffs) == sum(
        i.total_minor for i in ours if i.invoice_id in dropped
    )


def test_our_invoices_of_other_periods_are_not_extra() -> None:
    ours = [_invoice(1)]
    earlier = _theirs(_invoice(2))
    _, diffs = compare_accounting("books", _side(ours), ours, [_theirs(ours[0]), earlier])
    assert [(d.kind, d.invoice_number) for d in diffs] == [("extra_there", "A-0002")]
    _, diffs = compare_accounting(
        "books", _side(ours), ours, [_theirs(ours[0]), earlier], frozenset({"A-0002"})
    )
    assert diffs == []
