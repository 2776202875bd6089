"""Ingestion and the audit trail. Services never commit: the request or import does.

One path serves the API, CSV import and bulk loads: validate every event in Python against
cached lookups, apply the late-usage rule with the batch's clients' issued periods (one query
per batch, only for periods ending after the batch's oldest event), then write all valid
events with `INSERT ... ON CONFLICT DO NOTHING` and only when fewer rows were written than
sent, read back the stored body hashes of those event ids to tell replays (duplicates) from
conflicts. Rows are written in event_id order so that two
writers sending overlapping batches to PostgreSQL take row locks in the same order and never
deadlock.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal, localcontext
from operator import attrgetter
from time import monotonic_ns
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlmodel import Session

from billing.metering.models import EventSource, UsageEvent
from billing.metering.repository import EventFilter, MeteringRepository
from billing.metering.schemas import IngestResult
from billing.metering.validation import (
    Catalog,
    EventValidator,
    Rejection,
    UsageTypeRule,
    ValidEvent,
    late_rejection,
)
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.bounds import month_days
from config.db_types import utcnow, uuid7
from config.text import text_problem

__all__ = [
    "DayTotal",
    "InvalidCursorError",
    "decode_cursor",
    "encode_cursor",
    "ingest",
    "iter_events",
    "list_events",
    "load_catalog",
    "month_bounds",
    "summarize",
]


_EXACT = Context(prec=60)
_CLIENT_STATUS_TTL_NS = 5_000_000_000
_STATUS_CACHE: WeakKeyDictionary[object, dict[str, tuple[int, dict[str, str]]]] = (
    WeakKeyDictionary()
)
_BY_EVENT_ID = attrgetter("event_id")


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DayTotal:
    client_id: str
    usage_type: str
    day: date
    quantity: Decimal
    events: int
    wholesale_cost: int
    currency: str

    def plus(self, other: DayTotal) -> DayTotal:
        """The sum of two totals of one usage type (keeps this one's client and day)."""
        return replace(
            self,
            quantity=self.quantity + other.quantity,
            events=self.events + other.events,
            wholesale_cost=self.wholesale_cost + other.wholesale_cost,
        )


def load_catalog(session: Session, partner_id: str) -> Catalog:
    """The partner and its usage types; clients are looked up as batches mention them."""
    partner = get_partner(session, partner_id)
    rules = {
        t.code: UsageTypeRule(t.code, t.precision, t.wholesale_rate)
        for t in TenantRepository(session).usage_types(partner_id)
    }
    late_days = int(partner.settings.get("late_event_days", 90))
    return Catalog(partner.id, partner.currency, late_days, rules)


def ingest(
    session: Session,
    partner_id: str,
    events: Sequence[object],
    source: EventSource = EventSource.API,
    *,
    catalog: Catalog | None = None,
    received_at: datetime | None = None,
) -> IngestResult:
    """Store every valid event once; `catalog` may be reused across chunks of one import."""
    repo = MeteringRepository(session)
    repo.claim_sqlite_writer()
    catalog = catalog or load_catalog(session, partner_id)
    _resolve_clients(session, catalog, events)
    validator = EventValidator(catalog, received_at or utcnow())
    result = IngestResult()
    firsts: dict[str, ValidEvent] = {}
    repeats: list[ValidEvent] = []  # the same event twice in the batch
    with localcontext(_EXACT):  # quantity x rate is exact before `to_minor` rounds it once
        for index, raw in enumerate(events):
            checked = validator.validate(index, raw)
            if isinstance(checked, Rejection):
                result.rejections.append(checked)
                continue
            first = firsts.setdefault(checked.event_id, checked)
            if first is not checked:
                if first.body_hash == checked.body_hash:
                    repeats.append(checked)
                else:
                    result.rejections.append(_conflict(checked))
    late = _refuse_late(repo, catalog, validator.received_at, firsts)
    result.rejections.extend(late.values())
    for repeat in repeats:  # a repeat of a refused event is refused with it
        refused = late.get(repeat.event_id)
        if refused is None:
            result.duplicates += 1
        else:
            result.rejections.append(replace(refused, index=repeat.index))
    originals = [e for e in firsts.values() if e.adjusts is None]
    adjustments = [e for e in firsts.values() if e.adjusts is not None]
    _store(repo, catalog, source, validator.received_at, originals, result)
    if adjustments:
        linked = _link_adjustments(repo, catalog.partner_id, adjustments, result)
        _store(repo, catalog, EventSource.ADJUSTMENT, validator.received_at, linked, result)
    result.rejections.sort(key=lambda r: r.index)
    return result


def _refuse_late(
    repo: MeteringRepository,
    catalog: Catalog,
    received_at: datetime,
    firsts: dict[str, ValidEvent],
) -> dict[str, Rejection]:
    """Take out of `firsts` the events whose period's invoice was issued more than
    `late_event_days` ago; their rejections by event id. Most batches are current usage: one
    query finds no issued period ending after the oldest event, and nothing more is done."""
    refused: dict[str, Rejection] = {}
    if not firsts:
        return refused
    oldest = min(event.occurred_at for event in firsts.values())
    clients = {event.client_id for event in firsts.values()}
    issued = repo.issued_periods(catalog.partner_id, clients, oldest)
    if not issued:
        return refused
    for event_id, event in list(firsts.items()):
        periods = issued.get(event.client_id)
        if not periods or event.occurred_at >= periods[-1].end:
            continue
        rejection = late_rejection(event, periods, received_at, catalog.late_event_days)
        if rejection is not None:
            del firsts[event_id]
            refused[event_id] = rejection
    return refused


def _resolve_clients(session: Session, catalog: Catalog, events: Sequence[object]) -> None:
    """Fill `catalog.clients` with the statuses of the clients these events name.

    Statuses read in the last few seconds are reused across requests (one query per batch
    for a thousand clients costs more than validating the batch): a client archived a moment
    ago may still receive events for up to five seconds (`_CLIENT_STATUS_TTL_NS`). Unknown ids are
    always looked up again, so a client created a moment ago is found at once.
    """
    known = catalog.clients
    recent = _recent_statuses(session, catalog.partner_id)
    if not known:
        known.update(recent)
    named = {
        client
        for raw in events
        if isinstance(raw, dict) and isinstance(client := raw.get("client"), str)
    }
    missing = {
        client
        for client in named.difference(known)
        if text_problem(client) is None  # not storable: rejected without a query
    }
    if missing:
        found = TenantRepository(session).client_statuses(catalog.partner_id, missing)
        known.update(found)
        recent.update(found)


def _recent_statuses(session: Session, partner_id: str) -> dict[str, str]:
    by_partner = _STATUS_CACHE.setdefault(session.get_bind(), {})
    now = monotonic_ns()
    loaded_at, statuses = by_partner.get(partner_id, (now, {}))
    if now - loaded_at >= _CLIENT_STATUS_TTL_NS or not statuses:
        loaded_at, statuses = now, {}
        by_partner[partner_id] = (loaded_at, statuses)
    return statuses


def _store(
    repo: MeteringRepository,
    catalog: Catalog,
    source: str,
    received_at: datetime,
    events: list[ValidEvent],
    result: IngestResult,
) -> None:
    if not events:
        return
    events.sort(key=_BY_EVENT_ID)
    for event in events:
        event.id = uuid7()
    written = repo.insert_new(catalog.partner_id, catalog.currency, source, received_at, events)
    result.accepted += written
    if written == len(events):
        return
    event_ids = (event.event_id for event in events)
    if written == 0:  # a pure replay: no need to learn which rows are ours
        hashes = repo.stored_hashes(catalog.partner_id, event_ids)
        mine: set[uuid.UUID | None] = set()
    else:
        stored = repo.stored(catalog.partner_id, event_ids)
        hashes = {event_id: ref.body_hash for event_id, ref in stored.items()}
        mine = {ref.id for ref in stored.values()}
    for event in events:
        if event.id in mine:
            continue
        stored_hash = hashes.get(event.event_id)
        if stored_hash is None:  # only if the isolation level hides a concurrent commit
            raise RuntimeError(f"event {event.event_id!r} was neither written nor found")
        if stored_hash == event.body_hash:
            result.duplicates += 1
        else:
            result.rejections.append(_conflict(event))


def _link_adjustments(
    repo: MeteringRepository, partner_id: str, adjustments: list[ValidEvent], result: IngestResult
) -> list[ValidEvent]:
    """Each adjustment must correct a stored original of the same client and usage type."""
    originals = repo.stored(partner_id, {str(e.adjusts) for e in adjustments})
    linked: list[ValidEvent] = []
    for event in adjustments:
        original = originals.get(str(event.adjusts))
        if original is None:
            reason = f"adjusts unknown event {event.adjusts!r}"
        elif original.adjusts_id is not None:
            reason = f"{event.adjusts!r} is itself an adjustment; adjust the original event"
        elif (original.client_id, original.usage_type) != (event.client_id, event.usage_type):
            reason = f"{event.adjusts!r} belongs to another client or usage type"
        else:
            event.adjusts_id = original.id
            linked.append(event)
            continue
        result.rejections.append(Rejection(event.index, "adjusts", reason, event.event_id))
    return linked


def _conflict(event: ValidEvent) -> Rejection:
    return Rejection(
        event.index,
        "event_id",
        f"conflict: event_id {event.event_id!r} was already received with a different body",
        event.event_id,
    )


# audit trail ----------------------------------------------------------------------
def encode_cursor(event_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(event_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursorError(f"cursor {cursor[:40]!r} is not one this API returned") from exc


def list_events(
    session: Session, partner_id: str, where: EventFilter, cursor: str | None, limit: int
) -> tuple[list[UsageEvent], str | None]:
    """One page in id (arrival) order and the cursor of the next page, if there is one."""
    after = decode_cursor(cursor) if cursor else None
    rows = MeteringRepository(session).page(partner_id, where, after, limit + 1)
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(rows[limit - 1].id)


def iter_events(session: Session, partner_id: str, where: EventFilter) -> Iterator[UsageEvent]:
    return MeteringRepository(session).stream(partner_id, where)


def month_bounds(period: str) -> tuple[date, date]:
    """`"2026-10"` -> first and last day of that month (`config.bounds.month_days`)."""
    return month_days(period)


def summarize(
    session: Session,
    partner_id: str,
    start: date,
    end: date,
    *,
    client_id: str | None = None,
    usage_type: str | None = None,
) -> list[DayTotal]:
    """Totals per client x usage type x calendar day in each client's own time zone."""
    partner = get_partner(session, partner_id)
    if client_id is not None:
        zones = {client_id: ZoneInfo(get_client(session, partner_id, client_id).timezone)}
        zone = zones[client_id]
        window_start = datetime.combine(start, time.min, zone).astimezone(UTC)
        window_end = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    else:
        zones = {
            cid: ZoneInfo(tz)
            for cid, tz in TenantRepository(session).client_timezones(partner_id).items()
        }
        # Every offset on Earth is within a day of UTC: widen, then keep exact local days.
        window_start = datetime.combine(start - timedelta(days=1), time.min, UTC)
        window_end = datetime.combine(end + timedelta(days=2), time.min, UTC)
    where = EventFilter(client_id, usage_type, window_start, window_end)
    totals: dict[tuple[str, str, date], DayTotal] = {}
    currency = partner.currency
    for row in MeteringRepository(session).summary_rows(partner_id, where):
        day = row.occurred_at.astimezone(zones[row.client_id]).date()
        if not start <= day <= end:
            continue
        key = (row.client_id, row.usage_type, day)
        one = DayTotal(
            row.client_id, row.usage_type, day, row.quantity, 1, row.wholesale_cost, currency
        )
        seen = totals.get(key)
        totals[key] = one if seen is None else seen.plus(one)
    return [totals[key] for key in sorted(totals)]
