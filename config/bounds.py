"""The ranges outside input must fall in before Rebill computes with it, so an absurd value is
a clear 400/422 naming the parameter instead of an overflow deep inside (a 500).

- Days: 1970-01-01 to 2999-12-31. Billing periods, time zones and "the next month" are
  computed around every day given, and `datetime` stops at year 9999; no usage, price or
  payment of a billing service lies outside this range.
- Months (`2026-10`): the same range, first day to last day.
- Ids and cursors: database integers are signed 64-bit, so 1 to 2**63 - 1, ASCII digits.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from config.prices import VALUE_ERROR

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_ID",
    "Day",
    "check_day",
    "database_id",
    "month_days",
]

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_ID = 2**63 - 1
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _day_problem(value: date) -> str | None:
    if FIRST_DAY <= value <= LAST_DAY:
        return None
    return f"{value.isoformat()} is outside {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"


def check_day(value: date, name: str) -> date:
    """`value`, or `ValueError` "name: ... is outside 1970-01-01 to 2999-12-31"."""
    problem = _day_problem(value)
    if problem is not None:
        raise ValueError(f"{name}: {problem}")
    return value


def _validate_day(value: date) -> date:
    problem = _day_problem(value)
    if problem is not None:
        raise PydanticCustomError(VALUE_ERROR, "{detail}", {"detail": problem})
    return value


Day = Annotated[date, AfterValidator(_validate_day)]
"""A date field of an input model, within `FIRST_DAY` to `LAST_DAY`."""


def month_days(text: str, name: str = "period") -> tuple[date, date]:
    """`"2026-10"` -> its first and last day; `ValueError` naming `name` otherwise."""
    found = _MONTH.fullmatch(text.strip()) if text.isascii() else None
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(f"{name}: {text[:40]!r} is not a month such as 2026-10")
    year, month = int(found.group(1)), int(found.group(2))
    first = date(max(year, 1), month, 1)
    if year < FIRST_DAY.year or year > LAST_DAY.year:
        raise ValueError(f"{name}: {text!r} is outside {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}")
    return first, first.replace(day=calendar.monthrange(year, month)[1])


def database_id(text: str) -> int | None:
    """`text` as a database id (ASCII digits, 1 to 2**63 - 1), or None when it cannot be one."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
