"""CSV import: chunked, rejects written with line and reason, and a second run changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from billing.metering import CsvFormatError, EventSource, UsageEvent, import_csv
from config.db import session_scope
from main import app
from tests.billing.factories import make_partner, recent

HEADER = ["event_id", "client", "usage_type", "quantity", "occurred_at", "campaign", "agent"]
GOOD_ROWS = 24_000


@pytest.fixture
def acme(session: Session) -> Session:
    make_partner(session, "acme")
    return session


def _rows(when: str) -> Iterator[list[str]]:
    for i in range(GOOD_ROWS):
        yield [f"e-{i}", ("alpha", "beta")[i % 2], "sms", str(1 + i % 7), when, f"c{i % 3}", ""]


# line number (the header is line 1) -> (row, field, reason)
BAD = {
    101: (["x-1", "nobody", "sms", "1", "@", "", ""], "client", "unknown client 'nobody'"),
    2002: (["x-2", "alpha", "sms", "lots", "@", "", ""], "quantity", "'lots' is not a number"),
    5003: (
        ["x-3", "alpha", "sms", "1", "2026-13-01", "", ""],
        "occurred_at",
        "'2026-13-01' is not an ISO 8601 timestamp",
    ),
    9004: (["x-4", "alpha", "sms"], "row", "has 3 columns; the header has 7"),
    15005: (
        ["e-7", "beta", "sms", "99", "@", "", ""],
        "event_id",
        "conflict: event_id 'e-7' was already received with a different body",
    ),
    20006: (["x-6", "alpha", "fax", "1", "@", "", ""], "usage_type", "unknown usage type 'fax'"),
    24007: (
        ["x-7", "beta", "sms", "-3", "@", "", ""],
        "quantity",
        "must not be negative (only adjustments may be)",
    ),
}


def write_file(path: Path) -> Path:
    when = recent()
    good = _rows(when)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        line = 2
        for _ in range(GOOD_ROWS + len(BAD)):
            if line in BAD:
                row = [when if cell == "@" else cell for cell in BAD[line][0]]
            else:
                row = next(good)
            writer.writerow(row)
            line += 1
    return path


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(UsageEvent)) or 0)


def test_a_large_file_with_bad_rows(acme: Session, tmp_path: Path) -> None:
    source = write_file(tmp_path / "usage.csv")
    progress: list[tuple[int, int]] = []
    summary = import_csv(
        session_scope, "acme", source, chunk_size=4_000, on_progress=lambda *p: progress.append(p)
    )
    assert (summary.rows, summary.accepted, summary.duplicates, summary.rejected) == (
        GOOD_ROWS + len(BAD),
        GOOD_ROWS,
        0,
        len(BAD),
    )
    assert summary.rejects_path == tmp_path / "usage.rejects.csv"
    with summary.rejects_path.open(newline="") as handle:
        rejects = list(csv.reader(handle))
    assert rejects[0] == ["line", "field", "reason", *HEADER]
    assert [(int(r[0]), r[1], r[2]) for r in rejects[1:]] == [
        (line, field, reason) for line, (_row, field, reason) in sorted(BAD.items())
    ]
    assert rejects[1][3:] == ["x-1", "nobody", "sms", "1", rejects[1][7], "", ""]
    assert len(progress) == 7 and progress[-1][0] == progress[-1][1] == source.stat().st_size
    assert count(acme) == GOOD_ROWS
    row = acme.scalars(select(UsageEvent).where(col(UsageEvent.event_id) == "e-4")).one()
    assert row.properties == {"campaign": "c1"}  # extra columns; the empty `agent` left out
    assert row.source == EventSource.CSV

    newest = acme.scalar(select(UsageEvent.id).order_by(col(UsageEvent.id).desc()).limit(1))
    again = import_csv(session_scope, "acme", source, chunk_size=4_000)
    assert (again.accepted, again.duplicates, again.rejected) == (0, GOOD_ROWS, len(BAD))
    assert count(acme) == GOOD_ROWS
    assert acme.scalar(select(UsageEvent.id).order_by(col(UsageEvent.id).desc()).limit(1)) == newest


def test_missing_columns_refuse_the_whole_file(acme: Session, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("event_id,client,quantity\ne-1,alpha,1\n")
    with pytest.raises(CsvFormatError, match="missing column"):
        import_csv(session_scope, "acme", source)
    assert count(acme) == 0


def test_adjustments_by_csv(acme: Session, tmp_path: Path) -> None:
    when = recent()
    source = tmp_path / "fix.csv"
    source.write_text(
        "event_id,client,usage_type,quantity,occurred_at,adjusts\n"
        f"e-1,alpha,voice_minutes,10,{when},\n"
        f"e-1-fix,alpha,voice_minutes,-2.5,{when},e-1\n"
    )
    summary = import_csv(session_scope, "acme", source)
    assert (summary.accepted, summary.rejected) == (2, 0)
    fix = acme.scalars(select(UsageEvent).where(col(UsageEvent.event_id) == "e-1-fix")).one()
    assert fix.adjusts_id is not None and fix.source == EventSource.ADJUSTMENT


def test_the_command_prints_a_summary_and_writes_rejects(acme: Session, tmp_path: Path) -> None:
    when = recent()
    source = tmp_path / "small.csv"
    source.write_text(
        "event_id,client,usage_type,quantity,occurred_at\n"
        f"e-1,alpha,sms,3,{when}\n"
        f"e-2,zeta,sms,3,{when}\n"
    )
    rejects = tmp_path / "out" / "bad.csv"
    rejects.parent.mkdir()
    args = ["usage", "import", str(source), "--partner", "acme", "--rejects", str(rejects)]
    result = CliRunner().invoke(app, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2 rows" in result.output
    assert "1 accepted, 0 duplicates, 1 rejected" in result.output
    assert f"rejects: {rejects}" in result.output
    assert "unknown client 'zeta'" in rejects.read_text()
    again = CliRunner().invoke(app, [*args, "--quiet"])
    assert "0 accepted, 1 duplicates, 1 rejected" in again.output


def test_the_command_fails_cleanly_for_an_unknown_partner(acme: Session, tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text("event_id,client,usage_type,quantity,occurred_at\n")
    result = CliRunner().invoke(app, ["usage", "import", str(source), "-p", "nobody", "--quiet"])
    assert result.exit_code == 1
    assert "partner 'nobody' not found" in result.output


def test_a_nul_or_non_utf8_row_is_rejected_alone(acme: Session, tmp_path: Path) -> None:
    """One chunk: a NUL in a cell (PostgreSQL refuses it in text and JSON) and bytes that are
    not UTF-8 cost only their own rows; the rejects file keeps the original bytes, and a
    formula-like cell in it is escaped."""
    when = recent().encode()
    source = tmp_path / "odd.csv"
    source.write_bytes(
        b"event_id,client,usage_type,quantity,occurred_at,campaign\n"
        b"e-1,alpha,sms,1," + when + b",spring\n"
        b"e-\x00,alpha,sms,1," + when + b",spring\n"
        b"e-3,alpha,sms,1," + when + b",caf\xe9\n"
        b"e-4,alpha\x00,sms,1," + when + b",\n"
        b"e-5,alpha,sms,1," + when + b",\x00\n"
        b"=cmd|' /C calc'!A0,nobody,sms,1," + when + b",\n"
        b"e-7,beta,sms,2," + when + b",autumn\n"
    )
    summary = import_csv(session_scope, "acme", source, chunk_size=100)
    assert (summary.accepted, summary.rejected) == (2, 5)
    assert {e for (e,) in acme.execute(select(UsageEvent.event_id))} == {"e-1", "e-7"}
    text = summary.rejects_path.read_bytes().decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["line", "field", "reason", *HEADER[:5], "campaign"]
    got = {int(row[0]): row[1:] for row in rows[1:]}
    assert sorted(got) == [3, 4, 5, 6, 7]
    assert got[3][:2] == ["event_id", "contains a NUL character (U+0000), which cannot be stored"]
    assert got[3][2] == "e-\x00"
    assert got[4][:2] == [
        "properties.campaign",
        "contains a lone surrogate (U+DCE9): not valid UTF-8 text",
    ]
    assert got[4][-1].encode("utf-8", "surrogateescape") == b"caf\xe9"  # the bytes as sent
    assert got[5][0] == "client" and "NUL" in got[5][1]
    assert got[6][0] == "properties.campaign" and "NUL" in got[6][1]
    assert got[7][:3] == ["client", "unknown client 'nobody'", "'=cmd|' /C calc'!A0"]


def test_a_header_that_is_not_utf8_refuses_the_file(acme: Session, tmp_path: Path) -> None:
    source = tmp_path / "header.csv"
    source.write_bytes(b"event_id,client,usage_type,quantity,occurred_at,r\xe9gion\n")
    with pytest.raises(CsvFormatError, match=r"column 6 .* not valid UTF-8"):
        import_csv(session_scope, "acme", source)
