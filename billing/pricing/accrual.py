"""Accrual: the books follow usage as it happens (docs/margins.md).

Each run rates every client's open period exactly as live figures do, and the period before it
while that one is in its grace period (`grace_period_hours` after its end, default 24: the time
invoicing leaves late events before it drafts; after it, the invoice settles late usage). A
period is accrued once it has usage. Per client, period and component of the statement net of
tax (`components`: each usage type's usage lines, the base fee with the minimum-spend true-up,
the discount) it posts the difference between the period-to-date amount and what earlier runs
(and invoices) recognised, in one entry per client and period:
    Dr Unbilled receivable          / Cr Usage revenue: <usage type>     (client currency)
    Dr Unbilled receivable          / Cr Subscription revenue            (base fee, true-up)
    Dr Discounts given              / Cr Unbilled receivable             (the discount)
    Dr Wholesale cost: <usage type> / Cr Wholesale payable               (partner currency)
Every leg carries the client, the service period (the period's first day) and, for usage, the
usage type. A difference can be negative (volume pricing moving all units to a cheaper tier,
usage lifting the period above its minimum spend): the legs then change sides. A zero
difference posts nothing. Tax is recognised when the invoice is issued, which then only
reclassifies unbilled receivable to accounts receivable (plus whatever was not accrued).

Recognised-so-far lives in `pricing_accrual` (absolute values per component, written in the same
transaction as the entries), so each run reads one table instead of summing the ledger. Runs of
one partner are serialised (a lock) because each posts the difference from the previous one's
state.

The idempotency key is `accrual:{client}:{period start}:{n}:{watermark}`: `n` counts the
accruals of that client and period (a price change dated inside the open period re-rates the
same events, so the watermark alone would repeat); the watermark is the number of the period's
events and the newest `received_at` among them. Each entry is dated at that newest
`received_at`, kept inside the period and the partner's calendar month it starts in
(`components.recognition_moment`), so the books read by date agree with the books read by
service period.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.pricing.components import (
    component_account,
    component_usage_type,
    is_usage,
    recognition_moment,
    statement_components,
)
from billing.pricing.live import ClientFigures, few_collections, rate_clients
from billing.pricing.repository import AccruedRow, PricingRepository
from billing.pricing.usage_repository import UsageTotal
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.db_types import utcnow
from ledger import AccountRole, EntrySpec, PostingSpec, account_for, post_entries

__all__ = ["DEFAULT_GRACE_HOURS", "AccrualResult", "accrue", "grace_period"]

_KEY_LIMIT = 200
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


def _client_total(figures: ClientFigures) -> UsageTotal | None:
    """All of the period's usage as one watermark (for the components of no usage type)."""
    marks = [t.newest_received_at for t in figures.totals.values() if t.newest_received_at]
    if not marks:
        return None
    events = sum(t.events for t in figures.totals.values())
    return UsageTotal(
        sum((t.quantity for t in figures.totals.values()), Decimal(0)), events, max(marks)
    )


def _key(client_id: str, figures: ClientFigures, n: int, mark: str) -> str:
    key = f"accrual:{client_id}:{figures.period.start.isoformat()}:{n}:{mark}"
    if len(key) <= _KEY_LIMIT:
        return key
    # Only for ids near their 64-character limit: keep the key unique and within bounds.
    digest = hashlib.blake2b(key.encode(), digest_size=20).hexdigest()
    return f"accrual:{digest}:{n}:{mark}"


@dataclass(frozen=True, slots=True)
class _Change:
    component: str
    charge: int
    cost: int


def _legs(accounts: _Accounts, figures: ClientFigures, change: _Change) -> list[PostingSpec]:
    client, currency = figures.client_id, figures.statement.currency
    cost_currency = figures.cost_currency
    period = figures.period.start
    usage_type = component_usage_type(change.component)
    role, sub_account = component_account(change.component)
    legs: list[PostingSpec] = []
    if change.charge:
        legs += [
            PostingSpec(
                accounts.code(AccountRole.UNBILLED_RECEIVABLE, currency),
                change.charge,
                currency,
                client,
                usage_type,
                period,
            ),
            PostingSpec(
                accounts.code(role, currency, sub_account),
                -change.charge,
                currency,
                client,
                usage_type,
                period,
            ),
        ]
    if change.cost:
        legs += [
            PostingSpec(
                accounts.code(AccountRole.WHOLESALE_COST, cost_currency, usage_type),
                change.cost,
                cost_currency,
                client,
                usage_type,
                period,
            ),
            PostingSpec(
                accounts.code(AccountRole.WHOLESALE_PAYABLE, cost_currency),
                -change.cost,
                cost_currency,
                client,
                usage_type,
                period,
            ),
        ]
    return legs


