"""The one CSV escaping rule: a text cell a spreadsheet would run as a formula gets a leading
`'`; plain numbers (negative amounts among them) stay numbers; nothing else changes."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from config.csv_cells import FORMULA_TRIGGERS, safe_cell, safe_writer


@given(st.sampled_from(FORMULA_TRIGGERS), st.text())
def test_a_cell_starting_with_a_trigger_is_text_unless_a_plain_number(
    trigger: str, rest: str
) -> None:
    value = trigger + rest
    escaped = safe_cell(value)
    is_number = trigger in "+-" and rest.replace(".", "", 1).isdigit() and rest.isascii()
    is_number = is_number and not rest.startswith(".") and not rest.endswith(".")
    assert escaped == (value if is_number else "'" + value)


@given(st.text())
def test_other_cells_are_untouched_and_escaping_is_reversible(value: str) -> None:
    escaped = safe_cell(value)
    assert isinstance(escaped, str)
    if not value.startswith(FORMULA_TRIGGERS):
        assert escaped == value
    assert escaped.removeprefix("'") == value or escaped == value


def test_numbers_and_amounts_stay_numbers() -> None:
    for cell in ("-12.50", "-3", "+4", "0.25", "1234", -7, Decimal("-1.5"), 0, None):
        assert safe_cell(cell) == cell
    for cell in ("-1+2", "-2E5", "=1", "@SUM(A1)", "\t=1", "\r=1", "-", "+", "-1.", "--1"):
        assert safe_cell(cell) == "'" + cell


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_a_row_reads_back_as_one_row_of_the_escaped_cells(row: list[str]) -> None:
    out = io.StringIO()
    safe_writer(out).writerow(row)
    [read] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert read == [safe_cell(cell) for cell in row]
