"""A simulation as text for people: major units with their currency through the documents'
Babel helpers; the portfolio first, then usage types, movers and threshold crossers."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billing.documents.formatting import format_money, format_percent
from billing.pricing.describe import describe_price
from billing.simulation.results import Comparison, Mover, Simulation
from billing.simulation.schemas import (
    Change,
    ClientDiscountChange,
    ClientPriceChange,
    PlanFeesChange,
    PlanPriceChange,
)
from config.partner_file import entry_price

__all__ = ["describe_change", "simulation_lines"]


def describe_change(change: Change) -> str:
    """One line for people: what the change sets."""
    if isinstance(change, PlanPriceChange):
        return f"plan {change.plan}: {change.usage_type} at {describe_price(entry_price(change.price))}"
    if isinstance(change, PlanFeesChange):
        parts = []
        if "base_fee" in change.model_fields_set and change.base_fee is not None:
            parts.append(f"base fee {change.base_fee}")
        if "minimum_spend" in change.model_fields_set:
            minimum = change.minimum_spend
            parts.append("no minimum spend" if minimum is None else f"minimum spend {minimum}")
        return f"plan {change.plan}: " + (", ".join(parts) or "no change")
    if isinstance(change, ClientPriceChange):
        return (
            f"client {change.client}: own {change.usage_type} price "
            f"{describe_price(entry_price(change.price))}"
        )
    if isinstance(change, ClientDiscountChange):
        return f"client {change.client}: discount {format_percent(change.discount_percent)}"
    return f"wholesale {change.usage_type}: {describe_price(entry_price(change.price))}"


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else format_percent(value)


def _points(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + format_percent(value).removesuffix("%") + " pts"


def _signed(amount: int, currency: str) -> str:
    return ("+" if amount > 0 else "") + format_money(amount, currency)


_HEAD = (f"  {'':<24} {'revenue':>18} {'cost':>18} {'margin':>18} {'margin %':>9}",)


def _comparison(row: Comparison, name: str) -> list[str]:
    cur = row.currency
    lines = [f"  {name}"]  # a line of its own: never cut
    for label, side in (("before", row.before), ("after", row.after)):
        lines.append(
            f"    {label:<22} {format_money(side.charge, cur):>18} "
            f"{format_money(side.cost, cur):>18} {format_money(side.margin, cur):>18} "
            f"{_percent(side.margin_percent):>9}"
        )
    lines.append(
        f"    {'change':<22} {_signed(row.revenue_change, cur):>18} "
        f"{_signed(row.cost_change, cur):>18} {_signed(row.margin_change, cur):>18} "
        f"{_points(row.points_change):>9}"
    )
    return lines


def _movers(title: str, movers: Sequence[Mover]) -> list[str]:
    if not movers:
        return [f"{title}: none"]
    lines = [f"{title}:"]
    for mover in movers:
        cur = mover.currency
        lines.append(
            f"  {mover.client_id[:24]:<24} {format_money(mover.invoice_before, cur):>18} -> "
            f"{format_money(mover.invoice_after, cur):>18}  ({_signed(mover.change, cur)})"
        )
    return lines


def _crossers(title: str, rows: Sequence[Comparison]) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    return [f"{title}:"] + [
        f"  {row.key[:24]:<24} {_percent(row.before.margin_percent):>9} -> "
        f"{_percent(row.after.margin_percent):>9}"
        for row in rows
    ]


def simulation_lines(result: Simulation, *, every_client: bool = False) -> list[str]:
    periods = ", ".join(result.periods)
    lines = [
        f"Pricing simulation for {result.partner_id}, periods starting in {periods} "
        f"({result.client_periods} client periods re-rated; nothing was written)",
        "Revenue is net of tax, as the margins read it; 'before' is what the margins say.",
        "Proposal:",
        *[f"  {describe_change(change)}" for change in result.changes],
        *([] if result.changes else ["  (no change)"]),
        "",
        "Portfolio",
        *_HEAD,
    ]
    for row in result.portfolio:
        lines += _comparison(row, f"total {row.currency}")
    if not result.portfolio:
        lines.append("  (nothing charged or costed in these periods)")
    lines += ["", "By usage type", *_HEAD]
    for row in result.usage_types:
        lines += _comparison(row, result.label(row.key))
    lines += ["", *_movers("Invoices that rise most (with tax)", result.rises)]
    lines += _movers("Invoices that fall most (with tax)", result.falls)
    threshold = result.threshold
    lines.append("")
    if threshold is None:
        lines.append("Margin threshold: none set (margin_alert_percent)")
    else:
        lines.append(f"Margin threshold: {format_percent(threshold)}")
        lines += _crossers("  Crossing below it", result.crossed_below)
        lines += _crossers("  Back above it", result.crossed_above)
    if every_client:
        lines += ["", "By client", *_HEAD]
        for row in result.clients:
            lines += _comparison(row, row.key)
    return lines
