"""What a batch of usage events arrives as: one JSON array, every number an exact `Decimal`, at
most `MAX_BATCH` events. Apart from `validation` because this refuses the whole body (the
endpoint answers 400 or 413), while `validation` judges each event on its own.
"""

from __future__ import annotations

from config.json_body import JsonBodyError, parse_json

__all__ = ["MAX_BATCH", "BatchTooLargeError", "MalformedBatchError", "parse_batch"]

MAX_BATCH = 10_000


class MalformedBatchError(JsonBodyError):
    pass


class BatchTooLargeError(ValueError):
    pass


def parse_batch(body: bytes, limit: int = MAX_BATCH) -> list[object]:
    """A JSON array of events with every number parsed as `Decimal` (never a binary float)."""
    try:
        parsed = parse_json(body)
    except JsonBodyError as exc:
        raise MalformedBatchError(str(exc).split(": ", 1)[-1], exc.line, exc.column) from None
    if not isinstance(parsed, list):
        raise MalformedBatchError("the body must be a JSON array of events")
    if len(parsed) > limit:
        raise BatchTooLargeError(f"{len(parsed)} events in one batch; the limit is {limit}")
    return parsed
