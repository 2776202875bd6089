"""The CSV of the usage events behind each invoice line: what a client opens when it disputes a
line, and what the partner sends back.

Rows are streamed from any iterable (a server-side cursor over a million events never becomes a
list) into a temporary file that replaces the target only when complete. The file goes to the
client, so the fifth column is the client's charge for the event, never the wholesale cost: the
invoicing core must pass retail amounts there (or None when a line is not priced per event, as
with graduated tiers).

Text cells that a spreadsheet would run as a formula are escaped (`config.csv_cells`): event
ids and descriptions come from outside systems.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from config.csv_cells import safe_writer
from config.money import from_minor

from .files import atomic_text_file

__all__ = ["EVENTS_CSV_HEADER", "LineEventRow", "write_line_events_csv"]

EVENTS_CSV_HEADER = ("line", "event_id", "occurred_at", "quantity", "charge")


class LineEventRow(NamedTuple):
    """One event behind one line; a plain 5-tuple in this order works as well."""

    line: str
    event_id: str
    occurred_at: datetime
    quantity: Decimal
    charge_minor: int | None


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"occurred_at {value!r} has no time zone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_line_events_csv(
    rows: Iterable[tuple[str, str, datetime, Decimal, int | None]], path: Path, currency: str
) -> int:
    """Write `line,event_id,occurred_at,quantity,charge` (times in UTC, quantities exact,
    charges in major units of `currency`); returns the number of rows written."""
    count = 0
    with atomic_text_file(path) as f:
        writer = safe_writer(f, lineterminator="\r\n")
        writer.writerow(EVENTS_CSV_HEADER)
        for line, event_id, occurred_at, quantity, charge in rows:
            writer.writerow(
                (
                    line,
                    event_id,
                    _timestamp(occurred_at),
                    format(quantity, "f"),
                    "" if charge is None else str(from_minor(charge, currency)),
                )
            )
            count += 1
    return count
