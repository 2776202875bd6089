"""Invoices and dispute packs as text for the command line (the reviewer's view, with the
internal cost and margin)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from billing.invoicing.explain import explain_invoice
from billing.invoicing.models import Invoice
from config.money import format_minor

__all__ = ["render_explanation", "render_invoice"]


def render_invoice(invoice: Invoice, lines: list[Any]) -> list[str]:
    """An invoice as a reviewer reads it: lines, totals, and (internal) cost and margin."""
    cur = invoice.currency
    title = invoice.number or f"draft #{invoice.id}"
    out = [
        f"{title}  {invoice.client_id}  {invoice.period_start} to {invoice.period_end}  "
        f"[{invoice.status}]  {invoice.plan_name}"
    ]
    for line in lines:
        out.append(
            f"  {line.position:>2}. {line.description[:58]:<58} {line.quantity!s:>14} x "
            f"{line.unit_price!s:<10} {format_minor(line.amount_minor, cur):>16}"
        )
    out.append(f"      {'subtotal':<58} {'':>27} {format_minor(invoice.subtotal_minor, cur):>16}")
    if invoice.discount_minor:
        out.append(
            f"      {'discount':<58} {'':>27} {format_minor(invoice.discount_minor, cur):>16}"
        )
    if invoice.tax_minor:
        out.append(f"      {'tax':<58} {'':>27} {format_minor(invoice.tax_minor, cur):>16}")
    out.append(f"      {'TOTAL':<58} {'':>27} {format_minor(invoice.total_minor, cur):>16}")
    margin = invoice.subtotal_minor + invoice.discount_minor - invoice.cost_minor
    shown = format_minor(margin, cur) if cur == invoice.cost_currency else "n/a (currencies)"
    out.append(
        f"      internal: cost {format_minor(invoice.cost_minor, invoice.cost_currency)}, "
        f"margin {shown}"
    )
    if invoice.issued_at:
        out.append(f"      issued {invoice.issue_date}, due {invoice.due_at}")
    return out


def render_explanation(session: Session, invoice: Invoice) -> tuple[list[str], bool]:
    explanation = explain_invoice(session, invoice)
    out = [f"Dispute pack for {invoice.number or invoice.id} ({invoice.client_id})"]
    for usage in explanation.usage:
        mark = "ok" if usage.ok else "MISMATCH"
        late = f", {usage.later_events} received later" if usage.later_events else ""
        out.append(
            f"  {usage.usage_type} (period from {usage.origin_period_start}, "
            f"{usage.aggregation}): {usage.events} events -> {usage.events_quantity}, "
            f"billed {usage.billed_quantity}{late} [{mark}]"
        )
    for line in explanation.lines:
        out.append(f"  line {line.position}: {line.description}")
        for event in line.events:
            share = "" if event.share is None else f" -> {event.share} on this line"
            out.append(
                f"      {event.event_id:<28} {event.occurred_at:%Y-%m-%d %H:%M:%S}Z "
                f"{event.quantity!s:>14}{share}  cost {event.cost_minor}"
            )
        verdict = "ok" if line.ok else "MISMATCH"
        out.append(f"      {line.check or 'no usage events behind this line'} [{verdict}]")
    out.append("All lines add up." if explanation.ok else "SOME LINES DO NOT ADD UP.")
    return out, explanation.ok
