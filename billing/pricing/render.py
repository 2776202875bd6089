"""Text for people: the `config apply` report, live figures and accrual results.
(`--json` prints the API's schemas instead.)"""

from __future__ import annotations

from dataclasses import replace

from billing.pricing.accrual import AccrualResult
from billing.pricing.apply import ApplyReport
from billing.pricing.book import BEGINNING
from billing.pricing.schemas import LiveFiguresOut
from billing.pricing.versions import FieldChange
from config.money import format_minor

__all__ = ["accrual_lines", "apply_lines", "change_lines", "live_lines"]


def _when(change: FieldChange) -> str:
    if change.effective_from is None:
        return ""
    if change.effective_from == BEGINNING:
        return " (in force from the beginning)"
    return f" (in force from {change.effective_from})"


def change_lines(fields: tuple[FieldChange, ...] | list[FieldChange], indent: str) -> list[str]:
    lines = []
    for change in fields:
        before = "(none)" if change.before is None else change.before
        after = "(none)" if change.after is None else change.after
        if change.before is None:
            text = f"{change.name}: {after}"
        else:
            text = f"{change.name}: {before} -> {after}"
        lines.append(f"{indent}{text}{_when(change)}")
    return lines


def apply_lines(report: ApplyReport, source: str, *, dry_run: bool) -> list[str]:
    head = f"{source}: partner {report.partner_id}"
    lines = [head + (" (dry run: nothing was written)" if dry_run else "")]
    for item in report.objects:
        dates = {change.effective_from for change in item.fields}
        if len(dates) == 1 and None not in dates:
            shared = item.fields[0]
            fields = [replace(change, effective_from=None) for change in item.fields]
            lines.append(f"  {item.kind} {item.key}: {item.action}{_when(shared)}")
        else:
            fields = list(item.fields)
            lines.append(f"  {item.kind} {item.key}: {item.action}")
        lines += change_lines(fields, "      ")
    if not report.changed:
        lines.append(f"no changes ({report.count('unchanged')} objects unchanged)")
    else:
        counts = (f"{report.count(a)} {a}" for a in ("created", "updated", "unchanged"))
        verb = "would be applied" if dry_run else "applied"
        lines.append(", ".join(counts) + f": {verb}")
    return lines


def _money(amount: int | None, currency: str) -> str:
    return "-" if amount is None else format_minor(amount, currency)


def live_lines(figures: LiveFiguresOut) -> list[str]:
    cur, cost_cur = figures.currency, figures.cost_currency or figures.currency
    period = figures.period
    lines = [
        f"{figures.client} ({figures.partner}): {figures.plan}, period {period.start} to "
        f"{period.end} (exclusive, {period.days} days; {figures.active_days} active), {cur}",
        f"  {'usage type':<24} {'quantity':>14} {'charge':>16} {'cost':>16} {'margin':>16} "
        f"{'margin %':>9}",
    ]
    for usage in figures.usage:
        lines.append(
            f"  {usage.usage_type:<24} {usage.quantity:>14} {_money(usage.charge, cur):>16} "
            f"{_money(usage.cost, cost_cur):>16} {_money(usage.margin, cur):>16} "
            f"{usage.margin_percent or '-':>9}"
        )
    lines.append("  lines:")
    for line in figures.lines:
        lines.append(
            f"    {line.description[:64]:<64} {line.quantity:>12} x {line.unit_price:<10} "
            f"{_money(line.amount, cur):>16}"
        )
    totals = (
        ("base fee", figures.base_fee),
        ("usage", figures.usage_total),
        ("subtotal", figures.subtotal),
        ("minimum-spend true-up", figures.minimum_true_up),
        ("discount", figures.discount),
        ("tax", figures.tax),
        ("total", figures.total),
    )
    for label, amount in totals:
        lines.append(f"  {label:<24} {_money(amount, cur):>16}")
    lines.append(f"  {'charge (net of tax)':<24} {_money(figures.charge, cur):>16}")
    lines.append(f"  {'wholesale cost':<24} {_money(figures.cost, cost_cur):>16}")
    margin = _money(figures.margin, cur)
    lines.append(f"  {'margin':<24} {margin:>16} ({figures.margin_percent or '-'} %)")
    if figures.unpriced_usage:
        lines.append(f"  not priced (cost only): {', '.join(figures.unpriced_usage)}")
    return lines


def accrual_lines(partner_id: str, result: AccrualResult) -> list[str]:
    if not result.entries:
        return [f"{partner_id}: nothing to accrue (the books are up to date)"]
    charge = ", ".join(f"{format_minor(v, c)}" for c, v in sorted(result.charge.items()))
    cost = ", ".join(f"{format_minor(v, c)}" for c, v in sorted(result.cost.items()))
    return [
        f"{partner_id}: {result.entries:,} accrual {'entry' if result.entries == 1 else 'entries'}"
        f" for {len(result.clients):,} client{'' if len(result.clients) == 1 else 's'}; "
        f"usage charge {charge or '0'}, wholesale cost {cost or '0'} (change since last run)"
    ]
