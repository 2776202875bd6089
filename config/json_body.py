"""Parsing a JSON request body that comes from outside: numbers as exact decimals, and a body
nested too deeply for the parser is a clear `ValueError`, not a crash.

Python's parser recurses once per nested array or object; a body such as 100,000 `[` raises
`RecursionError`, which would otherwise reach the client as a 500. Callers that keep the parsed
value bound the depth they accept afterwards (`config.text.find_text_problem`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["JsonBodyError", "parse_json"]


class JsonBodyError(ValueError):
    """The body is not JSON that can be read; `line`/`column` say where, when known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"malformed JSON{where}: {reason}" if line is not None else reason)
        self.line = line
        self.column = column


def parse_json(body: bytes | str) -> Any:
    """The parsed body, every number with a fraction or exponent as a `Decimal`."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise JsonBodyError(exc.msg, exc.lineno, exc.colno) from None
    except UnicodeDecodeError:
        raise JsonBodyError("the body is not UTF-8 text") from None
    except RecursionError:
        raise JsonBodyError(
            "the body is nested too deeply to be read (arrays or objects)"
        ) from None
