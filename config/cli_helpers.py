"""Small helpers every command-line module shares: time options and JSON output."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import typer

__all__ = ["echo_json", "parse_as_of"]


def parse_as_of(value: str | None, option: str = "--as-of") -> datetime | None:
    """An ISO timestamp with offset, or a date meaning the end of that day in UTC."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(
                microseconds=1
            )
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or timestamp", param_hint=option
        ) from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter("timestamp needs a time zone offset, e.g. Z", param_hint=option)
    return parsed


def echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str, sort_keys=False))
