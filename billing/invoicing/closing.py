"""Closing billing cycles: a draft per client and due period, and refreshing drafts.

Each draft is rated exactly as live figures and accrual rate the period: pricing's price book
(the version in force at the period start), pricing's SQL aggregation of the period's usage,
and rating's `rate_period` and `rate_costs`. Clients sharing a time zone and period share one
grouped query, so a cycle of 10,000 clients is a handful of queries and bulk inserts.

Late usage of the client's issued periods (see `late`) becomes prior-period adjustment lines on
the client's newest draft of the run.

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
from types import SimpleNamespace

from sqlmodel import Session

from billing.invoicing.cycles import (
    ClientCycle,
    due_periods,
    is_due,
    parse_month,
    period_starting_in,
)
from billing.invoicing.draft_rows import (
    LINE_COLUMNS,
    USAGE_COLUMNS,
    Rated,
    Target,
    content_rows,
    insert_invoices,
    invoice_values,
)
from billing.invoicing.drafts import Adjustment, DraftInvoice, DraftUsage, build_lines
from billing.invoicing.errors import InvalidTransitionError, InvoiceNotFoundError
from billing.invoicing.late import RunContext, late_adjustments
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceStatus, InvoiceUsage
from billing.invoicing.repository import ClientInfo, InvoiceRepository
from billing.pricing.accrual import grace_period
from billing.pricing.book import NO_PLAN, PriceBook, local_today, period_window
from billing.pricing.service import load_book
from billing.pricing.usage_repository import UsageTotal
from billing.rating import (
    BillingPeriod,
    rate_costs,
    rate_period,
)
from billing.tenants.errors import NotFoundError
from billing.tenants.service import get_partner
from billing.webhooks import EventType, emit_many
from billing.webhooks.events import invoice_data
from config.db_types import utcnow

__all__ = ["CloseResult", "close_cycles", "redraft", "refresh_draft"]

_ZERO = Decimal(0)
_NO_USAGE = UsageTotal(_ZERO, 0, None)
_FILTER_LIMIT = 2000  # like live figures: name the clients in a window's query up to this many


@dataclass
class CloseResult:
    created: list[int] = field(default_factory=list)
    auto_approved: int = 0
    adjustments: int = 0
    already_closed: int = 0
    not_due: list[tuple[str, date]] = field(default_factory=list)
    nothing_to_bill: list[tuple[str, date]] = field(default_factory=list)


def _client(repo: InvoiceRepository, partner_id: str, client_id: str) -> ClientInfo:
    found = repo.client_infos(partner_id, client_id)
    if not found:
        raise NotFoundError("client", client_id)
    return found[0]


def _first_day(book: PriceBook, client: ClientInfo) -> tuple[date | None, date | None]:
    starts_on, ends_on = book.dates.get(client.id, (None, None))
    if starts_on is None:
        starts_on = local_today(client.timezone, client.created_at)
    return starts_on, ends_on


def _targets(
    ctx: RunContext,
    clients: Sequence[ClientInfo],
    closed: dict[str, set[date]],
    month: tuple[int, int] | None,
    result: CloseResult,
) -> list[Target]:
    grace = grace_period(ctx.partner.settings)
    targets: list[Target] = []
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
                targets.append(Target(client, period))
            continue
        newest = max(done, default=None)
        for period in due_periods(cycle, ctx.now, grace, newest):
            targets.append(Target(client, period))
    return targets


def _totals(
    ctx: RunContext, targets: Sequence[Target]
) -> dict[tuple[str, date], tuple[tuple[datetime, datetime], dict[str, UsageTotal]]]:
    groups: dict[tuple[BillingPeriod, str], list[Target]] = defaultdict(list)
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


def _rate(
    ctx: RunContext,
    targets: Sequence[Target],
    adjustments: dict[str, list[Adjustment]],
) -> list[Rated]:
    totals = _totals(ctx, targets)
    newest: dict[str, date] = {}
    for target in targets:
        seen = newest.get(target.client.id)
        newest[target.client.id] = (
            target.period.start if seen is None else max(seen, target.period.start)
        )
    rated: list[Rated] = []
    for target in targets:
        client, period = target.client, target.period
        window, usage = totals[(client.id, period.start)]
        pricing = ctx.book.client_pricing(client.id, period)
        late = adjustments.get(client.id, []) if newest[client.id] == period.start else []
        if pricing.plan is NO_PLAN and not usage and not late:
            continue  # nothing to bill: no plan in force, no usage, no late usage
        quantities = {code: max(total.quantity, _ZERO) for code, total in usage.items()}
        statement = rate_period(
            pricing.plan, quantities, client.currency, period, pricing.terms, names=ctx.book.names
        )
        costs = rate_costs(pricing.wholesale, quantities, ctx.book.currency)
        draft = DraftInvoice(build_lines(statement, costs, pricing.terms.tax, late))
        charges = {charge.usage_type: charge.amount for charge in statement.usage}
        cost_amounts = {code: cost.amount for code, cost in costs.items()}
        codes = set(usage) | set(charges) | {c for c, amount in cost_amounts.items() if amount}
        for code in sorted(codes):
            total = usage.get(code, _NO_USAGE)
            draft.usage.append(
                DraftUsage(
                    code,
                    period.start,
                    total.quantity,
                    total.quantity,
                    charges.get(code, 0),
                    cost_amounts.get(code, 0),
                    total.events,
                    ctx.snapshot,
                )
            )
        for item in late:
            if item.usage_type is None:
                continue  # base fee, true-up, discount: lines only, no usage row
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
        auto_charge = bool(terms and terms.auto_charge)
        rated.append(
            Rated(
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
    clients = repo.client_infos(partner_id, client_id)
    if client_id is not None and not clients:
        raise NotFoundError("client", client_id)
    book = load_book(session, partner_id, [client_id] if client_id else None)
    ctx = RunContext(session, partner, book, now or utcnow())
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
    client = _client(InvoiceRepository(session), partner_id, client_id)
    ctx = RunContext(session, partner, load_book(session, partner_id, [client_id]), now or utcnow())
    result = CloseResult()
    _draft(ctx, [Target(client, period)], result)
    return result.created[0] if result.created else None


def _draft(ctx: RunContext, targets: Sequence[Target], result: CloseResult) -> None:
    if not targets:
        return
    repo, partner_id = ctx.repo, ctx.partner.id
    client_ids = sorted({t.client.id for t in targets})
    adjustments = late_adjustments(ctx, client_ids)
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
                **invoice_values(ctx, item),
            }
        )
    written = insert_invoices(repo, rows)
    _emit_drafted(ctx, rows, written)
    lines: list[tuple[object, ...]] = []
    usage: list[tuple[object, ...]] = []
    for item in rated:
        key = (item.target.client.id, item.target.period.start)
        invoice_id = written.get(key)
        if invoice_id is None:
            result.already_closed += 1
            continue
        more_lines, more_usage = content_rows(invoice_id, key[0], partner_id, item.draft)
        lines += more_lines
        usage += more_usage
        result.created.append(invoice_id)
        result.adjustments += item.adjustments
        if overrides.get(key[0], partner_auto):
            result.auto_approved += 1
    repo.insert_bulk(InvoiceLine, LINE_COLUMNS, lines)
    repo.insert_bulk(InvoiceUsage, USAGE_COLUMNS, usage)


def _emit_drafted(
    ctx: RunContext, rows: Sequence[dict[str, object]], written: dict[tuple[str, date], int]
) -> None:
    """`invoice.drafted` per draft written, in the closing transaction (docs/webhooks.md)."""
    items = []
    for row in rows:
        invoice_id = written.get((str(row["client_id"]), row["period_start"]))  # type: ignore[arg-type]
        if invoice_id is not None:
            shape = SimpleNamespace(**{"issued_at": None, "due_at": None, **row, "id": invoice_id})
            items.append((str(invoice_id), invoice_data(shape)))
    emit_many(ctx.session, ctx.partner.id, EventType.INVOICE_DRAFTED, items, now=ctx.snapshot)


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
    client = _client(repo, partner_id, invoice.client_id)
    book = load_book(session, partner_id, [client.id])
    ctx = RunContext(session, partner, book, now or utcnow())
    period = BillingPeriod(invoice.period_start, invoice.period_end + timedelta(days=1))
    adjustments = late_adjustments(ctx, [client.id], exclude_invoice_id=invoice.invoice_id)
    rated = _rate(ctx, [Target(client, period)], adjustments)
    repo.delete_draft_content(invoice.invoice_id)
    if rated:
        item = rated[0]
        for name, value in invoice_values(ctx, item).items():
            setattr(invoice, name, value)
        lines, usage = content_rows(invoice.invoice_id, client.id, partner_id, item.draft)
    else:
        for name in ("subtotal_minor", "discount_minor", "tax_minor", "total_minor", "cost_minor"):
            setattr(invoice, name, 0)
        lines, usage = [], []
    invoice.version += 1
    invoice.updated_at = ctx.snapshot
    session.add(invoice)
    session.flush()
    repo.insert_bulk(InvoiceLine, LINE_COLUMNS, lines)
    repo.insert_bulk(InvoiceUsage, USAGE_COLUMNS, usage)
    return invoice
