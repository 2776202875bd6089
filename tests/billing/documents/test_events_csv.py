"""The CSV of events behind each line: streamed, exact, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from billing.documents import LineEventRow, write_line_events_csv


def test_rows_are_written_exactly(tmp_path: Path) -> None:
    path = tmp_path / "out" / "ACME-000042-usage.csv"
    paris = timezone(timedelta(hours=2))
    rows = [
        LineEventRow(
            "Voice AI minutes",
            "evt-1",
            datetime(2026, 10, 3, 14, 0, tzinfo=paris),
            Decimal("2.50"),
        ),
        ("SMS", '=HYPERLINK("http://x")', datetime(2026, 10, 4, tzinfo=UTC), Decimal(1)),
        ("-negative", "evt-3", datetime(2026, 10, 5, tzinfo=UTC), Decimal("-1")),
    ]
    assert write_line_events_csv(rows, path) == 3
    with path.open(newline="", encoding="utf-8") as f:
        read = list(csv.reader(f))
    assert read == [
        ["line", "event_id", "occurred_at", "quantity"],
        ["Voice AI minutes", "evt-1", "2026-10-03T12:00:00Z", "2.50"],
        ["SMS", '\'=HYPERLINK("http://x")', "2026-10-04T00:00:00Z", "1"],
        ["'-negative", "evt-3", "2026-10-05T00:00:00Z", "-1"],
    ]


def test_rows_are_streamed_and_a_failure_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    consumed = []

    def rows() -> Iterator[tuple[str, str, datetime, Decimal]]:
        for i in range(3):
            consumed.append(i)
            yield ("line", f"e{i}", datetime(2026, 10, 1, tzinfo=UTC), Decimal(1))
        raise RuntimeError("cursor lost")

    with pytest.raises(RuntimeError, match="cursor lost"):
        write_line_events_csv(rows(), path)
    assert consumed == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        write_line_events_csv([("l", "e", datetime(2026, 10, 1), Decimal(1))], tmp_path / "x.csv")
