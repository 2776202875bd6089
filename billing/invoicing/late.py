"""Late usage: what arrived for a client's issued periods after they were rated.

For the client's issued periods that may still receive events (within the partner's
`late_event_days`), events received after the period was rated (its watermark, less a margin
for an ingest that began before the rating and committed after it) are found with a cheap query
on the few recent rows. For those (period, usage type) pairs the whole period is aggregated
again (pricing's SQL aggregation) and rated again with the prices in force for that period, and
compared with what the client's invoices that stand (drafts included, so two open drafts never
bill the same late usage) already billed of it. The difference in quantity, usage charge and
cost is a prior-period adjustment. Because totals are compared, an event is billed exactly once
whatever the timing, and never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.drafts import Adjustment
from billing.invoicing.models import Invoice
from billing.invoicing.repository import BilledUsage, InvoiceRepository
from billing.pricing.book import PriceBook
from billing.pricing.usage_repository import AggregationRule, UsageTotal, UsageTotalsRepository
from billing.rating import BillingPeriod, effective_prices, rate_usage
from billing.tenants.models import Partner, UsageType
from billing.tenants.repository import TenantRepository
from config.db_types import utcnow

__all__ = ["RunContext", "late_adjustments"]

_ZERO = Decimal(0)
_LATE_MARGIN = timedelta(minutes=10)  # an ingest that began before a rating may commit after it
_LATE_LOOKBACK_EXTRA = timedelta(days=62)


class RunContext:
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


def _candidates(
    ctx: RunContext, client_ids: Sequence[str], billed: dict[tuple[str, date, str], BilledUsage]
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


def late_adjustments(
    ctx: RunContext, client_ids: Sequence[str], exclude_invoice_id: int | None = None
) -> dict[str, list[Adjustment]]:
    billed = ctx.repo.billed_usage(
        ctx.partner.id, client_ids, exclude_invoice_id=exclude_invoice_id
    )
    candidates = _candidates(ctx, client_ids, billed)
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
