"""Our invoices vs one accounting connection: what `list_invoices` returns for the dates our
invoices were issued on, matched by stored external reference, else by number. The texts say
what each side holds in words a finance reader uses (amounts in major units with their
currency, statuses in words, dates as dates), naming the system and the client."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from billing.documents.formatting import format_date
from billing.invoicing.models import Invoice, InvoiceStatus
from connectors.base import Connector
from mappings.models import RefKind
from mappings.references import get_refs
from remote_specs import RemoteInvoice, RemoteStatus
from sync.reconcile.books_repository import invoice_numbers_issued_between
from sync.reconcile.differences import Diff, Tally
from sync.reconcile.names import Names, money

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
    issued = invoice_numbers_issued_between(session, invoices[0].partner_id, min(dates), max(dates))
    return frozenset(n for n in issued if n not in ours)


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


def _words(status: str) -> str:
    return status.replace("_", " ")


@dataclass(frozen=True, slots=True)
class _Context:
    system: str
    name: str
    side: AccountingSide
    names: Names

    def diff(
        self,
        kind: str,
        severity: str,
        invoice: Invoice,
        ours: str,
        theirs: str,
        amount: int,
        action: str,
        fix: dict[str, object] | None = None,
    ) -> Diff:
        return Diff(
            kind,
            severity,
            self.system,
            self.names.subject(invoice),
            ours,
            theirs,
            amount,
            invoice.currency,
            action,
            fix,
            system_name=self.name,
            **self.names.invoice_facts(invoice),
        )


def compare_accounting(
    system: str,
    side: AccountingSide,
    invoices: Sequence[Invoice],
    remote: Sequence[RemoteInvoice],
    other_numbers: frozenset[str] = frozenset(),
    *,
    system_name: str | None = None,
    names: Names | None = None,
) -> tuple[Tally, list[Diff]]:
    """Missing there, extra there, duplicated, amount / currency / date / customer / status
    mismatches and payments that differ, one comparison per invoice of ours.
    `other_numbers` are our invoices of other periods issued in the same days: listed there
    too, they are not "extra". `system_name` is what people call the system (default: the key);
    `names` gives clients their names (default: their ids)."""
    currency = invoices[0].currency if invoices else "USD"
    ctx = _Context(system, system_name or system, side, names or Names(currency))
    tally, diffs = Tally(name=ctx.name), []
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
            diffs.append(
                ctx.diff(
                    "missing_there",
                    "error",
                    invoice,
                    f"invoice of {money(invoice.total_minor, invoice.currency)}",
                    "not found" if ref is None else "deleted there (or no longer found)",
                    invoice.total_minor,
                    f"Send invoice {number} to {ctx.name} again.",
                    {
                        "action": "repush",
                        "connection_id": side.connection_id,
                        "invoice_id": invoice.id,
                    },
                )
            )
            continue
        seen.add(theirs.ref.remote_id)
        tally.theirs_minor += theirs.total_minor
        found = _mismatches(ctx, invoice, theirs)
        if len(copies) > 1:
            found.append(
                ctx.diff(
                    "duplicated_there",
                    "error",
                    invoice,
                    "1 invoice",
                    f"{len(copies)} invoices numbered {number}",
                    invoice.total_minor,
                    f"Void the extra copies of {number} in {ctx.name}.",
                )
            )
        diffs.extend(found)
        if not found:
            tally.matched += 1
    for r in remote:
        if r.ref.remote_id in seen or r.number in other_numbers:
            continue
        if r.status in (RemoteStatus.DELETED, RemoteStatus.VOID):
            continue
        diffs.append(
            Diff(
                "extra_there",
                "warning",
                system,
                f"Invoice {r.number}",
                "no such invoice",
                f"{_words(r.status.value)} invoice of {money(r.total_minor, r.currency)}",
                r.total_minor,
                r.currency,
                f"Check that invoice {r.number} was entered in {ctx.name} on purpose.",
                system_name=ctx.name,
                invoice_number=r.number,
                issue_date=r.issue_date,
            )
        )
    return tally, diffs


def _mismatches(ctx: _Context, invoice: Invoice, r: RemoteInvoice) -> list[Diff]:
    out = []
    there = ctx.name
    number = invoice.number
    if r.status is RemoteStatus.VOID and invoice.status is not InvoiceStatus.VOID:
        out.append(
            ctx.diff(
                "status_mismatch",
                "error",
                invoice,
                _words(invoice.status.value),
                "void",
                invoice.total_minor,
                f"Find out who voided {number} in {there}: restore it there, or "
                "void it in Rebill if it should be void.",
            )
        )
    if r.currency.upper() != invoice.currency.upper():
        out.append(
            ctx.diff(
                "currency_mismatch",
                "error",
                invoice,
                invoice.currency,
                r.currency,
                invoice.total_minor,
                f"Void {number} in {there} and send it again in {invoice.currency}.",
            )
        )
    elif r.total_minor != invoice.total_minor and r.status is not RemoteStatus.VOID:
        out.append(
            ctx.diff(
                "amount_mismatch",
                "error",
                invoice,
                f"total {money(invoice.total_minor, invoice.currency)}",
                f"total {money(r.total_minor, r.currency)}",
                abs(r.total_minor - invoice.total_minor),
                f"Correct the total of {number} in {there} (it was edited after it was sent).",
            )
        )
    if invoice.issue_date is not None and r.issue_date not in (None, invoice.issue_date):
        assert r.issue_date is not None
        out.append(
            ctx.diff(
                "date_mismatch",
                "warning",
                invoice,
                f"dated {format_date(invoice.issue_date)}",
                f"dated {format_date(r.issue_date)}",
                0,
                f"Correct the date of {number} in {there}.",
            )
        )
    customer = ctx.side.customer_refs.get(invoice.client_id)
    if customer is not None and r.customer_id != customer:
        client = ctx.names.client(invoice.client_id)
        out.append(
            ctx.diff(
                "customer_mismatch",
                "error",
                invoice,
                f"{client} (customer {customer} there)",
                f"another customer (customer {r.customer_id} there)",
                invoice.total_minor,
                f"Move {number} to {client} in {there}.",
            )
        )
    paid_here = invoice.amount_paid_minor
    if r.amount_paid_minor != paid_here:
        paid_only_there = r.status in _PAID_THERE and invoice.status is not InvoiceStatus.PAID
        pull = r.amount_paid_minor > paid_here
        out.append(
            ctx.diff(
                "status_mismatch" if paid_only_there else "payment_mismatch",
                "warning",
                invoice,
                f"{_words(invoice.status.value)}, {money(paid_here, invoice.currency)} paid",
                f"{_words(r.status.value)}, {money(r.amount_paid_minor, r.currency)} paid",
                abs(r.amount_paid_minor - paid_here),
                f"Bring the payment recorded in {there} into Rebill."
                if pull
                else f"Send Rebill's payment of {number} to {there}.",
                {
                    "action": "pull_payment",
                    "connection_id": ctx.side.connection_id,
                    "invoice_id": invoice.id,
                }
                if pull
                else None,
            )
        )
    return out
