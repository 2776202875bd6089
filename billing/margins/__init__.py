"""Margins by billing period: charge, wholesale cost and margin per client, usage type and
period, read from the books by service period plus what is not invoiced yet; the erosion
alerts that reach the partner; re-tagging books posted before periods were recorded."""

from billing.margins.figures import Cell, PeriodFigures, period_figures
from billing.margins.selection import PeriodSelection, label, month_selection, parse_period
from billing.margins.service import (
    NO_USAGE_TYPE,
    GroupBy,
    MarginReport,
    MarginRow,
    margins,
    report_of,
)

__all__ = [
    "NO_USAGE_TYPE",
    "Cell",
    "GroupBy",
    "MarginReport",
    "MarginRow",
    "PeriodFigures",
    "PeriodSelection",
    "label",
    "margins",
    "month_selection",
    "parse_period",
    "period_figures",
    "report_of",
]
