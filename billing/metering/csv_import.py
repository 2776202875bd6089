"""Import usage from a CSV file of any size in constant memory.

Rows are read and ingested a chunk at a time, each chunk in its own unit of work (committed
before the next is read), so memory stays flat and an interrupted import can simply be run
again: every row already stored comes back as a duplicate. Bad rows go to a rejects file with
their line number and reason, next to the good rows' summary.

A bad row never costs its neighbours: bytes that are not UTF-8 are read as lone surrogates
(`surrogateescape`), so that row is rejected by the same text rule as the API ("not valid
UTF-8 text"), and the rejects file gets the original bytes back. Cells of the rejects file
are escaped against spreadsheet formulas (`config.csv_cells`).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlmodel import Session

from billing.metering.models import EventSource
from billing.metering.service import ingest, load_catalog
from config.csv_cells import safe_writer
from config.text import printable, text_problem

__all__ = [
    "REQUIRED_COLUMNS",
    "CsvFormatError",
    "ImportSummary",
    "default_rejects_path",
    "import_csv",
]

REQUIRED_COLUMNS = ("event_id", "client", "usage_type", "quantity", "occurred_at")
OPTIONAL_COLUMNS = ("adjusts",)
DEFAULT_CHUNK = 10_000

UnitOfWork = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int, int], None]


class CsvFormatError(ValueError):
    """The file cannot be imported at all (nothing was written)."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    rejects_path: Path
    elapsed: timedelta

    @property
    def rows_per_second(self) -> int:
        seconds = self.elapsed.total_seconds()
        return round(self.rows / seconds) if seconds else 0


def default_rejects_path(path: Path) -> Path:
    """`usage.csv` -> `usage.rejects.csv`, beside it."""
    return path.with_name(f"{path.stem}.rejects.csv")


@dataclass(slots=True)
class _Chunk:
    events: list[object]
    lines: list[int]
    rows: list[list[str]]
    bad: list[tuple[int, str, str, list[str]]]


def import_csv(
    unit_of_work: UnitOfWork,
    partner_id: str,
    path: Path,
    *,
    rejects_path: Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> ImportSummary:
    started = time.perf_counter_ns()
    rejects_path = rejects_path or default_rejects_path(path)
    total_bytes = path.stat().st_size
    with unit_of_work() as session:
        catalog = load_catalog(session, partner_id)
    rows = accepted = duplicates = rejected = 0
    with (
        path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="") as text,
        rejects_path.open(
            "w", encoding="utf-8", errors="surrogateescape", newline=""
        ) as rejects_file,
    ):
        reader = csv.reader(text)
        header = _header(next(reader, None), path)
        rejects = safe_writer(rejects_file)
        rejects.writerow(["line", "field", "reason", *header])
        for chunk in _chunks(reader, header, chunk_size):
            with unit_of_work() as session:
                result = ingest(session, partner_id, chunk.events, EventSource.CSV, catalog=catalog)
            accepted += result.accepted
            duplicates += result.duplicates
            failures = [
                (chunk.lines[r.index], r.field, r.reason, chunk.rows[r.index])
                for r in result.rejections
            ]
            for line, field, reason, row in sorted(chunk.bad + failures):
                rejects.writerow([line, field, reason, *row])
            rows += len(chunk.events) + len(chunk.bad)
            rejected += len(chunk.bad) + result.rejected
            if on_progress is not None:
                on_progress(raw.tell(), total_bytes)
    return ImportSummary(
        rows=rows,
        accepted=accepted,
        duplicates=duplicates,
        rejected=rejected,
        rejects_path=rejects_path,
        elapsed=timedelta(microseconds=(time.perf_counter_ns() - started) // 1000),
    )


def _header(first: list[str] | None, path: Path) -> list[str]:
    if first is None:
        raise CsvFormatError(f"{path} is empty: expected a header row")
    header = [name.strip().lower() for name in first]
    for number, name in enumerate(header, start=1):
        problem = text_problem(name)
        if problem is not None:
            raise CsvFormatError(f"{path}: column {number} ({printable(name)!r}) {problem}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise CsvFormatError(f"{path}: missing column(s) {', '.join(missing)}")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise CsvFormatError(f"{path}: repeated column(s) {', '.join(duplicated)}")
    return header


class _Rows(Protocol):
    """A `csv.reader`: rows, and the physical line the last row ended on."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...


def _chunks(reader: _Rows, header: list[str], size: int) -> Iterator[_Chunk]:
    """Rows as event dicts; extra columns become properties (empty cells are left out)."""
    width = len(header)
    fixed = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    extras = [(i, name) for i, name in enumerate(header) if name not in fixed]
    i_event, i_client, i_type, i_quantity, i_time = (fixed[n] for n in REQUIRED_COLUMNS)
    i_adjusts = fixed.get("adjusts")
    line_num = reader.line_num
    chunk = _Chunk([], [], [], [])
    for row in reader:
        line, line_num = line_num + 1, reader.line_num
        if not row:
            continue
        if len(row) != width:
            chunk.bad.append((line, "row", f"has {len(row)} columns; the header has {width}", row))
        else:
            event: dict[str, object] = {
                "event_id": row[i_event],
                "client": row[i_client],
                "usage_type": row[i_type],
                "quantity": row[i_quantity],
                "occurred_at": row[i_time],
            }
            if extras:
                event["properties"] = {name: row[i] for i, name in extras if row[i]} or None
            if i_adjusts is not None:
                event["adjusts"] = row[i_adjusts] or None
            chunk.events.append(event)
            chunk.lines.append(line)
            chunk.rows.append(row)
        if len(chunk.events) + len(chunk.bad) >= size:
            yield chunk
            chunk = _Chunk([], [], [], [])
    if chunk.events or chunk.bad:
        yield chunk
