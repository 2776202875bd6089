"""The dispute pack: every usage event behind each invoice line, and the proof that they add up.

For each usage type on the invoice, the events of the period (received by the time the invoice
was rated: its watermark) are aggregated again the way the usage type aggregates, and compared
with the quantity the invoice billed. Then each line gets its events:
- a line that prices all units (per unit, volume) gets every event;
- tiered and package lines cover consecutive ranges of the period's units (tier 1 = units
  0..1000, tier 2 = 1000..5000; included, then overage): events are taken in time order and
  an event that crosses a boundary is split, so the shares on each line add up to the line's
  quantity exactly (block-priced lines: to the units whose started blocks are billed);
- a prior-period adjustment line gets the events of its period received after what the
  earlier invoices covered, which add up to the change in quantity.
`max` and `unique_count` usage types are checked as a whole (the maximum, the number of
distinct values); their lines list the events without shares.

Each event shows its id, time, quantity, the share on the line and its wholesale cost (the
partner's view: the CSV sent to the client has no cost).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.models import Invoice, InvoiceLine, InvoiceLineKind, InvoiceUsage
from billing.invoicing.repository import InvoiceRepository
from billing.metering.models import UsageEvent
from billing.tenants.models import Aggregation, UsageType
from billing.tenants.repository import TenantRepository
from config.money import ceil_units

__all__ = [
    "EventShare",
    "InvoiceExplanation",
    "LineExplanation",
    "UsageCheck",
    "explain_invoice",
    "line_event_rows",
]

_ZERO = Decimal(0)
_PRICED_USAGE = frozenset(
    {InvoiceLineKind.USAGE, InvoiceLineKind.INCLUDED, InvoiceLineKind.OVERAGE}
)


@dataclass(frozen=True, slots=True)
class EventShare:
    event_id: str
    occurred_at: datetime
    received_at: datetime
    quantity: Decimal
    share: Decimal | None
    cost_minor: int
    adjustment: bool


@dataclass
class LineExplanation:
    position: int
    kind: str
    usage_type: str | None
    description: str
    quantity: Decimal
    block_size: Decimal | None
    events: list[EventShare] = field(default_factory=list)
    events_total: Decimal | None = None
    check: str = ""
    ok: bool = True


@dataclass
class UsageCheck:
    usage_type: str
    origin_period_start: str
    aggregation: str
    billed_quantity: Decimal
    events: int
    events_quantity: Decimal
    later_events: int
    ok: bool


@dataclass
class InvoiceExplanation:
    invoice_id: int
    number: str | None
    client_id: str
    lines: list[LineExplanation]
    usage: list[UsageCheck]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines) and all(u.ok for u in self.usage)


def _units(event: UsageEvent, aggregation: Aggregation) -> Decimal:
    """An event's contribution to a `sum` or `count` period quantity."""
    if aggregation is Aggregation.COUNT:
        if event.adjusts_id is None:
            return Decimal(1)
        return Decimal((event.quantity > 0) - (event.quantity < 0))
    return event.quantity


def _aggregate(events: Sequence[UsageEvent], aggregation: Aggregation, prop: str | None) -> Decimal:
    """The period quantity from events, as pricing's SQL aggregation computes it."""
    if aggregation is Aggregation.MAX:
        return _maximum(events)
    if aggregation is Aggregation.UNIQUE_COUNT:
        return _distinct_values(events, prop)
    return sum((_units(e, aggregation) for e in events), _ZERO)


def _maximum(events: Sequence[UsageEvent]) -> Decimal:
    """The largest original event, net of the adjustment events that reference it."""
    net: dict[object, Decimal] = {}
    for event in events:
        key = event.adjusts_id or event.id
        net[key] = net.get(key, _ZERO) + event.quantity
    originals = {e.id for e in events if e.adjusts_id is None}
    return max((q for k, q in net.items() if k in originals), default=_ZERO)


def _distinct_values(events: Sequence[UsageEvent], prop: str | None) -> Decimal:
    """How many distinct values of the property the original events carry (adjustment events
    add none)."""
    values = {
        str(e.properties.get(prop))
        for e in events
        if e.adjusts_id is None and e.properties and prop and e.properties.get(prop) is not None
    }
    return Decimal(len(values))


def _share(event: UsageEvent, share: Decimal | None) -> EventShare:
    return EventShare(
        event.event_id,
        event.occurred_at,
        event.received_at,
        event.quantity,
        share,
        event.wholesale_cost,
        event.adjusts_id is not None,
    )


