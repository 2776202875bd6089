"""Late usage: what arrived for a client's issued periods after they were rated.

For the client's issued periods that may still receive events (within the partner's
`late_event_days`), events received after the period was rated (its watermark, less a margin
for an ingest that began before the rating and committed after it) are found with a cheap query
on the few recent rows. A period with such events is re-rated in full: its whole usage
aggregated again (pricing's SQL aggregation) and rated with the prices and terms in force for
that period by `rate_period`, the function that rated its invoice, so tiers, volume, packages,
base fee, minimum spend and discount all apply as they would have. The re-rated statement net
of tax is compared, part by part, with what the client's invoices that stand (drafts included,
so two open drafts never bill the same late usage) billed of that period: each usage type's
quantity, charge and cost, the base fee, the minimum-spend true-up and the discount. The
differences are the prior-period adjustment, so the adjustment in total is exactly `full
re-rating - invoiced`: a client never pays more than a full re-rating of the period would
charge (5.00 of usage raised to a 10.00 minimum, then 4.00 of late usage: +4.00 of usage and
-4.00 of true-up, 0.00 in all). Because totals are compared, an event is billed exactly once
whatever the timing, and never dropped. Tax is not part of it: the invoice that carries the
adjustment taxes it (see `drafts`).

Margins call it with `issued_only` for the late usage of a period that is not invoiced yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.drafts import Adjustment
from billing.invoicing.models import Invoice, InvoiceLineKind
from billing.invoicing.repository import BilledUsage, InvoiceRepository
from billing.pricing.book import PriceBook
from billing.pricing.usage_repository import AggregationRule, UsageTotal, UsageTotalsRepository
from billing.rating import BillingPeriod, rate_costs, rate_period
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
    ctx: RunContext,
    client_ids: Sequence[str],
    exclude_invoice_id: int | None = None,
    *,
    issued_only: bool = False,
) -> dict[str, list[Adjustment]]:
    """Client -> the adjustments its next invoice carries (oldest origin period first). With
    `issued_only`, drafts do not count as billed (what margins call unbilled)."""
    billed = ctx.repo.billed_usage(
        ctx.partner.id, client_ids, exclude_invoice_id=exclude_invoice_id, issued_only=issued_only
    )
    candidates = _candidates(ctx, client_ids, billed)
    fixed = (
        ctx.repo.billed_fixed(
            ctx.partner.id,
            sorted(candidates),
            {invoice.period_start for items in candidates.values() for invoice, _ in items},
            issued_only=issued_only,
            exclude_invoice_id=exclude_invoice_id,
        )
        if candidates
        else {}
    )
    found: dict[str, list[Adjustment]] = defaultdict(list)
    for client_id, items in candidates.items():
        for invoice, _ in sorted(items, key=lambda item: item[0].period_start):
            found[client_id] += _rerate(ctx, client_id, invoice, billed, fixed)
    return found


def _rerate(
    ctx: RunContext,
    client_id: str,
    invoice: Invoice,
    billed: dict[tuple[str, date, str], BilledUsage],
    fixed: dict[tuple[str, date, InvoiceLineKind], int],
) -> list[Adjustment]:
    """The adjustments of one issued period: full re-rating - what stands billed of it."""
    period = BillingPeriod(invoice.period_start, invoice.period_end + timedelta(days=1))
    totals = ctx.usage.totals(
        ctx.partner.id, invoice.period_start_at, invoice.period_end_at, ctx.rules, [client_id]
    )
    usage = {code: total for (client, code), total in totals.items() if client == client_id}
    quantities = {code: max(total.quantity, _ZERO) for code, total in usage.items()}
    pricing = ctx.book.client_pricing(client_id, period)
    statement = rate_period(
        pricing.plan, quantities, invoice.currency, period, pricing.terms, names=ctx.book.names
    )
    costs = rate_costs(pricing.wholesale, quantities, ctx.book.currency)
    start = invoice.period_start
    earlier = {code for (client, origin, code) in billed if client == client_id and origin == start}
    codes = set(usage) | {c.usage_type for c in statement.usage} | earlier
    codes |= {code for code, cost in costs.items() if cost.amount}
    adjustments: list[Adjustment] = []
    for code in sorted(codes):
        total = usage.get(code, UsageTotal(_ZERO, 0, None))
        rated = statement.usage_charge(code)
        charge = rated.amount if rated is not None else 0
        cost = costs[code].amount if code in costs else 0
        before = billed.get((client_id, start, code), BilledUsage())
        delta = total.quantity - before.quantity
        if delta == 0 and charge == before.charge and cost == before.cost:
            continue
        usage_type = ctx.types.get(code)
        adjustments.append(
            Adjustment(
                code,
                start,
                invoice.period_end,
                ctx.book.names.get(code, code),
                usage_type.unit if usage_type else "unit",
                delta,
                total.quantity,
                charge - before.charge,
                cost - before.cost,
                total.events,
                ctx.snapshot,
            )
        )
    for part, line in (
        (InvoiceLineKind.BASE_FEE, statement.base_fee),
        (InvoiceLineKind.MINIMUM_TRUE_UP, statement.minimum_true_up),
        (InvoiceLineKind.DISCOUNT, statement.discount),
    ):
        change = (line.amount if line else 0) - fixed.get((client_id, start, part), 0)
        if change:
            adjustments.append(
                Adjustment(
                    None,
                    start,
                    invoice.period_end,
                    statement.plan_name,
                    "",
                    _ZERO,
                    _ZERO,
                    change,
                    0,
                    0,
                    ctx.snapshot,
                    part,
                )
            )
    return adjustments
