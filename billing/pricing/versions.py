"""Writing price books: every change becomes a version and a change-log row, never an edit of
a period already started.

Rules (docs/partner-file.md, "Versions", and these decisions where it is silent):
- With an explicit `effective_from`, the version is written at that date; unchanged when the
  version already in force on that date says the same.
- Without one, a change is compared with the newest version and, when different, written from
  the day it is made (the partner's local date): periods that started earlier keep the old
  version, so the change reaches each client from its next period. Two changes on one day
  overwrite that day's version (both are logged).
- The first version of something created in the same operation (a new plan, client or usage
  type) covers all time before it (`BEGINNING`): nothing was priced before, so nothing rated
  changes.
- An explicit `effective_from` earlier than the start of the current period of any existing
  client it affects is refused (a problem at the key path of that date), unless forced: those
  periods may already be invoiced. Affected: the plan's clients (newest terms), every client
  for wholesale prices, the client itself for its own terms, prices and plan.

Plans (a header and prices) are written by `plan_versions.set_plan` under the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlmodel import Session

from billing.pricing.book import (
    BEGINNING,
    Timeline,
    client_period,
    local_today,
)
from billing.pricing.describe import describe_price
from billing.pricing.models import (
    ChangeSource,
    PriceChange,
    PriceScope,
    PriceVersion,
)
from billing.pricing.repository import PricingRepository
from billing.pricing.store import PriceHistory, VersionStore
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.db_types import utcnow
from config.partner_file import ConfigProblem
from config.prices import Loc, PriceModel, price_to_json

__all__ = [
    "ChangeContext",
    "FieldChange",
    "change_action",
    "change_context",
    "decide",
    "log_change",
    "put_prices",
    "set_wholesale",
]

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one object, before and after, for people (`None`: absent)."""

    name: str
    before: str | None
    after: str | None
    effective_from: date | None = None


@dataclass
class ChangeContext:
    """One operation's view: when it happens, who makes it, which clients it may affect."""

    partner_id: str
    today: date
    source: ChangeSource
    reference: str | None = None
    force: bool = False
    period_starts: dict[str, date] = field(default_factory=dict)
    plan_members: dict[str, set[str]] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)
    store: VersionStore | None = None

    @property
    def versions(self) -> VersionStore:
        assert self.store is not None, "build contexts with change_context()"
        return self.store


