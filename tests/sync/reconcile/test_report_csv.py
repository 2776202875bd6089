"""The reconciliation e-mail's CSV of differences: a subject or remote text that reads like a
formula (a client name, a remote invoice's memo) is escaped; amounts stay numbers."""

from __future__ import annotations

import csv
import io

from sync.reconcile.models import ReconcileDifference
from sync.reconcile.report import as_csv


def test_difference_cells_cannot_run_as_formulas() -> None:
    diffs = [
        ReconcileDifference(
            run_id=1, kind="amount", severity="error", system="xero",
            subject="=HYPERLINK(\"http://evil.example\")", ours="-12.50 USD",
            theirs="@SUM(A1)", amount_minor=-1250, currency="USD", action="look", fixable=False,
        )
    ]  # fmt: skip
    [row] = list(csv.DictReader(io.StringIO(as_csv(diffs), newline="")))
    assert row["subject"] == '\'=HYPERLINK("http://evil.example")'
    assert row["theirs"] == "'@SUM(A1)"
    assert row["ours"] == "'-12.50 USD"  # text, not a number: escaped too
    assert row["amount_minor"] == "-1250"