def _split(
    events: Sequence[UsageEvent],
    aggregation: Aggregation,
    lines: Sequence[LineExplanation],
    total: Decimal,
) -> None:
    """Give each line the events (or parts) in its range of the period's units."""
    ranges = _unit_ranges(lines, total)
    _deal_events(events, aggregation, lines, ranges)
    for line, (low, high) in zip(lines, ranges, strict=True):
        _check_shares(line, high - low)


def _unit_ranges(lines: Sequence[LineExplanation], total: Decimal) -> list[tuple[Decimal, Decimal]]:
    """Consecutive ranges of the period's units, one per line: its quantity, or for a
    block-priced line (whose quantity counts blocks) what is left of the total."""
    ranges: list[tuple[Decimal, Decimal]] = []
    lower = _ZERO
    for line in lines:
        units = line.quantity if line.block_size is None else max(total - lower, _ZERO)
        ranges.append((lower, lower + units))
        lower += units
    return ranges


def _deal_events(
    events: Sequence[UsageEvent],
    aggregation: Aggregation,
    lines: Sequence[LineExplanation],
    ranges: Sequence[tuple[Decimal, Decimal]],
) -> None:
    """Walk the events in time order and give each line the share that overlaps its range (an
    event that crosses a boundary is split; one of no units goes where it stands)."""
    position = _ZERO
    for event in events:
        units = _units(event, aggregation)
        start, end = (position, position + units) if units >= 0 else (position + units, position)
        sign = 1 if units >= 0 else -1
        for line, (low, high) in zip(lines, ranges, strict=True):
            overlap = min(end, high) - max(start, low)
            if overlap > 0 or (units == 0 and low <= position < high):
                line.events.append(_share(event, sign * max(overlap, _ZERO)))
        position += units


def _check_shares(line: LineExplanation, range_units: Decimal) -> None:
    """Whether the shares a line received add up to its quantity (block-priced: to the
    started blocks it billed, and to its whole range of units)."""
    line.events_total = sum((e.share or _ZERO for e in line.events), _ZERO)
    if line.block_size is None:
        line.ok = line.events_total == line.quantity
        line.check = f"events add up to {line.events_total} = line quantity {line.quantity}"
        return
    blocks = ceil_units(line.events_total, line.block_size) if line.events_total > 0 else _ZERO
    line.ok = blocks == line.quantity and line.events_total == range_units
    line.check = (
        f"events add up to {line.events_total} units = {blocks} started blocks of "
        f"{line.block_size} = line quantity {line.quantity}"
    )


def _line(line: InvoiceLine) -> LineExplanation:
    return LineExplanation(
        line.position,
        str(line.kind),
        line.usage_type,
        line.description,
        line.quantity,
        line.block_size,
    )


@dataclass(frozen=True, slots=True)
class _UsageScope:
    """One usage row of the invoice and how its quantity is aggregated: the invoice's own
    period, or (not `own`) a prior-period adjustment of the row's origin period."""

    row: InvoiceUsage
    aggregation: Aggregation
    prop: str | None
    own: bool

    @property
    def additive(self) -> bool:
        return self.aggregation in (Aggregation.SUM, Aggregation.COUNT)


def explain_invoice(session: Session, invoice: Invoice) -> InvoiceExplanation:
    """Each line of the invoice with its events, and each usage row aggregated again."""
    repo = InvoiceRepository(session)
    types = {t.code: t for t in TenantRepository(session).usage_types(invoice.partner_id)}
    lines = repo.lines([invoice.invoice_id])[invoice.invoice_id]
    usage = repo.usage_rows([invoice.invoice_id])[invoice.invoice_id]
    explained = {line.position: _line(line) for line in lines}
    checks: list[UsageCheck] = []
    for row in usage:
        scope = _usage_scope(invoice, row, types.get(row.usage_type))
        events, later = _rated_events(session, invoice, scope)
        mine = [explained[line.position] for line in lines if _bills(line, scope)]
        if scope.own:
            quantity = _explain_period(scope, events, mine)
        else:
            quantity = _explain_adjustment(scope, events, mine)
        checks.append(_usage_check(scope, events, quantity, later))
    return InvoiceExplanation(
        invoice.invoice_id,
        invoice.number,
        invoice.client_id,
        [explained[line.position] for line in lines],
        checks,
    )


def _usage_scope(invoice: Invoice, row: InvoiceUsage, kind: UsageType | None) -> _UsageScope:
    """A usage type no longer configured aggregates as a sum."""
    return _UsageScope(
        row,
        kind.aggregation if kind else Aggregation.SUM,
        kind.aggregation_property if kind else None,
        row.origin_period_start == invoice.period_start,
    )


