"""The reconciliation e-mail's CSV of differences: a subject or remote text that reads like a
formula (a client name, a remote invoice's memo) is escaped; amounts stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date

from sync.reconcile.readable import DifferenceGroup, ReadableDifference, ReadableReport
from sync.reconcile.report import as_csv


def _report(difference: ReadableDifference) -> ReadableReport:
    group = DifferenceGroup(
        kind=difference.kind,
        title=difference.title,
        severity_word=difference.severity_word,
        meaning=difference.meaning,
        items=(difference,),
    )
    return ReadableReport(
        run_id=1,
        partner_id="p",
        partner_name="P",
        period="2026-11",
        period_words="November 2026",
        period_start=date(2026, 11, 1),
        period_last_day=date(2026, 11, 30),
        finished_at=None,
        count=1,
        errors=1,
        warnings=0,
        at_stake=("-12.50 USD",),
        at_stake_minor={"USD": -1250},
        fixable=0,
        fix_command=None,
        headline="1 difference",
        systems=(),
        groups=(group,),
    )


def test_difference_cells_cannot_run_as_formulas() -> None:
    difference = ReadableDifference(
        id=7,
        kind="amount_mismatch",
        title="Different amount",
        meaning="m",
        severity="error",
        severity_word="Error",
        system="Xero: =cmd|' /C calc'!A0",
        subject="s",
        invoice="BL-1",
        client='=HYPERLINK("http://evil.example")',
        usage_type=None,
        issue_date=date(2026, 12, 6),
        expected="-12.50 USD",
        found="@SUM(A1)",
        at_stake="-12.50 USD",
        amount_minor=-1250,
        currency="USD",
        what_to_do="look",
        fixable=False,
        fixed_on=None,
        fix_command=None,
        link=None,
    )
    [row] = list(csv.DictReader(io.StringIO(as_csv(_report(difference)), newline="")))
    assert row["Client"] == '\'=HYPERLINK("http://evil.example")'
    assert row["Found"] == "'@SUM(A1)"
    assert row["System"] == "Xero: =cmd|' /C calc'!A0"  # not at the start: harmless
    assert row["Expected"] == "'-12.50 USD"  # text, not a number: escaped too
    assert row["At stake (minor units)"] == "-1250"  # a number stays a number
    assert row["Invoice date"] == "2026-12-06"
