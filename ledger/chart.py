"""The standard chart of accounts (docs/ledger.md), opened for a partner by one call.

Accounts are found by role, not by code, so partners may renumber them. Revenue and cost per
usage type are sub-accounts (`<code>.<usage_type>`) opened on first use.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from ledger.models import Account, AccountType, NormalSide
from ledger.repository import LedgerRepository

__all__ = ["STANDARD_CHART", "AccountRole", "ChartLine", "account_for", "open_standard_chart"]


class AccountRole(enum.StrEnum):
    BANK = "bank"
    STRIPE_CLEARING = "stripe_clearing"
    UNBILLED_RECEIVABLE = "unbilled_receivable"
    ACCOUNTS_RECEIVABLE = "accounts_receivable"
    WHOLESALE_PAYABLE = "wholesale_payable"
    SALES_TAX_PAYABLE = "sales_tax_payable"
    CUSTOMER_CREDIT = "customer_credit"
    USAGE_REVENUE = "usage_revenue"
    SUBSCRIPTION_REVENUE = "subscription_revenue"
    DISCOUNTS = "discounts"
    CREDIT_NOTES = "credit_notes"
    WHOLESALE_COST = "wholesale_cost"
    PAYMENT_FEES = "payment_fees"
    BAD_DEBT = "bad_debt"


@dataclass(frozen=True, slots=True)
class ChartLine:
    role: AccountRole
    code: str
    name: str
    type: AccountType
    normal_side: NormalSide


def _line(role: AccountRole, code: str, name: str, kind: AccountType) -> ChartLine:
    return ChartLine(role, code, name, kind, kind.default_normal_side)


STANDARD_CHART: tuple[ChartLine, ...] = (
    _line(AccountRole.BANK, "1000", "Bank", AccountType.ASSET),
    _line(AccountRole.STRIPE_CLEARING, "1050", "Cash: Stripe clearing", AccountType.ASSET),
    _line(AccountRole.UNBILLED_RECEIVABLE, "1150", "Unbilled receivable", AccountType.ASSET),
    _line(AccountRole.ACCOUNTS_RECEIVABLE, "1200", "Accounts receivable", AccountType.ASSET),
    _line(
        AccountRole.WHOLESALE_PAYABLE, "2100", "Wholesale payable (platform)", AccountType.LIABILITY
    ),
    _line(AccountRole.SALES_TAX_PAYABLE, "2200", "Sales tax payable", AccountType.LIABILITY),
    _line(AccountRole.CUSTOMER_CREDIT, "2300", "Customer credit balances", AccountType.LIABILITY),
    _line(AccountRole.USAGE_REVENUE, "4000", "Usage revenue", AccountType.REVENUE),
    _line(AccountRole.SUBSCRIPTION_REVENUE, "4100", "Subscription revenue", AccountType.REVENUE),
    # Contra-revenue: revenue accounts whose normal balance is a debit.
    ChartLine(
        AccountRole.DISCOUNTS,
        "4800",
        "Discounts given",
        AccountType.REVENUE,
        NormalSide.DEBIT,
    ),
    ChartLine(
        AccountRole.CREDIT_NOTES,
        "4900",
        "Credit notes and refunds",
        AccountType.REVENUE,
        NormalSide.DEBIT,
    ),
    _line(AccountRole.WHOLESALE_COST, "5000", "Wholesale cost of usage", AccountType.EXPENSE),
    _line(AccountRole.PAYMENT_FEES, "6100", "Payment fees", AccountType.EXPENSE),
    _line(AccountRole.BAD_DEBT, "6200", "Bad debt (uncollectible invoices)", AccountType.EXPENSE),
)


def open_standard_chart(
    session: Session,
    partner_id: str,
    currency: str,
    codes: Mapping[AccountRole, str] | None = None,
) -> dict[AccountRole, Account]:
    """Open every account of the chart that is not open yet; idempotent."""
    repo = LedgerRepository(session)
    existing = {(a.role, a.usage_type, a.client_id): a for a in repo.accounts(partner_id, currency)}
    opened: dict[AccountRole, Account] = {}
    for line in STANDARD_CHART:
        found = existing.get((line.role, None, None))
        if found is None:
            found = repo.add_account(
                Account(
                    partner_id=partner_id,
                    code=(codes or {}).get(line.role, line.code),
                    name=line.name,
                    type=line.type,
                    role=line.role,
                    currency=currency,
                    normal_side=line.normal_side,
                )
            )
        opened[line.role] = found
    return opened


def account_for(
    session: Session,
    partner_id: str,
    role: AccountRole,
    currency: str,
    usage_type: str | None = None,
) -> Account:
    """The role's account, or its per-usage-type sub-account (opened on first use)."""
    repo = LedgerRepository(session)
    accounts = repo.accounts(partner_id, currency)
    parent = next((a for a in accounts if a.role == role and a.usage_type is None), None)
    if parent is None:
        parent = open_standard_chart(session, partner_id, currency)[role]
    if usage_type is None:
        return parent
    child = next((a for a in accounts if a.role == role and a.usage_type == usage_type), None)
    if child is None:
        child = repo.add_account(
            Account(
                partner_id=partner_id,
                code=f"{parent.code}.{usage_type}",
                name=f"{parent.name}: {usage_type}",
                type=parent.type,
                role=role,
                currency=currency,
                usage_type=usage_type,
                normal_side=parent.normal_side,
            )
        )
    return child