def _rated_events(
    session: Session, invoice: Invoice, scope: _UsageScope
) -> tuple[list[UsageEvent], int]:
    """The events the row was rated on (received by its watermark; for an adjustment, only
    those after what earlier invoices covered), and how many of the period arrived later."""
    row = scope.row
    if scope.own:
        start, end, since = invoice.period_start_at, invoice.period_end_at, None
    else:
        start, end, since = _origin_window(session, invoice, row)
    every = list(
        InvoiceRepository(session).events(
            invoice.partner_id, invoice.client_id, row.usage_type, start, end
        )
    )
    events = [
        e
        for e in every
        if e.received_at <= row.watermark and (since is None or e.received_at > since)
    ]
    later = sum(1 for e in every if e.received_at > row.watermark)
    return events, later


def _bills(line: InvoiceLine, scope: _UsageScope) -> bool:
    """Whether the line bills the row: a priced usage line of the invoice's own period, or the
    adjustment line of the row's origin period."""
    if line.usage_type != scope.row.usage_type:
        return False
    if scope.own:
        return line.kind in _PRICED_USAGE
    return (
        line.kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
        and line.origin_period_start == scope.row.origin_period_start
    )


def _explain_period(
    scope: _UsageScope, events: list[UsageEvent], lines: list[LineExplanation]
) -> Decimal:
    """The period's quantity from its events; additive lines get their shares, the others
    every event and a check of the whole."""
    quantity = _aggregate(events, scope.aggregation, scope.prop)
    if scope.additive and lines:
        _split(events, scope.aggregation, lines, quantity)
        return quantity
    for line in lines:
        line.events = [_share(e, None) for e in events]
        line.check = f"{scope.aggregation} of the period's events = {quantity}"
        line.ok = quantity == scope.row.quantity
    return quantity


def _explain_adjustment(
    scope: _UsageScope, events: list[UsageEvent], lines: list[LineExplanation]
) -> Decimal:
    """The change billed for a prior period: the late events add up to it when the usage type
    is additive; otherwise the period was aggregated again as a whole."""
    row, aggregation, additive = scope.row, scope.aggregation, scope.additive
    quantity = sum((_units(e, aggregation) for e in events), _ZERO) if additive else row.quantity
    check = (
        f"late events add up to {quantity} = change billed {row.quantity}"
        if additive
        else f"period re-aggregated ({aggregation}): {row.total_quantity}"
    )
    for line in lines:
        line.events = [_share(e, _units(e, aggregation) if additive else None) for e in events]
        line.events_total = quantity if additive else None
        line.ok = quantity == row.quantity
        line.check = check
    return quantity


def _usage_check(
    scope: _UsageScope, events: list[UsageEvent], quantity: Decimal, later: int
) -> UsageCheck:
    row = scope.row
    return UsageCheck(
        row.usage_type,
        row.origin_period_start.isoformat(),
        str(scope.aggregation),
        row.quantity,
        len(events),
        quantity,
        later,
        quantity == row.quantity or (not scope.own and not scope.additive),
    )


def _origin_window(
    session: Session, invoice: Invoice, row: InvoiceUsage
) -> tuple[datetime, datetime, datetime | None]:
    """The origin period's window and the watermark of what earlier invoices covered."""
    repo = InvoiceRepository(session)
    origin = next(
        (
            i
            for i in repo.invoices_for_period(
                invoice.partner_id, invoice.client_id, row.origin_period_start
            )
        ),
        None,
    )
    if origin is None:
        raise ValueError(f"no invoice for the period starting {row.origin_period_start}")
    marks = repo.coverage_marks(
        invoice.partner_id, invoice.client_id, row.usage_type, row.origin_period_start
    )
    since = max((m for m in marks if m < row.watermark), default=origin.watermark)
    return origin.period_start_at, origin.period_end_at, since


def line_event_rows(
    session: Session, invoice: Invoice, position: int | None = None
) -> Iterator[tuple[str, str, datetime, Decimal]]:
    """(line, event id, time, quantity on the line) for the CSV sent with the invoice (and
    for one line's CSV in the client portal: `position`). No charge per event: lines are priced
    on the period's total, not event by event (`billing.documents.events_csv` says why)."""
    for line in explain_invoice(session, invoice).lines:
        if position is not None and line.position != position:
            continue
        label = f"{line.position}. {line.description}"
        for event in line.events:
            yield (
                label,
                event.event_id,
                event.occurred_at,
                event.share if event.share is not None else event.quantity,
            )
