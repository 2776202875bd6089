"""Reading the books: one account's balance, grouped movements, and the trial balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlmodel import Session

from ledger.errors import AccountNotFoundError
from ledger.repository import LedgerRepository
from ledger.schemas import BalanceRow, TrialBalance, TrialBalanceRow

__all__ = ["account_balance", "balances", "trial_balance"]


def account_balance(
    session: Session,
    partner_id: str,
    code: str,
    currency: str,
    as_of: datetime | None = None,
    *,
    client_id: str | None = None,
    usage_type: str | None = None,
) -> int:
    """Debit-positive balance of postings effective at or before `as_of` (all when None)."""
    repo = LedgerRepository(session)
    account = repo.account(partner_id, code, currency)
    if account is None or account.id is None:
        raise AccountNotFoundError(partner_id, code, currency)
    return repo.account_sum(partner_id, account.id, as_of, client_id, usage_type)


def balances(
    session: Session,
    partner_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    by_client: bool = False,
    by_usage_type: bool = False,
    by_period: bool = False,
    periods: tuple[date, date] | None = None,
    client_id: str | None = None,
) -> list[BalanceRow]:
    """Debits and credits per account (and per client / usage type / service period) over
    effective times [start, end); with `periods` (first, last), only postings whose service
    period starts on one of those days; with `client_id`, only that client's postings."""
    repo = LedgerRepository(session)
    accounts = {a.id: a for a in repo.accounts(partner_id)}
    rows = []
    for account_id, client, usage, period, debits, credits in repo.movements(
        partner_id,
        start,
        end,
        by_client=by_client,
        by_usage_type=by_usage_type,
        by_period=by_period,
        periods=periods,
        client_id=client_id,
    ):
        account = accounts[account_id]
        rows.append(
            BalanceRow(
                account_code=account.code,
                account_name=account.name,
                account_type=account.type,
                normal_side=account.normal_side,
                currency=account.currency,
                client_id=client,
                usage_type=usage,
                debits=debits,
                credits=credits,
                service_period=period,
            )
        )
    rows.sort(
        key=lambda r: (
            r.currency,
            r.account_code,
            r.client_id or "",
            r.usage_type or "",
            r.service_period or date.min,
        )
    )
    return rows


def trial_balance(session: Session, partner_id: str, as_of: datetime | None = None) -> TrialBalance:
    """Each account's balance on its debit or credit side; per currency the columns agree."""
    repo = LedgerRepository(session)
    sums = repo.sums_by_account(partner_id, as_of)
    rows: list[TrialBalanceRow] = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for account in repo.accounts(partner_id):
        net = sums.get(account.id or -1, 0)
        if net == 0:
            continue
        debit, credit = (net, 0) if net > 0 else (0, -net)
        rows.append(
            TrialBalanceRow(
                account.code, account.name, account.type, account.currency, debit, credit
            )
        )
        totals[account.currency][0] += debit
        totals[account.currency][1] += credit
    rows.sort(key=lambda r: (r.currency, r.account_code))
    return TrialBalance(
        partner_id=partner_id,
        as_of=as_of,
        rows=tuple(rows),
        totals={cur: (d, c) for cur, (d, c) in sorted(totals.items())},
    )
