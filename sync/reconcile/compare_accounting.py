"""Our invoices vs one accounting connection: what `list_invoices` returns for the dates our
invoices were issued on, matched by stored external reference, else by number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing.invoicing.models import Invoice, InvoiceStatus
from connectors.base import Connector, RemoteInvoice, RemoteStatus
from mappings.models import RefKind
from mappings.references import get_refs
from sync.reconcile.differences import Diff, Tally

__all__ = ["AccountingSide", "compare_accounting", "list_remote", "load_side", "other_numbers"]

_PAID_THERE = (RemoteStatus.PAID,)


@dataclass(frozen=True, slots=True)
class AccountingSide:
    """What we hold about one connection: invoice and customer references by our id."""

    connection_id: str
    invoice_refs: dict[str, str]  # our invoice id -> remote id
    customer_refs: dict[str, str]  # our client id -> remote customer id


def other_numbers(session: Session, invoices: Sequence[Invoice]) -> frozenset[str]:
    """Numbers of the partner's invoices outside `invoices` issued within their issue dates."""
    dates = [i.issue_date for i in invoices if i.issue_date is not None]
    if not dates:
        return frozenset()
    ours = {str(i.number) for i in invoices}
    query = select(col(Invoice.number)).where(
        col(Invoice.partner_id) == invoices[0].partner_id,
        col(Invoice.issue_date) >= min(dates),
        col(Invoice.issue_date) <= max(dates),
    )
    return frozenset(str(n) for n in session.scalars(query) if n is not None and n not in ours)


def load_side(session: Session, connection_id: str, invoices: Sequence[Invoice]) -> AccountingSide:
    refs = get_refs(session, connection_id, RefKind.INVOICE, [str(i.id) for i in invoices])
    clients = get_refs(session, connection_id, RefKind.CUSTOMER, {i.client_id for i in invoices})
    return AccountingSide(
        connection_id,
        {k: v.remote_id for k, v in refs.items()},
        {k: v.remote_id for k, v in clients.items()},
    )


async def list_remote(connector: Connector, invoices: Sequence[Invoice]) -> list[RemoteInvoice]:
    """Every remote invoice dated within our invoices' issue dates; the connector is closed
    afterwards (its HTTP client holds connections)."""
    dates = [i.issue_date for i in invoices if i.issue_date is not None]
    try:
        if not dates:
            return []
        return await connector.list_invoices(min(dates), max(dates))
    finally:
        await connector.aclose()


def _diff(kind: str, severity: str, system: str, invoice: Invoice, ours: str, theirs: str,
          amount: int, action: str, fix: dict[str, object] | None = None) -> Diff:  # fmt: skip
    return Diff(kind, severity, system, f"{invoice.number} / {invoice.client_id}", ours, theirs,
                amount, invoice.currency, action, fix)  # fmt: skip


