"""Small helpers every command-line module shares: time options, the `--json` option, JSON
output, and the one way a command fails (`error: ...` on stderr and an exit status)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError

__all__ = ["AsJson", "echo_json", "fail", "parse_as_of"]

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


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


def fail(reason: object, code: int = 1) -> typer.Exit:
    """Say `error: <reason>` on stderr (red on a terminal) and return the exit to raise, so that
    a command reads `raise fail(exc) from exc` and keeps the cause. A pydantic validation error
    is one line per field, named by its location. Status 1 is a refused operation; commands
    that report bad usage (as click does) pass 2."""
    if isinstance(reason, ValidationError):
        for error in reason.errors():
            where = ".".join(str(part) for part in error["loc"]) or "input"
            typer.secho(f"error: {where}: {error['msg']}", fg=typer.colors.RED, err=True)
    else:
        typer.secho(f"error: {reason}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