def _entry(
    accounts: _Accounts,
    figures: ClientFigures,
    changes: list[_Change],
    key: str,
    effective_at: datetime,
) -> EntrySpec:
    """One entry for every component of a client's period that changed."""
    client, currency = figures.client_id, figures.statement.currency
    charge = sum(change.charge for change in changes)
    cost = sum(change.cost for change in changes)
    memo = (
        f"Accrual for {client}, period {figures.period.start} to {figures.period.last_day}: "
        f"charge {charge:+d} {currency}, cost {cost:+d} {figures.cost_currency} (minor units)"
    )
    return EntrySpec(
        idempotency_key=key,
        effective_at=effective_at,
        postings=tuple(leg for change in changes for leg in _legs(accounts, figures, change)),
        memo=memo,
        source_type="accrual",
        source_id=f"{client}:{figures.period.start.isoformat()}",
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
    partner = get_partner(session, partner_id)
    figures = rate_clients(
        session,
        partner_id,
        moment,
        client_ids=client_ids,
        previous=previous,
        grace=grace_period(partner.settings),
        used_only=True,
    )
    zones = TenantRepository(session).client_timezones(partner_id)
    accrued: dict[tuple[str, Any], dict[str, AccruedRow]] = defaultdict(dict)
    periods = {f.period.start for f in figures}
    for row in repo.accrued(partner_id, periods, client_ids):
        accrued[(row.client_id, row.period_start)][row.usage_type] = row
    accounts = _Accounts(session, partner_id)
    result = AccrualResult()
    with few_collections():
        dating = _Dating(zones, partner.timezone, moment)
        specs, states = _changes(partner_id, figures, accrued, accounts, result, dating)
        for start in range(0, len(specs), _POST_CHUNK):
            post_entries(session, partner_id, specs[start : start + _POST_CHUNK])
    repo.save_accrued(states)
    result.entries = len(specs)
    return result


@dataclass(frozen=True, slots=True)
class _Dating:
    """What dates an entry: the clients' and the partner's time zones, the run's moment."""

    zones: dict[str, str]
    partner_timezone: str
    moment: datetime

    def moment_for(self, figures: ClientFigures, total: UsageTotal | None) -> datetime:
        seen = total.newest_received_at if total and total.newest_received_at else self.moment
        zone = self.zones.get(figures.client_id, self.partner_timezone)
        return recognition_moment(figures.period, zone, self.partner_timezone, seen)


def _changes(
    partner_id: str,
    figures: list[ClientFigures],
    accrued: dict[tuple[str, Any], dict[str, AccruedRow]],
    accounts: _Accounts,
    result: AccrualResult,
    dating: _Dating,
) -> tuple[list[EntrySpec], list[dict[str, Any]]]:
    """The entries to post and the state to save: one entry per client and period with a
    component whose charge or cost differs from what was recognised."""
    specs: list[EntrySpec] = []
    states: list[dict[str, Any]] = []
    stamp = utcnow()
    for item in figures:
        before = accrued.get((item.client_id, item.period.start), {})
        parts = statement_components(item.statement)
        changes: list[_Change] = []
        current: dict[str, tuple[int, int]] = {}
        for component in sorted(set(parts) | set(item.totals) | set(before)):
            usage = is_usage(component)
            charge, cost = parts.get(component, 0), item.cost(component) if usage else 0
            done = before.get(component)
            change = _Change(
                component, charge - (done.charge if done else 0), cost - (done.cost if done else 0)
            )
            if change.charge or change.cost:
                changes.append(change)
                current[component] = (charge, cost)
        if not changes:
            continue
        total = _client_total(item)
        n = max((row.accruals for row in before.values()), default=0) + 1
        mark = _watermark(total)
        key = _key(item.client_id, item, n, mark)
        specs.append(_entry(accounts, item, changes, key, dating.moment_for(item, total)))
        for component, (charge, cost) in current.items():
            states.append(
                {
                    "partner_id": partner_id,
                    "client_id": item.client_id,
                    "usage_type": component,
                    "period_start": item.period.start,
                    "period_end": item.period.end,
                    "currency": item.statement.currency,
                    "cost_currency": item.cost_currency,
                    "charge": charge,
                    "cost": cost,
                    "accruals": n,
                    "watermark": mark,
                    "updated_at": stamp,
                }
            )
        result.clients.add(item.client_id)
        result.charge[item.statement.currency] += sum(c.charge for c in changes)
        result.cost[item.cost_currency] += sum(c.cost for c in changes)
    return specs, states
