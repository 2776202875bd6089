"""The journal entries invoicing posts, built as pure functions from what is being issued.

Issue (key `invoice:{partner}:{number}`), in the invoice's currency unless noted:
    Dr Accounts receivable                 total
    Cr Unbilled receivable                 what accrual put there for this client's usage and
                                           has not been cleared yet (per usage type)
    Cr Usage revenue: <usage type>         invoiced usage - cleared (the true-up; a debit when
                                           the invoice bills less than was accrued)
    Cr Subscription revenue                base fee + minimum-spend true-up
    Dr Discounts given                     the discount
    Cr Sales tax payable                   the tax
    Dr Wholesale cost: <usage type> / Cr Wholesale payable (partner currency): invoiced cost -
                                           accrued cost not yet reconciled (the cost true-up)
Every leg carries the client, usage legs the usage type. The entry balances because the total is
the sum of the lines. Zero legs are left out.

Credit note (key `credit_note:{partner}:{number}`):
    Dr Credit notes and refunds            credited lines net of their discount share
    Dr Sales tax payable                   the tax share
    Cr Accounts receivable                 the credit note's total

Uncollectible (key `invoice:{partner}:{number}:uncollectible`):
    Dr Bad debt / Cr Accounts receivable   the amount still due

Void is the ledger's own reversal of the issue entry (`reverse_entry`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from billing.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLineKind,
)
from ledger import AccountRole, EntrySpec, PostingSpec, account_for

__all__ = [
    "USAGE_LINE_KINDS",
    "AccountCodes",
    "LineAmount",
    "UsageAmounts",
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
_SUBSCRIPTION_KINDS = frozenset({InvoiceLineKind.BASE_FEE, InvoiceLineKind.MINIMUM_TRUE_UP})


class LineAmount(Protocol):
    """What the issue entry needs of a line (`InvoiceLine` or a lighter row)."""

    @property
    def kind(self) -> InvoiceLineKind: ...

    @property
    def usage_type(self) -> str | None: ...

    @property
    def amount_minor(self) -> int: ...


class UsageAmounts(Protocol):
    """What the issue entry needs of a usage row (`InvoiceUsage` or a lighter row)."""

    @property
    def usage_type(self) -> str: ...

    @property
    def cost_minor(self) -> int: ...

    @property
    def unbilled_cleared_minor(self) -> int: ...

    @property
    def cost_cleared_minor(self) -> int: ...


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
        self, role: AccountRole, amount: int, currency: str, usage_type: str | None = None
    ) -> None:
        """`amount` debit-positive; zero is left out (the ledger refuses zero legs)."""
        if amount == 0:
            return
        # Per-usage-type sub-accounts exist for revenue and cost; other roles keep the usage
        # type as a posting dimension only.
        sub = (
            usage_type if role in (AccountRole.USAGE_REVENUE, AccountRole.WHOLESALE_COST) else None
        )
        code = self.codes(role, currency, sub)
        self.legs.append(PostingSpec(code, amount, currency, self.client_id, usage_type))


def invoice_entry(
    codes: AccountCodes,
    invoice: Invoice,
    lines: Iterable[LineAmount],
    usage: Iterable[UsageAmounts],
    effective_at: datetime,
) -> EntrySpec | None:
    """The issue entry; None for an invoice that moves nothing (all zero)."""
    assert invoice.number is not None
    currency, cost_currency = invoice.currency, invoice.cost_currency
    legs = _Legs(codes, invoice.client_id, [])
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, invoice.total_minor, currency)
    usage_charge: dict[str, int] = defaultdict(int)
    subscription = 0
    for line in lines:
        if line.kind in USAGE_LINE_KINDS and line.usage_type is not None:
            usage_charge[line.usage_type] += line.amount_minor
        elif line.kind in _SUBSCRIPTION_KINDS:
            subscription += line.amount_minor
    cleared: dict[str, int] = defaultdict(int)
    cost: dict[str, int] = defaultdict(int)
    cost_cleared: dict[str, int] = defaultdict(int)
    for row in usage:
        cleared[row.usage_type] += row.unbilled_cleared_minor
        cost[row.usage_type] += row.cost_minor
        cost_cleared[row.usage_type] += row.cost_cleared_minor
    for usage_type in sorted(set(usage_charge) | set(cleared)):
        legs.add(AccountRole.UNBILLED_RECEIVABLE, -cleared[usage_type], currency, usage_type)
        true_up = usage_charge[usage_type] - cleared[usage_type]
        legs.add(AccountRole.USAGE_REVENUE, -true_up, currency, usage_type)
    legs.add(AccountRole.SUBSCRIPTION_REVENUE, -subscription, currency)
    legs.add(AccountRole.DISCOUNTS, -invoice.discount_minor, currency)
    legs.add(AccountRole.SALES_TAX_PAYABLE, -invoice.tax_minor, currency)
    for usage_type in sorted(set(cost) | set(cost_cleared)):
        true_up = cost[usage_type] - cost_cleared[usage_type]
        legs.add(AccountRole.WHOLESALE_COST, true_up, cost_currency, usage_type)
        legs.add(AccountRole.WHOLESALE_PAYABLE, -true_up, cost_currency, usage_type)
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
) -> EntrySpec:
    currency = note.currency
    legs = _Legs(codes, note.client_id, [])
    net: dict[str | None, int] = defaultdict(int)
    for line in lines:
        if line.kind is InvoiceLineKind.TAX:
            continue
        key = line.usage_type if line.kind in USAGE_LINE_KINDS else None
        net[key] += line.amount_minor
    for usage_type in sorted(net, key=lambda u: u or ""):
        legs.add(AccountRole.CREDIT_NOTES, net[usage_type], currency, usage_type)
    legs.add(AccountRole.SALES_TAX_PAYABLE, note.tax_minor, currency)
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, -note.total_minor, currency)
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
    legs = _Legs(codes, invoice.client_id, [])
    legs.add(AccountRole.BAD_DEBT, amount, invoice.currency)
    legs.add(AccountRole.ACCOUNTS_RECEIVABLE, -amount, invoice.currency)
    return EntrySpec(
        idempotency_key=f"invoice:{invoice.partner_id}:{invoice.number}:uncollectible",
        effective_at=effective_at,
        postings=tuple(legs.legs),
        memo=f"Invoice {invoice.number} written off as uncollectible",
        source_type="invoice",
        source_id=invoice.number,
    )
