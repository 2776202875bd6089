"""Metering: usage events, stored once each, with what they cost wholesale; the audit trail."""

from billing.metering.csv_import import CsvFormatError, ImportSummary, import_csv
from billing.metering.models import QUANTITY_SCALE, EventSource, UsageEvent
from billing.metering.repository import EventFilter
from billing.metering.schemas import IngestResult
from billing.metering.service import (
    DayTotal,
    ingest,
    iter_events,
    list_events,
    load_catalog,
    month_bounds,
    summarize,
)
from billing.metering.validation import Rejection

__all__ = [
    "QUANTITY_SCALE",
    "CsvFormatError",
    "DayTotal",
    "EventFilter",
    "EventSource",
    "ImportSummary",
    "IngestResult",
    "Rejection",
    "UsageEvent",
    "import_csv",
    "ingest",
    "iter_events",
    "list_events",
    "load_catalog",
    "month_bounds",
    "summarize",
]
