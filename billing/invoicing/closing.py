"""Closing billing cycles: a draft per client and due period, and refreshing drafts.

Each draft is rated exactly as live figures and accrual rate the period: pricing's price book
(the version in force at the period start), pricing's SQL aggregation of the period's usage,
and rating's `rate_period` and `rate_costs`. Clients sharing a time zone and period share one
grouped query, so a cycle of 10,000 clients is a handful of queries and bulk inserts.

Late usage: for the client's issued periods that may still receive events (the partner's
`late_event_days`), events received after the period was rated are looked up (a cheap query on
the few recent rows); for those periods the whole period is aggregated again and compared with
what the client's standing invoices already billed of it. The difference in quantity, usage
charge and cost becomes a prior-period adjustment on the new draft. Because the comparison is
of totals, an event is billed once whatever the timing, and never dropped.

Closing is exactly-once: a (client, period) with any invoice is skipped, and the insert itself
skips a pair another closer wrote a moment earlier (unique index, `ON CONFLICT DO NOTHING`).
Services never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.cycles import (
    ClientCycle,
    due_periods,
    grace_hours,
    is_due,
    parse_month,
    period_starting_in,
)
from billing.invoicing.drafts import Adjustment, DraftInvoice, DraftUsage, build_lines, plain
from billing.invoicing.errors import InvalidTransitionError, InvoiceNotFoundError
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceStatus, InvoiceUsage
from billing.invoicing.repository import BilledUsage, InvoiceRepository
from billing.pricing.book import NO_PLAN, PriceBook, local_today, period_window
from billing.pricing.service import load_book
from billing.pricing.usage_repository import AggregationRule, UsageTotal, UsageTotalsRepository
from billing.rating import (
    BillingPeriod,
    ClientTerms,
    PeriodStatement,
    UsageCharge,
    effective_prices,
    rate_costs,
    rate_period,
    rate_usage,
)
from billing.tenants.models import Client, Partner, UsageType
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.db_types import utcnow

__all__ = ["CloseResult", "close_cycles", "redraft", "refresh_draft"]

_ZERO = Decimal(0)
_FILTER_LIMIT = 2000  # like live figures: name the clients in a window's query up to this many
_LATE_MARGIN = timedelta(minutes=10)  # an ingest that began before a rating may commit after it
_LATE_LOOKBACK_EXTRA = timedelta(days=62)


@dataclass
class CloseResult:
    created: list[int] = field(default_factory=list)
    auto_approved: int = 0
    adjustments: int = 0
    already_closed: int = 0
    not_due: list[tuple[str, date]] = field(default_factory=list)
    nothing_to_bill: list[tuple[str, date]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Target:
    client: Client
    period: BillingPeriod


@dataclass
class _Rated:
    target: _Target
    window: tuple[datetime, datetime]
    statement: PeriodStatement
    terms: ClientTerms
    costs: dict[str, UsageCharge]
    totals: dict[str, UsageTotal]
    draft: DraftInvoice
    auto_charge: bool
    adjustments: int


class _Context:
    """What one run reads once: partner, usage types, price book, the run's clocks."""

    def __init__(self, session: Session, partner: Partner, book: PriceBook, now: datetime) -> None:
        self.session = session
        self.partner = partner
        self.book = book
        self.now = now
        # Watermarks compare with events' `received_at`, which is wall-clock time, even when
        # `now` (which periods are due) is another moment in tests or a backfill.
        self.snapshot = utcnow()
        self.types: dict[str, UsageType] = {
            t.code: t for t in TenantRepository(session).usage_types(partner.id)
        }
        self.rules = {
            code: AggregationRule(t.aggregation, t.aggregation_property)
            for code, t in self.types.items()
        }
        self.repo = InvoiceRepository(session)
        self.usage = UsageTotalsRepository(session)


def _first_day(book: PriceBook, client: Client) -> tuple[date | None, date | None]:
    starts_on, ends_on = book.dates.get(client.id, (None, None))
    if starts_on is None:
        starts_on = local_today(client.timezone, client.created_at)
    return starts_on, ends_on