def compare_accounting(
    system: str,
    side: AccountingSide,
    invoices: Sequence[Invoice],
    remote: Sequence[RemoteInvoice],
    other_numbers: frozenset[str] = frozenset(),
) -> tuple[Tally, list[Diff]]:
    """Missing there, extra there, duplicated, amount / currency / date / customer / status
    mismatches and payments that differ, one comparison per invoice of ours.
    `other_numbers` are our invoices of other periods issued in the same days: listed there
    too, they are not "extra"."""
    tally, diffs = Tally(), []
    by_id = {r.ref.remote_id: r for r in remote}
    by_number: dict[str, list[RemoteInvoice]] = defaultdict(list)
    for r in remote:
        if r.status is not RemoteStatus.DELETED:
            by_number[r.number].append(r)
    seen: set[str] = set()
    for invoice in invoices:
        number = str(invoice.number)
        ref = side.invoice_refs.get(str(invoice.id))
        copies = by_number.get(number, [])
        theirs = by_id.get(ref) if ref is not None else (copies[0] if copies else None)
        seen.update(r.ref.remote_id for r in copies)
        tally.ours_minor += invoice.total_minor
        if theirs is None or theirs.status is RemoteStatus.DELETED:
            diffs.append(_diff(
                "missing_there", "error", system, invoice, f"total {invoice.total_minor}",
                "not found" if ref is None else f"reference {ref} not found or deleted",
                invoice.total_minor, "re-push the invoice",
                {"action": "repush", "connection_id": side.connection_id,
                 "invoice_id": invoice.id},
            ))  # fmt: skip
            continue
        seen.add(theirs.ref.remote_id)
        tally.theirs_minor += theirs.total_minor
        found = _mismatches(system, side, invoice, theirs)
        if len(copies) > 1:
            found.append(_diff(
                "duplicated_there", "error", system, invoice, "1 invoice",
                f"{len(copies)} invoices numbered {number}", invoice.total_minor,
                "void the duplicate in the accounting system",
            ))  # fmt: skip
        diffs.extend(found)
        if not found:
            tally.matched += 1
    for r in remote:
        if r.ref.remote_id in seen or r.number in other_numbers:
            continue
        if r.status in (RemoteStatus.DELETED, RemoteStatus.VOID):
            continue
        diffs.append(Diff(
            "extra_there", "warning", system, r.number, "no invoice of ours",
            f"{r.status.value} total {r.total_minor}", r.total_minor, r.currency,
            "not raised by Rebill: check it was meant to be entered by hand",
        ))  # fmt: skip
    return tally, diffs


def _mismatches(
    system: str, side: AccountingSide, invoice: Invoice, r: RemoteInvoice
) -> list[Diff]:
    out = []
    if r.status is RemoteStatus.VOID and invoice.status is not InvoiceStatus.VOID:
        out.append(_diff("status_mismatch", "error", system, invoice, invoice.status.value,
                         "void", invoice.total_minor, "find out who voided it there"))  # fmt: skip
    if r.currency.upper() != invoice.currency.upper():
        out.append(_diff("currency_mismatch", "error", system, invoice, invoice.currency,
                         r.currency, invoice.total_minor, "re-create it in the right currency"))  # fmt: skip
    elif r.total_minor != invoice.total_minor and r.status is not RemoteStatus.VOID:
        out.append(_diff("amount_mismatch", "error", system, invoice,
                         f"total {invoice.total_minor}", f"total {r.total_minor}",
                         abs(r.total_minor - invoice.total_minor),
                         "correct the invoice there (it was edited after sync)"))  # fmt: skip
    if invoice.issue_date is not None and r.issue_date not in (None, invoice.issue_date):
        out.append(_diff("date_mismatch", "warning", system, invoice, str(invoice.issue_date),
                         str(r.issue_date), 0, "correct the invoice date there"))  # fmt: skip
    customer = side.customer_refs.get(invoice.client_id)
    if customer is not None and r.customer_id != customer:
        out.append(_diff("customer_mismatch", "error", system, invoice, f"customer {customer}",
                         f"customer {r.customer_id}", invoice.total_minor,
                         "move the invoice to the right customer there"))  # fmt: skip
    paid_here = invoice.amount_paid_minor
    if r.amount_paid_minor != paid_here:
        paid_only_there = r.status in _PAID_THERE and invoice.status is not InvoiceStatus.PAID
        out.append(_diff(
            "status_mismatch" if paid_only_there else "payment_mismatch",
            "warning", system, invoice, f"{invoice.status.value}, paid {paid_here}",
            f"{r.status.value}, paid {r.amount_paid_minor}",
            abs(r.amount_paid_minor - paid_here),
            "pull the payment recorded there" if r.amount_paid_minor > paid_here
            else "push our payment to the accounting system",
            {"action": "pull_payment", "connection_id": side.connection_id,
             "invoice_id": invoice.id} if r.amount_paid_minor > paid_here else None,
        ))  # fmt: skip
    return out
