"""Helpers of the Xero fake: the `where` filter language, Xero's dates, exact JSON.

`where` as Xero takes it: ``Field op value`` clauses joined with ``AND`` / ``&&`` and ``OR`` /
``||`` (AND binds tighter; no parentheses needed by our connector), ops ``== != >= <= > <``,
values ``"text"`` (``\\"`` inside), ``DateTime(2026,01,31)``, ``Guid("...")``, numbers,
``true``/``false``; fields may be dotted (``Contact.ContactID``). String equality ignores case,
as Xero's does. Anything else is a ``QueryParseException`` (`WhereError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["WhereError", "dumps", "parse_where", "to_date", "xero_date"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<datetime>DateTime\(\s*\d{4}\s*,\s*\d{1,2}\s*,\s*\d{1,2}\s*\))
      | (?P<guid>Guid\(\s*"[^"]*"\s*\))
      | (?P<op>==|!=|>=|<=|>|<)
      | (?P<join>&&|\|\||\bAND\b|\bOR\b)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<bool>\btrue\b|\bfalse\b)
      | (?P<field>[A-Za-z][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
Predicate = Callable[[Mapping[str, Any]], bool]


class WhereError(ValueError):
    pass


def xero_date(value: date | datetime) -> str:
    """``/Date(ms+0000)/`` as Xero writes dates and timestamps."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    millis = int((value - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    return f"/Date({millis}+0000)/"


def to_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    match = re.match(r"^/Date\((-?\d+)", value)
    if match:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
        return moment.date()
    try:
        return datetime.fromisoformat(value[:19]).date()
    except ValueError:
        return None


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


def dumps(value: Any) -> bytes:
    """JSON with Decimals as exact numbers (what Xero's answers look like)."""
    return _encode(value).encode()


def _value(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "datetime":
        year, month, day = (int(p) for p in re.findall(r"\d+", text))
        return date(year, month, day)
    if kind == "guid":
        return text[text.index('"') + 1 : text.rindex('"')]
    if kind == "number":
        return Decimal(text)
    if kind == "bool":
        return text == "true"
    raise WhereError(f"expected a value, got {text!r}")


def _lookup(element: Mapping[str, Any], field: str) -> Any:
    value: Any = element
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, date):
        actual = to_date(actual)
    elif isinstance(expected, str):
        actual = "" if actual is None else str(actual).casefold()
        expected = expected.casefold()
    elif isinstance(expected, Decimal) and actual is not None:
        actual = Decimal(str(actual))
    if actual is None:
        return op == "!="
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    try:
        return bool(
            {">=": actual >= expected, "<=": actual <= expected, ">": actual > expected}.get(
                op, actual < expected
            )
        )
    except TypeError as exc:
        raise WhereError(f"cannot compare {actual!r} {op} {expected!r}") from exc


def parse_where(text: str) -> Predicate:
    """A predicate over elements (dicts in Xero's shape)."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise WhereError(f"cannot parse where near {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    groups: list[list[tuple[str, str, Any]]] = [[]]
    index = 0
    while index < len(tokens):
        if index + 2 >= len(tokens) or tokens[index][0] != "field" or tokens[index + 1][0] != "op":
            raise WhereError(f"expected Field op value in {text!r}")
        kind, raw = tokens[index + 2]
        groups[-1].append((tokens[index][1], tokens[index + 1][1], _value(kind, raw)))
        index += 3
        if index < len(tokens):
            if tokens[index][0] != "join":
                raise WhereError(f"expected AND/OR in {text!r}")
            if tokens[index][1] in ("||", "OR"):
                groups.append([])
            index += 1
            if index == len(tokens):
                raise WhereError(f"dangling AND/OR in {text!r}")

    def predicate(element: Mapping[str, Any]) -> bool:
        return any(
            all(_compare(_lookup(element, f), op, v) for f, op, v in group) for group in groups
        )

    return predicate