def change_context(
    session: Session,
    partner_id: str,
    now: datetime,
    source: ChangeSource,
    *,
    reference: str | None = None,
    force: bool = False,
    partner_timezone: str | None = None,
) -> ChangeContext:
    """The context for changing a partner's prices now; `partner_timezone` for a partner that
    does not exist yet (config apply creating it)."""
    tenants = TenantRepository(session)
    timezone = partner_timezone or get_partner(session, partner_id).timezone
    context = ChangeContext(partner_id, local_today(timezone, now), source, reference, force)
    for client in tenants.clients(partner_id):
        today = local_today(client.timezone, now)
        context.period_starts[client.id] = client_period(client.billing_anchor_day, today).start
    context.store = VersionStore(session, partner_id)
    for client_id, rows in context.store.terms().items():
        newest = rows[max(rows)]
        if newest.plan_code is not None:
            context.plan_members.setdefault(newest.plan_code, set()).add(client_id)
    return context


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def log_change(
    session: Session,
    context: ChangeContext,
    object_type: str,
    key: str,
    action: str,
    when: date | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Record one change (what, when it takes effect, before and after, who made it); queued
    with the change itself, so both are written or neither is."""
    PricingRepository(session).queue(
        PriceChange(
            partner_id=context.partner_id,
            changed_at=utcnow(),
            source=context.source,
            reference=context.reference,
            object_type=object_type,
            object_key=key[:200],
            action=action,
            effective_from=when,
            before=None if before is None else {k: _json(v) for k, v in before.items()},
            after=None if after is None else {k: _json(v) for k, v in after.items()},
        )
    )


def _allowed(context: ChangeContext, when: date, affected: Iterable[str], loc: Loc) -> bool:
    if context.force:
        return True
    started = [
        (start, client)
        for client in affected
        if (start := context.period_starts.get(client)) is not None and when < start
    ]
    if not started:
        return True
    start, client = max(started)
    context.problems.append(
        ConfigProblem(
            loc,
            f"{when} is before the current period of client {client!r}, which started {start}: "
            "a change never rewrites a period already started (date it "
            f"{start} or later, or force it: --force, or force=true in the API)",
        )
    )
    return False


def decide(
    context: ChangeContext,
    timeline: Timeline[_V],
    desired: _V | None,
    explicit: date | None,
    *,
    new_owner: bool,
    affected: Iterable[str],
    loc: Loc,
) -> tuple[date, _V | None] | None:
    """Where to write `desired` and what it replaces there, or None when nothing changes."""
    if explicit is not None:
        current = timeline.at(explicit)
        if current == desired or not _allowed(context, explicit, affected, loc):
            return None
        return explicit, current
    newest = timeline.latest()
    current = None if newest is None else newest[1]
    if current == desired:
        return None
    when = BEGINNING if new_owner and newest is None else context.today
    return when, current


def change_action(before: object | None, after: object | None) -> str:
    if after is None:
        return "removed"
    return "created" if before is None else "updated"


# --- prices -------------------------------------------------------------------------------------


def _put_price(
    session: Session,
    context: ChangeContext,
    scope: PriceScope,
    owner: str,
    usage_type: str,
    history: PriceHistory,
    desired: PriceModel | None,
    explicit: date | None,
    *,
    new_owner: bool,
    affected: Iterable[str],
    loc: Loc,
    label: str,
) -> FieldChange | None:
    timeline, rows = history.timeline, history.rows
    decided = decide(
        context, timeline, desired, explicit, new_owner=new_owner, affected=affected, loc=loc
    )
    if decided is None:
        return None
    when, before = decided
    stored = None if desired is None else price_to_json(desired)
    row = rows.get(when)
    if row is None:
        row = PriceVersion(
            partner_id=context.partner_id,
            scope=scope,
            owner=owner,
            usage_type=usage_type,
            effective_from=when,
            price=stored,
            source=context.source,
        )
    else:
        row.price, row.source, row.created_at = stored, context.source, utcnow()
    context.versions.add(row)
    timeline.add(when, desired)
    rows[when] = row
    object_key = f"{owner}.{usage_type}" if owner else usage_type
    log_change(
        session,
        context,
        f"{scope}_price",
        object_key,
        change_action(before, desired),
        when,
        None if before is None else {"price": price_to_json(before)},
        None if stored is None else {"price": stored},
    )
    return FieldChange(label, describe_price(before), describe_price(desired), when)


def set_wholesale(
    session: Session,
    context: ChangeContext,
    usage_type: str,
    price: PriceModel,
    *,
    effective_from: date | None = None,
    new_owner: bool = False,
    loc: Loc = ("effective_from",),
) -> list[FieldChange]:
    """The partner's wholesale cost price of one usage type (rated per period like retail)."""
    history = context.versions.prices(PriceScope.WHOLESALE, "")
    change = _put_price(
        session,
        context,
        PriceScope.WHOLESALE,
        "",
        usage_type,
        history.setdefault(usage_type, PriceHistory()),
        price,
        effective_from,
        new_owner=new_owner,
        affected=context.period_starts,
        loc=loc,
        label="wholesale",
    )
    return [] if change is None else [change]


def put_prices(
    session: Session,
    context: ChangeContext,
    scope: PriceScope,
    owner: str,
    desired: Mapping[str, tuple[PriceModel, date | None, Loc]],
    removal_from: tuple[date | None, Loc],
    *,
    new_owner: bool,
    affected: Sequence[str],
) -> list[FieldChange]:
    """Make the owner's prices exactly `desired` (usage type -> price, date, date's path)."""
    history = context.versions.prices(scope, owner)
    changes: list[FieldChange] = []
    for usage_type in sorted(set(desired) | set(history)):
        price, explicit, loc = desired.get(usage_type, (None, *removal_from))
        change = _put_price(
            session,
            context,
            scope,
            owner,
            usage_type,
            history.setdefault(usage_type, PriceHistory()),
            price,
            explicit,
            new_owner=new_owner,
            affected=affected,
            loc=loc,
            label=f"prices.{usage_type}",
        )
        if change is not None:
            changes.append(change)
    return changes
