"""Accrual: the books follow usage as it happens (DESIGN, "The books").

Each run rates every client's open period exactly as live figures do, and the period before it
while that one is in its grace period (`grace_period_hours` after its end, default 24: the time
invoicing leaves late events before it drafts; after it, the invoice settles late usage). Per
client and usage type it posts the difference between the period-to-date usage charge and cost
and what earlier runs accrued:
    Dr Unbilled receivable          / Cr Usage revenue: <usage type>     (client currency)
    Dr Wholesale cost: <usage type> / Cr Wholesale payable               (partner currency)
Every leg carries the client and usage type. A difference can be negative (volume pricing
moving all units to a cheaper tier): the legs then change sides. A zero difference posts
nothing. What the usage charge excludes (base fee, minimum-spend true-up, discount, tax) is
settled when the invoice is issued.

Accrued-so-far lives in `pricing_accrual` (absolute values, written in the same transaction as
the entries), so each run reads one table instead of summing the ledger. Runs of one partner
are serialised (a lock) because each posts the difference from the previous one's state.

The idempotency key is `accrual:{client}:{usage type}:{period start}:{n}:{watermark}`: `n`
counts the accruals of that client, usage type and period (a price change dated inside the
open period re-rates the same events, so the watermark alone would repeat); the watermark is
the number of events and the newest `received_at` among them. Each entry is dated at that
newest `received_at`, kept inside the period, so the books read by period agree with the
periods rated.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from billing.pricing.live import ClientFigures, few_collections, rate_clients
from billing.pricing.repository import AccruedRow, PricingRepository
from billing.pricing.usage_repository import UsageTotal
from billing.tenants.service import get_partner
from config.db_types import utcnow
from ledger import AccountRole, EntrySpec, PostingSpec, account_for, post_entries

__all__ = ["DEFAULT_GRACE_HOURS", "AccrualResult", "accrue", "grace_period"]

_KEY_LIMIT = 200
_MICROSECOND = timedelta(microseconds=1)
_POST_CHUNK = 10_000
DEFAULT_GRACE_HOURS = 24


@dataclass
class AccrualResult:
    """What one run posted: entries, and the net change per currency of charge and cost."""

    entries: int = 0
    clients: set[str] = field(default_factory=set)
    charge: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cost: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class _Accounts:
    """Account codes by role, currency and usage type, opened on first use."""

    def __init__(self, session: Session, partner_id: str) -> None:
        self.session = session
        self.partner_id = partner_id
        self.codes: dict[tuple[AccountRole, str, str | None], str] = {}

    def code(self, role: AccountRole, currency: str, usage_type: str | None = None) -> str:
        key = (role, currency, usage_type)
        found = self.codes.get(key)
        if found is None:
            account = account_for(self.session, self.partner_id, role, currency, usage_type)
            found = self.codes[key] = account.code
        return found


def _watermark(total: UsageTotal | None) -> str:
    if total is None or total.newest_received_at is None:
        return "0-none"
    return f"{total.events}-{total.newest_received_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


def _key(client_id: str, usage_type: str, figures: ClientFigures, n: int, mark: str) -> str:
    key = f"accrual:{client_id}:{usage_type}:{figures.period.start.isoformat()}:{n}:{mark}"
    if len(key) <= _KEY_LIMIT:
        return key
    # Only for ids near their 64-character limit: keep the key unique and within bounds.
    digest = hashlib.blake2b(key.encode(), digest_size=20).hexdigest()
    return f"accrual:{digest}:{n}:{mark}"


def _effective_at(figures: ClientFigures, total: UsageTotal | None, now: datetime) -> datetime:
    start, end = figures.window
    moment = total.newest_received_at if total and total.newest_received_at else now
    return min(max(moment, start), end - _MICROSECOND)


def _entry(
    accounts: _Accounts,
    figures: ClientFigures,
    usage_type: str,
    charge: int,
    cost: int,
    key: str,
    effective_at: datetime,
) -> EntrySpec:
    client, currency = figures.client_id, figures.statement.currency
    cost_currency = figures.cost_currency
    legs: list[PostingSpec] = []
    if charge:
        legs += [
            PostingSpec(
                accounts.code(AccountRole.UNBILLED_RECEIVABLE, currency),
                charge, currency, client, usage_type,
            ),
            PostingSpec(
                accounts.code(AccountRole.USAGE_REVENUE, currency, usage_type),
                -charge, currency, client, usage_type,
            ),
        ]  # fmt: skip
    if cost:
        legs += [
            PostingSpec(
                accounts.code(AccountRole.WHOLESALE_COST, cost_currency, usage_type),
                cost, cost_currency, client, usage_type,
            ),
            PostingSpec(
                accounts.code(AccountRole.WHOLESALE_PAYABLE, cost_currency),
                -cost, cost_currency, client, usage_type,
            ),
        ]  # fmt: skip
    period = figures.period
    memo = (
        f"Accrual of {usage_type} for {client}, period {period.start} to {period.last_day}: "
        f"charge {charge:+d} {currency}, cost {cost:+d} {cost_currency} (minor units)"
    )
    return EntrySpec(
        idempotency_key=key,
        effective_at=effective_at,
        postings=tuple(legs),
        memo=memo,
        source_type="accrual",
        source_id=f"{client}:{period.start.isoformat()}",
    )


def grace_period(settings: dict[str, Any]) -> timedelta:
    """How long after a period ends its late events are still accrued: the partner's
    `grace_period_hours`, the setting invoicing waits for before it drafts the invoice."""
    return timedelta(hours=int(settings.get("grace_period_hours", DEFAULT_GRACE_HOURS)))


def accrue(
    session: Session,
    partner_id: str,
    now: datetime | None = None,
    *,
    client_ids: Sequence[str] | None = None,
    previous: bool = True,
) -> AccrualResult:
    """Post what changed since the last run for every client (or `client_ids`) and usage type
    in the open period (and, with `previous`, the period before). Replaying posts nothing."""
    moment = now or utcnow()
    repo = PricingRepository(session)
    repo.lock_accruals(partner_id)
    figures = rate_clients(
        session,
        partner_id,
        moment,
        client_ids=client_ids,
        previous=previous,
        grace=grace_period(get_partner(session, partner_id).settings),
        used_only=True,
    )
    accrued: dict[tuple[str, Any], dict[str, AccruedRow]] = defaultdict(dict)
    periods = {f.period.start for f in figures}
    for row in repo.accrued(partner_id, periods, client_ids):
        accrued[(row.client_id, row.period_start)][row.usage_type] = row
    accounts = _Accounts(session, partner_id)
    result = AccrualResult()
    with few_collections():
        specs, states = _changes(partner_id, figures, accrued, accounts, result, moment)
        for start in range(0, len(specs), _POST_CHUNK):
            post_entries(session, partner_id, specs[start : start + _POST_CHUNK])
    repo.save_accrued(states)
    result.entries = len(specs)
    return result


def _changes(
    partner_id: str,
    figures: list[ClientFigures],
    accrued: dict[tuple[str, Any], dict[str, AccruedRow]],
    accounts: _Accounts,
    result: AccrualResult,
    moment: datetime,
) -> tuple[list[EntrySpec], list[dict[str, Any]]]:
    """The entries to post and the state to save: one per client, usage type and period whose
    charge or cost differs from what was accrued."""
    specs: list[EntrySpec] = []
    states: list[dict[str, Any]] = []
    stamp = utcnow()
    for item in figures:
        before = accrued.get((item.client_id, item.period.start), {})
        for usage_type in sorted(set(item.totals) | set(before)):
            total = item.totals.get(usage_type)
            charge, cost = item.charge(usage_type), item.cost(usage_type)
            done = before.get(usage_type) or AccruedRow(
                item.client_id, usage_type, item.period.start, 0, 0, 0
            )
            charge_change, cost_change = charge - done.charge, cost - done.cost
            if charge_change == 0 and cost_change == 0:
                continue
            n, mark = done.accruals + 1, _watermark(total)
            key = _key(item.client_id, usage_type, item, n, mark)
            specs.append(
                _entry(
                    accounts, item, usage_type, charge_change, cost_change, key,
                    _effective_at(item, total, moment),
                )
            )  # fmt: skip
            states.append(
                {
                    "partner_id": partner_id, "client_id": item.client_id,
                    "usage_type": usage_type, "period_start": item.period.start,
                    "period_end": item.period.end, "currency": item.statement.currency,
                    "cost_currency": item.cost_currency, "charge": charge, "cost": cost,
                    "accruals": n, "watermark": mark, "updated_at": stamp,
                }
            )  # fmt: skip
            result.clients.add(item.client_id)
            result.charge[item.statement.currency] += charge_change
            result.cost[item.cost_currency] += cost_change
    return specs, states
