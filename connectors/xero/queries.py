"""Small pure helpers for talking to Xero: `where` filters, request idempotency keys, chunks.

Xero's `where` parameter is a filter expression: ``ContactNumber=="c-1" OR Name=="Acme"``,
``Type=="ACCREC" AND Date>=DateTime(2026,01,01)``; string values are double-quoted, with
``\\"`` for a quote inside.

Idempotency keys: the worker gives one key per element (``rebill:{connection}:{op}:{id}:
{version}``); a Xero request that carries many elements needs one key for the request. It is
the element's own key when there is one element, else a hash of the element keys in order, so
the same batch resent after an uncertain failure replays, and a differently composed batch
does not. Xero accepts keys of at most 128 characters: longer ones are hashed down the same
deterministic way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import TypeVar

from connectors.idempotency import combined_key
from connectors.xero.profile import LIMITS

__all__ = [
    "IDEMPOTENCY_KEY_MAX",
    "chunks",
    "date_where",
    "equals_any",
    "quote",
    "request_key",
]

IDEMPOTENCY_KEY_MAX = LIMITS.idempotency_key_max or 128
T = TypeVar("T")


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def equals_any(field: str, values: Sequence[str]) -> str:
    """``Field=="a" OR Field=="b"``."""
    return " OR ".join(f"{field}=={quote(value)}" for value in values)


def date_where(start: date, end: date, *, kind: str = "ACCREC") -> str:
    """Invoices of one type dated in [start, end]."""
    return (
        f'Type=="{kind}" AND Date>=DateTime({start.year},{start.month:02d},{start.day:02d})'
        f" AND Date<=DateTime({end.year},{end.month:02d},{end.day:02d})"
    )


def request_key(keys: Sequence[str], *, op: str, suffix: str = "") -> str:
    """The Idempotency-Key of a request carrying elements with these keys
    (`connectors.idempotency.combined_key` at Xero's 128 characters)."""
    return combined_key(keys, op=op, limit=IDEMPOTENCY_KEY_MAX, suffix=suffix)


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
