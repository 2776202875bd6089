"""What text Rebill accepts anywhere: storable in both databases, and one line for a name.

Two things that are valid JSON cannot be stored:
- a lone surrogate (`"\\ud83d"` without its pair) is not a character: it has no UTF-8 form, so
  SQLite's driver and PostgreSQL's both fail on it;
- NUL (U+0000) is refused by PostgreSQL in `text` and JSON values.
A name (of a partner, client, plan, usage type, sender, address line) is one line: control
characters (CR and LF among them) would split CSV rows, e-mail headers and accounting records.

Every input path (API, CLI, partner file, CSV import, dashboard) uses these checks, so a value
refused by one is refused by all, with the same reason. Values nested in JSON are checked to a
bounded depth (`MAX_JSON_DEPTH`): deeper nesting is refused rather than walked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from config.prices import RULES_ERROR, VALUE_ERROR

__all__ = [
    "MAX_JSON_DEPTH",
    "CheckedInput",
    "Line",
    "Loc",
    "StoredText",
    "check_line",
    "check_stored",
    "dotted",
    "find_text_problem",
    "line_problem",
    "printable",
    "text_problem",
]

MAX_JSON_DEPTH = 32
"""Objects and arrays inside one another, at most, in any JSON value Rebill stores."""

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored in SQLite and PostgreSQL alike, or None."""
    if value.isascii():
        return _NUL if "\x00" in value else None
    found = _SURROGATE.search(value)
    if found is not None:
        return f"contains a lone surrogate (U+{ord(found.group()):04X}): not valid UTF-8 text"
    return _NUL if "\x00" in value else None


_NUL = "contains a NUL character (U+0000), which cannot be stored"


def line_problem(value: str) -> str | None:
    """Why `value` is not one line of storable text (CR, LF, tab and other controls refused)."""
    problem = text_problem(value)
    if problem is not None:
        return problem
    found = _CONTROL.search(value)
    if found is not None:
        return (
            f"contains a control character (U+{ord(found.group()):04X}); "
            "use one line of text without line breaks or tabs"
        )
    return None


def printable(value: str) -> str:
    """`value` with lone surrogates and control characters escaped, safe to echo in an error."""
    return _CONTROL.sub(_escape, _SURROGATE.sub(_escape, value))


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """`("a", "b", 2, "c")` -> `a.b[2].c`, with unprintable characters in keys escaped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{printable(part)}" if out else printable(part)
    return out


def find_text_problem(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> tuple[Loc, str] | None:
    """Where (a key path) and why the first string (key or value) of a JSON-like value cannot
    be stored, or nesting goes deeper than `max_depth`; None when all is well.

    Iterative, so a hostile depth never exhausts the stack."""
    stack: list[tuple[object, Loc]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return loc, problem
        elif isinstance(item, Mapping | list | tuple):
            if len(loc) >= max_depth:
                return loc, f"is nested deeper than {max_depth} levels"
            pairs = item.items() if isinstance(item, Mapping) else enumerate(item)
            children: list[tuple[object, Loc]] = []
            for key, child in pairs:
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem is not None:
                        return (*loc, printable(key)), f"the key {problem}"
                children.append((child, (*loc, key if isinstance(key, int | str) else str(key))))
            stack.extend(reversed(children))
    return None


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError(VALUE_ERROR, "{detail}", {"detail": message})


def check_stored(value: str) -> str:
    """A pydantic validator: storable text (any number of lines)."""
    problem = text_problem(value)
    if problem is not None:
        raise _error(problem)
    return value


def check_line(value: str) -> str:
    """A pydantic validator: one line of storable text."""
    problem = line_problem(value)
    if problem is not None:
        raise _error(problem)
    return value


StoredText = Annotated[StrictStr, AfterValidator(check_stored)]
Line = Annotated[StrictStr, AfterValidator(check_line)]


class CheckedInput(BaseModel):
    """Base of every input model: before any field is validated, every string in the raw input
    (keys and values, at any depth, declared fields or free-form ones) must be storable, and
    nesting is bounded. The problem names its path relative to the model."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        found = find_text_problem(data)
        if found is not None:
            loc, problem = found
            detail = f"{dotted(loc)}: {problem}" if loc else problem
            raise PydanticCustomError(
                RULES_ERROR, "{detail}", {"detail": detail, "problems": [[list(loc), problem]]}
            )
        return data