def _targets(
    ctx: _Context,
    clients: Sequence[Client],
    closed: dict[str, set[date]],
    month: tuple[int, int] | None,
    result: CloseResult,
) -> list[_Target]:
    grace = grace_hours(ctx.partner.settings)
    targets: list[_Target] = []
    for client in clients:
        first, last = _first_day(ctx.book, client)
        cycle = ClientCycle(client.id, client.timezone, client.billing_anchor_day, first, last)
        done = closed.get(client.id, set())
        if month is not None:
            period = period_starting_in(cycle, *month)
            if period.start in done:
                result.already_closed += 1
            elif not is_due(cycle, period, ctx.now, grace):
                result.not_due.append((client.id, period.start))
            else:
                targets.append(_Target(client, period))
            continue
        newest = max(done, default=None)
        for period in due_periods(cycle, ctx.now, grace, newest):
            targets.append(_Target(client, period))
    return targets


def _totals(
    ctx: _Context, targets: Sequence[_Target]
) -> dict[tuple[str, date], tuple[tuple[datetime, datetime], dict[str, UsageTotal]]]:
    groups: dict[tuple[BillingPeriod, str], list[_Target]] = defaultdict(list)
    for target in targets:
        groups[(target.period, target.client.timezone)].append(target)
    found: dict[tuple[str, date], tuple[tuple[datetime, datetime], dict[str, UsageTotal]]] = {}
    for (period, timezone), members in groups.items():
        window = period_window(period, timezone)
        named = [t.client.id for t in members] if len(members) <= _FILTER_LIMIT else None
        totals = ctx.usage.totals(ctx.partner.id, *window, ctx.rules, named)
        by_client: dict[str, dict[str, UsageTotal]] = defaultdict(dict)
        for (client_id, usage_type), total in totals.items():
            by_client[client_id][usage_type] = total
        for target in members:
            found[(target.client.id, period.start)] = (window, by_client.get(target.client.id, {}))
    return found


def _late_candidates(
    ctx: _Context, client_ids: Sequence[str], billed: dict[tuple[str, date, str], BilledUsage]
) -> dict[str, list[tuple[Invoice, set[str]]]]:
    """Client -> [(issued invoice, usage types with events received after it was rated)]."""
    late_days = int(ctx.partner.settings.get("late_event_days", 90))
    oldest = min(ctx.now, ctx.snapshot) - timedelta(days=late_days) - _LATE_LOOKBACK_EXTRA
    issued = ctx.repo.issued_since(ctx.partner.id, client_ids, oldest)
    windows: dict[tuple[datetime, datetime], list[Invoice]] = defaultdict(list)
    for invoice in issued:
        windows[(invoice.period_start_at, invoice.period_end_at)].append(invoice)
    found: dict[str, list[tuple[Invoice, set[str]]]] = defaultdict(list)
    for (start, end), invoices in windows.items():
        by_client = {invoice.client_id: invoice for invoice in invoices}
        since = min(invoice.watermark for invoice in invoices) - _LATE_MARGIN
        flagged: dict[str, set[str]] = defaultdict(set)
        for event in ctx.repo.late_events(ctx.partner.id, list(by_client), start, end, since):
            invoice = by_client[event.client_id]
            seen = billed.get((event.client_id, invoice.period_start, event.usage_type))
            mark = seen.watermark if seen and seen.watermark else invoice.watermark
            if event.received_at > mark - _LATE_MARGIN:
                flagged[event.client_id].add(event.usage_type)
        for client_id, usage_types in flagged.items():
            found[client_id].append((by_client[client_id], usage_types))
    return found


