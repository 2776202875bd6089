"""Every CSV Rebill writes goes through here, so no cell runs as a formula in a spreadsheet.

Names, event ids, descriptions and properties come from partners, their clients and the
platform; a cell such as `=HYPERLINK(...)` or `@SUM(...)` would run when finance opens the file
in Excel, LibreOffice or Google Sheets. Following OWASP's CSV-injection guidance, a text cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which the
spreadsheet shows as text and does not display. The csv module quotes cells that hold commas,
quotes or line breaks, so one cell never becomes two.

Numbers stay numbers: a cell that is exactly a plain decimal (`-12.50`, `+3`, `0.25`) cannot
call a function, so a negative amount is written as it is and stays a number for the reader.
`int` and `Decimal` values are written as such. Anything else starting with a trigger,
`-1+2` or `-2E5` among them, is escaped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["FORMULA_TRIGGERS", "SafeWriter", "safe_cell", "safe_writer"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """`value`, or for a text cell a spreadsheet would run as a formula, `'` + the text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


class SafeWriter:
    """A `csv.writer` whose rows are escaped cell by cell (`safe_cell`)."""

    def __init__(self, target: _Writable, **options: Any) -> None:
        self._writer = csv.writer(target, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(target: _Writable, **options: Any) -> SafeWriter:
    """`csv.writer(target, **options)` with every cell escaped: the one way Rebill writes CSV."""
    return SafeWriter(target, **options)
