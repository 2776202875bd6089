"""The QuickBooks Online query language, as much of it as our connector sends, and the Fault
bodies the fake answers with.

Supported: ``select * from Entity [where Cond [and Cond]...] [orderby Field [asc|desc]]
[startposition N] [maxresults N]`` with conditions ``Field = 'v'``, ``Field in ('a', 'b')``,
``Field >= 'v'`` / ``<=`` / ``>`` / ``<`` and ``Field like '%v%'``. Strings are single-quoted
with backslash escapes (``'O\\'Brien'``), as QuickBooks wants them. Anything else is a
QueryParserError (code 4000), like the real service answers to what it cannot parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = ["Cond", "Fault", "Query", "QueryError", "fault_body", "matches", "parse_query"]

MAX_RESULTS = 1000


class QueryError(ValueError):
    pass


class Fault(Exception):  # noqa: N818 (QuickBooks' own name)
    """A QuickBooks Fault the fake answers with (HTTP 400 unless `status` says otherwise)."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        element: str = "",
        *,
        kind: str = "ValidationFault",
        status: int = 400,
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.kind = kind
        self.status = status

    def body(self) -> dict[str, Any]:
        return fault_body(self.kind, [(self.code, self.message, self.detail, self.element)])


def fault_body(kind: str, errors: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "Fault": {
            "Error": [
                {"Message": m, "Detail": d, "code": c, "element": e} for c, m, d, e in errors
            ],
            "type": kind,
        },
        "time": datetime.now(UTC).isoformat(),
    }


@dataclass(frozen=True)
class Cond:
    field: str
    op: str  # "=", "in", ">=", "<=", ">", "<", "like"
    values: tuple[str, ...]


@dataclass
class Query:
    entity: str
    conditions: list[Cond] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    start: int = 1
    max_results: int = 100  # QuickBooks' default page


_TOKEN = re.compile(r"\s*(?:('(?:\\.|[^'\\])*')|(\(|\)|,|>=|<=|=|<|>|\*)|([A-Za-z_][\w.]*)|(\d+))")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"cannot parse query near {text[pos : pos + 20]!r}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    if token.lower() in {"true", "false"}:  # Active = false, Active IN (true, false)
        return token.lower()
    if not (token.startswith("'") and token.endswith("'")):
        raise QueryError(f"expected a quoted value, got {token!r}")
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_query(text: str) -> Query:
    toks = _tokens(text)
    low = [t.lower() for t in toks]
    if low[:3] != ["select", "*", "from"] or len(toks) < 4:
        raise QueryError("only 'select * from Entity ...' is supported")
    query = Query(entity=toks[3])
    i = 4

    def need(n: int) -> None:
        if i + n > len(toks):
            raise QueryError("query ends too early")

    if i < len(toks) and low[i] == "where":
        i += 1
        while True:
            need(3)
            name, op = toks[i], low[i + 1]
            i += 2
            if op == "in":
                need(2)
                if toks[i] != "(":
                    raise QueryError("expected '(' after in")
                i += 1
                values: list[str] = []
                while toks[i] != ")":
                    values.append(_unquote(toks[i]))
                    i += 1
                    if toks[i] == ",":
                        i += 1
                    need(1)
                i += 1
                if not values:
                    raise QueryError("empty in ()")
                query.conditions.append(Cond(name, "in", tuple(values)))
            elif op in {"=", ">=", "<=", ">", "<", "like"}:
                query.conditions.append(Cond(name, op, (_unquote(toks[i]),)))
                i += 1
            else:
                raise QueryError(f"unsupported operator {op!r}")
            if i < len(toks) and low[i] == "and":
                i += 1
                continue
            break
    while i < len(toks):
        word = low[i]
        if word == "orderby":
            need(2)
            query.order_by = toks[i + 1]
            i += 2
            if i < len(toks) and low[i] in {"asc", "desc"}:
                query.descending = low[i] == "desc"
                i += 1
        elif word in {"startposition", "maxresults"}:
            need(2)
            if not toks[i + 1].isdigit():
                raise QueryError(f"{word} needs a number")
            value = int(toks[i + 1])
            if word == "startposition":
                query.start = max(1, value)
            else:
                if value > MAX_RESULTS:
                    raise QueryError(f"maxresults may not exceed {MAX_RESULTS}")
                query.max_results = value
            i += 2
        else:
            raise QueryError(f"unexpected {toks[i]!r}")
    return query


def _get(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "value" in value:  # CustomerRef = '12'
        return value["value"]
    return value


def _compare(have: Any, want: str) -> tuple[Any, Any]:
    if isinstance(have, int | float | Decimal) and not isinstance(have, bool):
        return Decimal(str(have)), Decimal(want)
    if isinstance(have, str) and have.isdigit() and want.isdigit():
        return int(have), int(want)  # Ids compare as numbers
    return str(have), want


def matches(obj: dict[str, Any], cond: Cond) -> bool:
    have = _get(obj, cond.field)
    if have is None:
        return False
    if isinstance(have, bool):
        have = "true" if have else "false"
    if cond.op == "in":
        return str(have) in cond.values
    if cond.op == "like":
        pattern = re.escape(cond.values[0]).replace("%", ".*")
        return re.fullmatch(pattern, str(have), re.IGNORECASE) is not None
    a, b = _compare(have, cond.values[0])
    if cond.op == "=":
        return bool(a == b)
    return bool({">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[cond.op])