def _adjustments(
    ctx: _Context, client_ids: Sequence[str], exclude_invoice_id: int | None = None
) -> dict[str, list[Adjustment]]:
    billed = ctx.repo.billed_usage(
        ctx.partner.id, client_ids, exclude_invoice_id=exclude_invoice_id
    )
    candidates = _late_candidates(ctx, client_ids, billed)
    found: dict[str, list[Adjustment]] = defaultdict(list)
    for client_id, items in candidates.items():
        for invoice, usage_types in sorted(items, key=lambda item: item[0].period_start):
            period = BillingPeriod(invoice.period_start, invoice.period_end + timedelta(days=1))
            totals = ctx.usage.totals(
                ctx.partner.id,
                invoice.period_start_at,
                invoice.period_end_at,
                ctx.rules,
                [client_id],
            )
            pricing = ctx.book.client_pricing(client_id, period)
            prices = effective_prices(pricing.plan, pricing.terms)
            for usage_type in sorted(usage_types):
                total = totals.get((client_id, usage_type), UsageTotal(_ZERO, 0, None))
                rated_quantity = max(total.quantity, _ZERO)
                price = prices.get(usage_type)
                charge = 0
                if price is not None:
                    charge = rate_usage(
                        price, rated_quantity, invoice.currency, usage_type=usage_type
                    ).amount
                cost_price = pricing.wholesale.get(usage_type)
                cost = 0
                if cost_price is not None:
                    cost = rate_usage(
                        cost_price, rated_quantity, ctx.book.currency, usage_type=usage_type
                    ).amount
                before = billed.get((client_id, invoice.period_start, usage_type), BilledUsage())
                delta = total.quantity - before.quantity
                if delta == 0 and charge == before.charge and cost == before.cost:
                    continue
                kind = ctx.types.get(usage_type)
                found[client_id].append(
                    Adjustment(
                        usage_type=usage_type,
                        origin_start=invoice.period_start,
                        origin_last_day=invoice.period_end,
                        name=ctx.book.names.get(usage_type, usage_type),
                        unit=kind.unit if kind else "unit",
                        quantity=delta,
                        total_quantity=total.quantity,
                        charge=charge - before.charge,
                        cost=cost - before.cost,
                        events=total.events,
                        watermark=ctx.snapshot,
                    )
                )
    return found


def _rate(
    ctx: _Context,
    targets: Sequence[_Target],
    adjustments: dict[str, list[Adjustment]],
) -> list[_Rated]:
    totals = _totals(ctx, targets)
    newest: dict[str, date] = {}
    for target in targets:
        seen = newest.get(target.client.id)
        newest[target.client.id] = (
            target.period.start if seen is None else max(seen, target.period.start)
        )
    rated: list[_Rated] = []
    for target in targets:
        client, period = target.client, target.period
        window, usage = totals[(client.id, period.start)]
        pricing = ctx.book.client_pricing(client.id, period)
        quantities = {code: max(total.quantity, _ZERO) for code, total in usage.items()}
        statement = rate_period(
            pricing.plan, quantities, client.currency, period, pricing.terms, names=ctx.book.names
        )
        costs = rate_costs(pricing.wholesale, quantities, ctx.book.currency)
        late = adjustments.get(client.id, []) if newest[client.id] == period.start else []
        draft = DraftInvoice(
            build_lines(statement, costs, pricing.terms.discount_percent, pricing.terms.tax, late)
        )
        codes = set(usage) | {charge.usage_type for charge in statement.usage}
        codes |= {code for code, cost in costs.items() if cost.amount}
        for code in sorted(codes):
            total = usage.get(code, UsageTotal(_ZERO, 0, None))
            charge = statement.usage_charge(code)
            cost = costs.get(code)
            draft.usage.append(
                DraftUsage(
                    code,
                    period.start,
                    total.quantity,
                    total.quantity,
                    charge.amount if charge else 0,
                    cost.amount if cost else 0,
                    total.events,
                    ctx.snapshot,
                )
            )
        for item in late:
            draft.usage.append(
                DraftUsage(
                    item.usage_type,
                    item.origin_start,
                    item.quantity,
                    item.total_quantity,
                    item.charge,
                    item.cost,
                    item.events,
                    item.watermark,
                )
            )
        terms = ctx.book.terms_at(client.id, period.start)
        events = sum(total.events for total in usage.values())
        if pricing.plan is NO_PLAN and events == 0 and not late:
            continue
        auto_charge = bool(terms and terms.auto_charge)
        rated.append(
            _Rated(
                target,
                window,
                statement,
                pricing.terms,
                costs,
                usage,
                draft,
                auto_charge,
                len(late),
            )
        )
    return rated


