"""Ingestion: every valid event stored once, every other one refused with its field and reason.

One path serves the API, CSV import and bulk loads. A batch is taken in event_id order, in
parts of `PART` events; each part is validated (`clean_batch` for the usual clean part,
`EventValidator` event by event otherwise), checked against the late-usage rule and repeats
earlier in the batch, and handed to the writer (`write_repository.writing`), which on
PostgreSQL writes it while the next part is validated. The late-usage rule needs the batch's
clients' issued periods: one query before the first part, for periods ending after the batch's
oldest event. Only when fewer rows were written than sent are the stored body hashes of those
event ids read back, to tell replays (duplicates) from conflicts. Services never commit: the
request or import does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Context, localcontext
from time import monotonic_ns
from weakref import WeakKeyDictionary

from sqlmodel import Session

from billing.metering.batch_validation import clean_batch
from billing.metering.models import EventSource
from billing.metering.repository import MeteringRepository
from billing.metering.schemas import IngestResult
from billing.metering.validation import (
    Catalog,
    EventValidator,
    IssuedPeriod,
    Rejection,
    UsageTypeRule,
    ValidEvent,
    late_rejection,
)
from billing.metering.write_repository import writing
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.db_types import utcnow, uuid7_hex
from config.text import text_problem

__all__ = ["PART", "ingest", "load_catalog"]

PART = 2_000
"""Events validated and sent to the database at a time: large enough that a statement's fixed
cost is small, small enough that the database writes one part while the next is validated."""

_EXACT = Context(prec=60)
_CLIENT_STATUS_TTL_NS = 5_000_000_000
_STATUS_CACHE: WeakKeyDictionary[object, dict[str, tuple[int, dict[str, str]]]] = (
    WeakKeyDictionary()
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
    arrival = validator.received_at
    oldest = _oldest_instant(events)
    named = {
        client for raw in events if type(raw) is dict and type(client := raw.get("client")) is str
    }
    issued = {} if oldest is None else repo.issued_periods(catalog.partner_id, named, oldest)
    admission = _Admission(catalog, validator, issued)
    # quantity x rate is exact before `to_minor` rounds it once
    with (
        localcontext(_EXACT),
        writing(session, catalog.partner_id, catalog.currency, source, arrival) as writer,
    ):
        for indexes in _parts(events):
            writer.send(admission.admit(indexes, [events[i] for i in indexes]))
    result = admission.result
    _count_written(repo, catalog.partner_id, admission.sent, writer.written, result)
    if admission.adjustments:
        linked = _link_adjustments(repo, catalog.partner_id, admission.adjustments, result)
        _stamp(linked)
        with writing(
            session, catalog.partner_id, catalog.currency, EventSource.ADJUSTMENT, arrival
        ) as writer:
            writer.send(linked)
        _count_written(repo, catalog.partner_id, linked, writer.written, result)
    result.rejections.sort(key=lambda r: r.index)
    return result


@dataclass(slots=True)
class _Admission:
    """What a batch has admitted so far: the first of each event_id, the ones refused as late
    (a repeat of a refused event is refused with it), what was sent, and the corrections,
    which are written last because they must find the events they correct."""

    catalog: Catalog
    validator: EventValidator
    issued: dict[str, list[IssuedPeriod]]
    result: IngestResult = field(default_factory=IngestResult)
    firsts: dict[str, ValidEvent] = field(default_factory=dict)
    refused: dict[str, Rejection] = field(default_factory=dict)
    sent: list[ValidEvent] = field(default_factory=list)
    adjustments: list[ValidEvent] = field(default_factory=list)

    def admit(self, indexes: list[int], raws: list[object]) -> list[ValidEvent]:
        """This part's events to write, in event_id order, stamped with their ids."""
        clean = clean_batch(self.catalog, self.validator.received_at, raws, indexes)
        checked = clean if clean is not None else self._one_by_one(indexes, raws)
        rejections = self.result.rejections
        to_write: list[ValidEvent] = []
        for event in checked:
            if isinstance(event, Rejection):
                rejections.append(event)
                continue
            first = self.firsts.get(event.event_id)
            if first is not None:
                if first.body_hash != event.body_hash:
                    rejections.append(_conflict(event))
                elif (late := self.refused.get(event.event_id)) is not None:
                    rejections.append(replace(late, index=event.index))
                else:
                    self.result.duplicates += 1
                continue
            self.firsts[event.event_id] = event
            late = self._late(event)
            if late is not None:
                self.refused[event.event_id] = late
                rejections.append(late)
            elif event.adjusts is None:
                to_write.append(event)
            else:
                self.adjustments.append(event)
        _stamp(to_write)
        self.sent.extend(to_write)
        return to_write

    def _one_by_one(
        self, indexes: list[int], raws: list[object]
    ) -> Iterator[ValidEvent | Rejection]:
        validate = self.validator.validate
        for index, raw in zip(indexes, raws, strict=True):
            yield validate(index, raw)

    def _late(self, event: ValidEvent) -> Rejection | None:
        """Most events are current usage: no issued period ends after them."""
        periods = self.issued.get(event.client_id)
        if not periods or event.occurred_at >= periods[-1].end:
            return None
        received_at = self.validator.received_at
        return late_rejection(event, periods, received_at, self.catalog.late_event_days)


