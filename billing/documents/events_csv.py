"""The CSV of the usage events behind each invoice line: what a client opens when it disputes a
line, and what the partner sends back.

Rows are streamed from any iterable (a server-side cursor over a million events never becomes a
list) into a temporary file that replaces the target only when complete.

There is no charge column. Lines are priced on the period's total, not event by event: with
graduated or volume tiers, a package's included units, started blocks or a minimum spend, an
event's charge depends on every other event of the period (the 1,001st minute costs less than
the 1st; under volume pricing one late event re-prices all the others), so any per-event figure
would be an allocation we invented, and its cents would not add up to the line's rounded
amount. The quantities do add up to each line's quantity; the client checks those, and the
line's unit price does the rest. (The column was always empty; it is dropped rather than
filled with a number that would not survive a dispute.)

Text cells that a spreadsheet would run as a formula are escaped (`config.csv_cells`): event
ids and descriptions come from outside systems.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TextIO

from config.csv_cells import safe_writer

from .files import atomic_text_file

__all__ = ["EVENTS_CSV_HEADER", "LineEventRow", "line_events_csv_text", "write_line_events_csv"]

EVENTS_CSV_HEADER = ("line", "event_id", "occurred_at", "quantity")


class LineEventRow(NamedTuple):
    """One event behind one line; a plain 4-tuple in this order works as well."""

    line: str
    event_id: str
    occurred_at: datetime
    quantity: Decimal


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"occurred_at {value!r} has no time zone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _write(rows: Iterable[tuple[str, str, datetime, Decimal]], f: TextIO) -> int:
    writer = safe_writer(f, lineterminator="\r\n")
    writer.writerow(EVENTS_CSV_HEADER)
    count = 0
    for line, event_id, occurred_at, quantity in rows:
        writer.writerow((line, event_id, _timestamp(occurred_at), format(quantity, "f")))
        count += 1
    return count


def write_line_events_csv(rows: Iterable[tuple[str, str, datetime, Decimal]], path: Path) -> int:
    """Write `line,event_id,occurred_at,quantity` (times in UTC, quantities exact); returns the
    number of rows written."""
    with atomic_text_file(path) as f:
        return _write(rows, f)


def line_events_csv_text(rows: Iterable[tuple[str, str, datetime, Decimal]]) -> str:
    """The same CSV as text, for one line's download in the client portal (a line's events
    are what a client disputes; the file is the same format as the e-mail's attachment)."""
    buffer = io.StringIO()
    _write(rows, buffer)
    return buffer.getvalue()
