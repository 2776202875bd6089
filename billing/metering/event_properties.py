"""One event's problem (`InvalidEventError`) and how an event's properties are stored: compact,
key-sorted JSON with exact decimals, refused at its path when it cannot be stored. Apart from
`validation` because both the per-event checks there and the batch checks of `batch_validation`
raise and encode with these.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

from config.text import MAX_JSON_DEPTH, dotted, find_text_problem, text_problem

__all__ = ["InvalidEventError", "encode_properties"]


class InvalidEventError(Exception):
    """One event's problem, caught where the event is validated and turned into its rejection."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def encode_properties(value: dict[str, Any]) -> str:
    """Compact, key-sorted JSON; exact decimals (parsed as `Decimal`) stay JSON numbers.

    What cannot be stored is refused as the event's rejection, at its path: a lone surrogate
    or NUL in any key or value, or nesting deeper than `MAX_JSON_DEPTH`."""
    try:
        text = _ENCODER.encode(value)
    except TypeError:  # holds a Decimal (a JSON number with a fraction): the slow path below
        text = _encode_with_decimals(value)
    except ValueError as exc:  # a float NaN or infinity from a Python caller
        raise InvalidEventError("properties", "must not contain NaN or infinity") from exc
    except RecursionError:
        raise _too_deep() from None
    # Cheap tests on the text first: NUL is escaped as \u0000 by the encoder, a surrogate is
    # left raw, and there cannot be more levels than opening brackets.
    if (
        "\\u0000" in text
        or text_problem(text) is not None
        or text.count("{") + text.count("[") > MAX_JSON_DEPTH
    ):
        found = find_text_problem(value)
        if found is not None:
            loc, problem = found
            raise InvalidEventError(dotted(("properties", *loc)), problem)
    return text


def _too_deep() -> InvalidEventError:
    return InvalidEventError("properties", f"is nested deeper than {MAX_JSON_DEPTH} levels")


def _encode_with_decimals(value: dict[str, Any]) -> str:
    decimals: list[str] = []
    # A mark no sender can guess: the placeholders are replaced by the exact decimal texts.
    mark = f"\ue000{secrets.token_hex(8)}:"

    def placeholder(item: object) -> str:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise InvalidEventError("properties", "must not contain NaN or infinity")
            decimals.append(str(item))
            return f"{mark}{len(decimals) - 1}"
        raise InvalidEventError("properties", f"cannot hold a {type(item).__name__}")

    encoder = json.JSONEncoder(
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=placeholder,
    )
    try:
        text = encoder.encode(value)
    except ValueError as exc:
        raise InvalidEventError("properties", "must not contain NaN or infinity") from exc
    except RecursionError:
        raise _too_deep() from None
    for number, decimal_text in enumerate(decimals):
        text = text.replace(f'"{mark}{number}"', decimal_text, 1)
    return text
