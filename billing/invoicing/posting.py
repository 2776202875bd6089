"""The journal entries invoicing posts, built as pure functions from what is being issued.

Every revenue, cost and receivable leg carries the client and its service period (the first
day of the billing period it belongs to: the invoice's own, or a prior-period adjustment's
origin), usage legs the usage type, so the books are read by billing period whatever the
entry's date.

Issue (key `invoice:{partner}:{number}`), in the invoice's currency unless noted, per service
period and component of the invoice (`recognition.Part`):
    Dr Accounts receivable                 total
    Cr Unbilled receivable                 what accrual recognised of the part and no invoice
                                           billed yet (the reclassification)
    Cr Usage revenue: <usage type> /       billed - cleared: the true-up, for what accrual did
       Subscription revenue /              not recognise (usage that arrived after the last
       Dr Discounts given                  run, a period never accrued, a price change; the
                                           other side when the invoice bills less than was
                                           recognised)
    Cr Sales tax payable                   the tax
    Dr Wholesale cost: <usage type> / Cr Wholesale payable (partner currency): invoiced cost -
                                           accrued cost not yet reconciled (the cost true-up)
The entry balances because the total is the sum of the lines. Zero legs are left out.

Credit note (key `credit_note:{partner}:{number}`), each leg in the period of the line it
credits:
    Dr Credit notes and refunds            credited lines net of their discount share
    Dr Sales tax payable                   the tax share
    Cr Accounts receivable                 the credit note's total

Uncollectible (key `invoice:{partner}:{number}:uncollectible`):
    Dr Bad debt / Cr Accounts receivable   the amount still due

Void is the ledger's own reversal of the issue entry (`reverse_entry`), which keeps the legs'
periods: it reduces the periods the invoice billed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from billing.invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLineKind
from billing.invoicing.recognition import Part
from billing.pricing.components import component_account, component_usage_type
from ledger import AccountRole, EntrySpec, PostingSpec, account_for

__all__ = [
    "USAGE_LINE_KINDS",
    "AccountCodes",
    "credit_note_entry",
    "invoice_entry",
    "uncollectible_entry",
]

USAGE_LINE_KINDS = frozenset(
    {
        InvoiceLineKind.USAGE,
        InvoiceLineKind.INCLUDED,
        InvoiceLineKind.OVERAGE,
        InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT,
    }
)


class AccountCodes:
    """Account codes by role, currency and usage type, opened on first use and cached (a
    batch of thousands of invoices asks for the same few accounts)."""

    def __init__(self, session: Session, partner_id: str) -> None:
        self.session = session
        self.partner_id = partner_id
        self._codes: dict[tuple[AccountRole, str, str | None], str] = {}

    def __call__(self, role: AccountRole, currency: str, usage_type: str | None = None) -> str:
        key = (role, currency, usage_type)
        code = self._codes.get(key)
        if code is None:
            account = account_for(self.session, self.partner_id, role, currency, usage_type)
            code = self._codes[key] = account.code
        return code


@dataclass
class _Legs:
    codes: AccountCodes
    client_id: str
    legs: list[PostingSpec]

    def add(
        self,
        role: AccountRole,
        amount: int,
        currency: str,
        period: date | None,
        usage_type: str | None = None,
        sub_account: str | None = None,
    ) -> None:
        """`amount` debit-positive; zero is left out (the ledger refuses zero legs).
        `sub_account` picks a per-usage-type account (revenue, cost); other roles keep the
        usage type as a posting dimension only."""
        if amount == 0:
            return
        code = self.codes(role, currency, sub_account)
        self.legs.append(PostingSpec(code, amount, currency, self.client_id, usage_type, period))


def invoice_entry(
    codes: AccountCodes,
    invoice: Invoice,
    parts: Iterable[Part],
    effective_at: datetime,
) -> EntrySpec | None:
    """The issue entry from the invoice's parts; None for an invoice that moves nothing."""
    assert invoice.number is not None
    currency, cost_currency = invoice.currency, invoice.cost_currency
    own = invoice.period_start
    legs = _Legs(codes, invoice.client_id, [])
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, invoice.total_minor, currency, own)
    for part in sorted(parts, key=lambda p: (p.period, p.component)):
        usage_type = component_usage_type(part.component)
        role, sub = component_account(part.component)
        legs.add(AccountRole.UNBILLED_RECEIVABLE, -part.cleared, currency, part.period, usage_type)
        legs.add(role, -part.true_up, currency, part.period, usage_type, sub)
        if usage_type is not None:
            legs.add(
                AccountRole.WHOLESALE_COST,
                part.cost_true_up,
                cost_currency,
                part.period,
                usage_type,
                usage_type,
            )
            legs.add(
                AccountRole.WHOLESALE_PAYABLE,
                -part.cost_true_up,
                cost_currency,
                part.period,
                usage_type,
            )
    legs.add(AccountRole.SALES_TAX_PAYABLE, -invoice.tax_minor, currency, own)
    if len(legs.legs) < 2:
        return None
    return EntrySpec(
        idempotency_key=f"invoice:{invoice.partner_id}:{invoice.number}",
        effective_at=effective_at,
        postings=tuple(legs.legs),
        memo=(
            f"Invoice {invoice.number} to {invoice.client_id} for {invoice.period_start} to "
            f"{invoice.period_end}"
        ),
        source_type="invoice",
        source_id=invoice.number,
    )


def credit_note_entry(
    codes: AccountCodes,
    note: CreditNote,
    lines: Iterable[CreditNoteLine],
    effective_at: datetime,
    periods: Mapping[int | None, date],
) -> EntrySpec:
    """`periods`: invoice line id -> the service period of that line, and None -> the
    invoice's own period (a credit note reduces the periods of the lines it credits)."""
    currency = note.currency
    own = periods.get(None)
    legs = _Legs(codes, note.client_id, [])
    net: dict[tuple[date | None, str | None], int] = defaultdict(int)
    for line in lines:
        if line.kind is InvoiceLineKind.TAX:
            continue
        key = line.usage_type if line.kind in USAGE_LINE_KINDS else None
        net[(periods.get(line.invoice_line_id, own), key)] += line.amount_minor
    for (period, usage_type), amount in sorted(
        net.items(), key=lambda item: (item[0][0] or date.min, item[0][1] or "")
    ):
        legs.add(AccountRole.CREDIT_NOTES, amount, currency, period, usage_type)
    legs.add(AccountRole.SALES_TAX_PAYABLE, note.tax_minor, currency, own)
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, -note.total_minor, currency, own)
    return EntrySpec(
        idempotency_key=f"credit_note:{note.partner_id}:{note.number}",
        effective_at=effective_at,
        postings=tuple(legs.legs),
        memo=f"Credit note {note.number}: {note.reason}"[:500],
        source_type="credit_note",
        source_id=note.number,
    )


def uncollectible_entry(
    codes: AccountCodes, invoice: Invoice, amount: int, effective_at: datetime
) -> EntrySpec:
    own = invoice.period_start
    legs = _Legs(codes, invoice.client_id, [])
    legs.add(AccountRole.BAD_DEBT, amount, invoice.currency, own)
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, -amount, invoice.currency, own)
    return EntrySpec(
        idempotency_key=f"invoice:{invoice.partner_id}:{invoice.number}:uncollectible",
        effective_at=effective_at,
        postings=tuple(legs.legs),
        memo=f"Invoice {invoice.number} written off as uncollectible",
        source_type="invoice",
        source_id=invoice.number,
    )