def _parts(events: Sequence[object]) -> Iterator[list[int]]:
    """The batch's indexes in event_id order, `PART` at a time. Every writer inserts in this
    one order, so on PostgreSQL two writers of overlapping batches lock rows in the same order
    and neither waits for the other in a cycle. An event without a text event_id is refused;
    where it falls does not matter."""
    ids = [raw.get("event_id") if type(raw) is dict else None for raw in events]
    keys = [value if type(value) is str else "" for value in ids]
    order = sorted(range(len(events)), key=keys.__getitem__)
    # A short first part, so the database starts writing early.
    start, size = 0, PART // 4
    while start < len(order):
        yield order[start : start + size]
        start, size = start + size, PART


def _oldest_instant(events: Sequence[object]) -> datetime | None:
    """The earliest valid `occurred_at` of the batch (the late-usage rule looks only at
    invoices whose period ends after it); invalid ones are refused later, by validation."""
    oldest: datetime | None = None
    for raw in events:
        stamp = raw.get("occurred_at") if type(raw) is dict else None
        if type(stamp) is not str:
            continue
        try:
            parsed = datetime.fromisoformat(stamp)
            instant = parsed.astimezone(UTC) if parsed.tzinfo is not None else None
        except (ValueError, OverflowError):
            continue
        if instant is not None and (oldest is None or instant < oldest):
            oldest = instant
    return oldest


def _stamp(events: list[ValidEvent]) -> None:
    for event, event_id in zip(events, uuid7_hex(len(events)), strict=True):
        event.id = event_id


def _resolve_clients(session: Session, catalog: Catalog, events: Sequence[object]) -> None:
    """Fill `catalog.clients` with the statuses of the clients these events name.

    Statuses read in the last few seconds are reused across requests (one query per batch
    for a thousand clients costs more than validating the batch): a client archived a moment
    ago may still receive events for up to five seconds (`_CLIENT_STATUS_TTL_NS`). Unknown ids
    are always looked up again, so a client created a moment ago is found at once.
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


def _count_written(
    repo: MeteringRepository,
    partner_id: str,
    sent: list[ValidEvent],
    written: int,
    result: IngestResult,
) -> None:
    """Count what was written; what was sent but not written was stored before: a replay when
    its body is the same, a conflict when not."""
    result.accepted += written
    if written == len(sent):
        return
    event_ids = (event.event_id for event in sent)
    if written == 0:  # a pure replay: no need to learn which rows are ours
        hashes = repo.stored_hashes(partner_id, event_ids)
        mine: set[str] = set()
    else:
        stored = repo.stored(partner_id, event_ids)
        hashes = {event_id: ref.body_hash for event_id, ref in stored.items()}
        mine = {ref.id.hex for ref in stored.values()}
    for event in sent:
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
            event.adjusts_id = original.id.hex
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
