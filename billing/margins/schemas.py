"""The margin report as the API returns it and `margins --json` prints it (minor units, with
the currency; percentages as text with 2 places)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from billing.margins.selection import label, month_selection
from billing.margins.service import MarginReport, MarginRow
from billing.pricing.schemas import percent_text
from config.prices import canonical_decimal

__all__ = ["MarginReportOut", "MarginRowOut", "margins_out"]


class MarginRowOut(BaseModel):
    key: str
    currency: str
    cost: int
    charge: int
    margin: int
    margin_percent: str | None
    invoiced_charge: int = Field(description="What standing invoices billed, net of tax.")
    unbilled_charge: int = Field(
        description="Not invoiced yet: late usage of an invoiced period (its next invoice's "
        "prior-period adjustment), or a period still open or not yet invoiced."
    )
    invoiced_cost: int
    unbilled_cost: int
    flagged: bool

    @classmethod
    def of(cls, row: MarginRow) -> MarginRowOut:
        return cls(
            key=row.key,
            currency=row.currency,
            cost=row.cost,
            charge=row.charge,
            margin=row.margin,
            margin_percent=percent_text(row.margin_percent),
            invoiced_charge=row.invoiced_charge,
            unbilled_charge=row.unbilled_charge,
            invoiced_cost=row.invoiced_cost,
            unbilled_cost=row.unbilled_cost,
            flagged=row.flagged,
        )


class MarginReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    partner: str
    from_: date = Field(alias="from", description="Periods starting on or after this day.")
    to: date = Field(description="Periods starting on or before this day.")
    period: str | None = Field(description="The month, when the selection is one month.")
    group_by: str
    alert_below_percent: str | None
    open_periods: int = Field(description="Client periods shown with live figures.")
    rows: list[MarginRowOut]
    totals: list[MarginRowOut]
    flagged_clients: list[str]


def margins_out(report: MarginReport) -> MarginReportOut:
    threshold = report.threshold
    selection = report.selection
    month = selection == month_selection(selection.first)
    return MarginReportOut(
        partner=report.partner_id,
        from_=selection.first,
        to=selection.last,
        period=label(selection.first) if month else None,
        group_by=report.group_by,
        alert_below_percent=None if threshold is None else canonical_decimal(threshold),
        open_periods=report.open_periods,
        rows=[MarginRowOut.of(row) for row in report.rows],
        totals=[MarginRowOut.of(row) for row in report.totals],
        flagged_clients=list(report.flagged_clients),
    )