def _invoice_values(ctx: _Context, item: _Rated) -> dict[str, object]:
    """The columns of a draft computed from its rating (shared by insert and refresh)."""
    tax = item.terms.tax
    return {
        "currency": item.statement.currency,
        "plan_name": item.statement.plan_name,
        "subtotal_minor": item.draft.subtotal,
        "discount_minor": item.draft.discount,
        "tax_minor": item.draft.tax,
        "total_minor": item.draft.total,
        "discount_percent": item.terms.discount_percent,
        "tax_name": tax.name if tax else None,
        "tax_percent": tax.percent if tax else None,
        "cost_minor": item.draft.cost,
        "cost_currency": ctx.book.currency,
        "auto_charge": item.auto_charge,
        "watermark": ctx.snapshot,
        "usage_events": sum(total.events for total in item.totals.values()),
        "net_terms_days": int(ctx.partner.settings.get("net_terms_days", 30)),
        "updated_at": ctx.snapshot,
    }


def _content_rows(
    invoice_id: int, client_id: str, partner_id: str, draft: DraftInvoice
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    lines: list[dict[str, object]] = [
        {
            "invoice_id": invoice_id,
            "position": position,
            "kind": line.kind,
            "usage_type": line.usage_type,
            "description": line.description[:500],
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount_minor": line.amount,
            "cost_minor": line.cost,
            "tier": line.tier,
            "block_size": line.block_size,
            "origin_period_start": line.origin_period_start,
        }
        for position, line in enumerate(draft.lines, start=1)
    ]
    usage = [
        {
            "invoice_id": invoice_id,
            "partner_id": partner_id,
            "client_id": client_id,
            "usage_type": row.usage_type,
            "origin_period_start": row.origin_period_start,
            "quantity": plain(row.quantity),
            "total_quantity": plain(row.total_quantity),
            "charge_minor": row.charge,
            "cost_minor": row.cost,
            "events": row.events,
            "watermark": row.watermark,
            "unbilled_cleared_minor": 0,
            "cost_cleared_minor": 0,
        }
        for row in draft.usage
    ]
    return lines, usage


def close_cycles(
    session: Session,
    partner_id: str,
    now: datetime | None = None,
    *,
    period: str | None = None,
    client_id: str | None = None,
) -> CloseResult:
    """Create a draft for every due (client, period) without an invoice; auto-approve those
    the partner or client set so. Running it again creates nothing new."""
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    partner = get_partner(session, partner_id)
    month = parse_month(period) if period else None
    if client_id is not None:
        clients = [get_client(session, partner_id, client_id)]
    else:
        clients = TenantRepository(session).clients(partner_id)
    book = load_book(session, partner_id, [client_id] if client_id else None)
    ctx = _Context(session, partner, book, now or utcnow())
    result = CloseResult()
    closed = repo.closed_periods(partner_id, [client_id] if client_id else None)
    targets = _targets(ctx, clients, closed, month, result)
    _draft(ctx, targets, result)
    return result


def redraft(
    session: Session,
    partner_id: str,
    client_id: str,
    period: BillingPeriod,
    now: datetime | None = None,
) -> int | None:
    """A fresh draft for a period whose invoice was voided (void and re-bill); None when there
    is nothing to bill or a live invoice exists."""
    InvoiceRepository(session).claim_sqlite_writer()
    partner = get_partner(session, partner_id)
    client = get_client(session, partner_id, client_id)
    ctx = _Context(session, partner, load_book(session, partner_id, [client_id]), now or utcnow())
    result = CloseResult()
    _draft(ctx, [_Target(client, period)], result)
    return result.created[0] if result.created else None


def _draft(ctx: _Context, targets: Sequence[_Target], result: CloseResult) -> None:
    if not targets:
        return
    repo, partner_id = ctx.repo, ctx.partner.id
    client_ids = sorted({t.client.id for t in targets})
    adjustments = _adjustments(ctx, client_ids)
    rated = _rate(ctx, targets, adjustments)
    rated_keys = {(r.target.client.id, r.target.period.start) for r in rated}
    result.nothing_to_bill += [
        (t.client.id, t.period.start)
        for t in targets
        if (t.client.id, t.period.start) not in rated_keys
    ]
    overrides = repo.auto_approve_overrides(partner_id)
    partner_auto = bool(ctx.partner.settings.get("auto_approve", False))
    rows = []
    for item in rated:
        client, billing_period = item.target.client, item.target.period
        auto = overrides.get(client.id, partner_auto)
        start_at, end_at = item.window
        rows.append(
            {
                "partner_id": partner_id,
                "client_id": client.id,
                "number": None,
                "status": InvoiceStatus.APPROVED if auto else InvoiceStatus.DRAFT,
                "period_start": billing_period.start,
                "period_end": billing_period.last_day,
                "period_start_at": start_at,
                "period_end_at": end_at,
                "timezone": client.timezone,
                "amount_paid_minor": 0,
                "credited_minor": 0,
                "approved_at": ctx.snapshot if auto else None,
                "approved_by": "auto" if auto else None,
                "version": 1,
                "created_at": ctx.snapshot,
                **_invoice_values(ctx, item),
            }
        )
    written = repo.insert_invoices(rows)
    lines: list[dict[str, object]] = []
    usage: list[dict[str, object]] = []
    for item in rated:
        key = (item.target.client.id, item.target.period.start)
        invoice_id = written.get(key)
        if invoice_id is None:
            result.already_closed += 1
            continue
        more_lines, more_usage = _content_rows(invoice_id, key[0], partner_id, item.draft)
        lines += more_lines
        usage += more_usage
        result.created.append(invoice_id)
        result.adjustments += item.adjustments
        if overrides.get(key[0], partner_auto):
            result.auto_approved += 1
    repo.insert_rows(InvoiceLine, lines)
    repo.insert_rows(InvoiceUsage, usage)


def refresh_draft(
    session: Session, partner_id: str, invoice_id: int, now: datetime | None = None
) -> Invoice:
    """Rate a draft again from the usage and prices there are now (late events included)."""
    repo = InvoiceRepository(session)
    repo.claim_sqlite_writer()
    invoice = repo.invoice(partner_id, invoice_id, lock=True)
    if invoice is None:
        raise InvoiceNotFoundError(str(invoice_id))
    if invoice.status is not InvoiceStatus.DRAFT:
        raise InvalidTransitionError(
            str(invoice.id), invoice.status, "refresh", "only drafts are re-rated"
        )
    partner = get_partner(session, partner_id)
    client = get_client(session, partner_id, invoice.client_id)
    book = load_book(session, partner_id, [client.id])
    ctx = _Context(session, partner, book, now or utcnow())
    period = BillingPeriod(invoice.period_start, invoice.period_end + timedelta(days=1))
    adjustments = _adjustments(ctx, [client.id], exclude_invoice_id=invoice.invoice_id)
    rated = _rate(ctx, [_Target(client, period)], adjustments)
    repo.delete_draft_content(invoice.invoice_id)
    if rated:
        item = rated[0]
        for name, value in _invoice_values(ctx, item).items():
            setattr(invoice, name, value)
        lines, usage = _content_rows(invoice.invoice_id, client.id, partner_id, item.draft)
    else:
        for name in ("subtotal_minor", "discount_minor", "tax_minor", "total_minor", "cost_minor"):
            setattr(invoice, name, 0)
        lines, usage = [], []
    invoice.version += 1
    invoice.updated_at = ctx.snapshot
    session.add(invoice)
    session.flush()
    repo.insert_rows(InvoiceLine, lines)
    repo.insert_rows(InvoiceUsage, usage)
    return invoice
