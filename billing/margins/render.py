"""The margin report as text for people: amounts in major units with their currency."""

from __future__ import annotations

from billing.margins.schemas import MarginReportOut, MarginRowOut
from config.money import format_minor

__all__ = ["margin_lines"]

_HEAD = {"client": "client", "usage_type": "usage type", "period": "period"}


def _row(row: MarginRowOut) -> str:
    flag = "! " if row.flagged else "  "
    unbilled = format_minor(row.unbilled_charge, row.currency) if row.unbilled_charge else ""
    return (
        f"  {flag}{row.key[:28]:<28} {format_minor(row.charge, row.currency):>18} "
        f"{unbilled:>16} {format_minor(row.cost, row.currency):>16} "
        f"{format_minor(row.margin, row.currency):>18} {row.margin_percent or '-':>9}"
    )


def margin_lines(report: MarginReportOut) -> list[str]:
    alert = report.alert_below_percent
    span = (
        f"period {report.period}"
        if report.period
        else f"periods starting {report.from_} to {report.to}"
    )
    lines = [
        f"Margins of {report.partner}, {span}, by {_HEAD.get(report.group_by, report.group_by)}"
        + (f" (flagged: below {alert} %)" if alert is not None else ""),
        f"  {'':<2}{_HEAD.get(report.group_by, report.group_by):<28} {'charge':>18} "
        f"{'of it unbilled':>16} {'cost':>16} {'margin':>18} {'margin %':>9}",
    ]
    lines += [_row(row) for row in [*report.rows, *report.totals]]
    if not report.rows:
        lines.append("  (nothing charged or costed in these periods)")
    lines.append(
        "  charge = invoices net of tax + unbilled (usage not invoiced yet: late usage of an "
        "invoiced period, or a period still open)"
    )
    if report.open_periods:
        lines.append(
            f"  {report.open_periods} client period(s) not invoiced yet: live figures "
            "(python main.py usage current)"
        )
    if report.flagged_clients:
        lines.append(f"  clients below the alert: {', '.join(report.flagged_clients)}")
    return lines
