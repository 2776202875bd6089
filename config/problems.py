"""The one error shape of the JSON API: RFC 9457 problem details (`application/problem+json`).

Every 4xx and 5xx answer of `/v1/...` (and of the other JSON routes: webhooks) is a `Problem`:
`type`, `title`, `status`, `detail` (always a string, for a person to read) and `instance` (the
request path). Validation failures are a `ValidationProblem`, which adds `errors`: one
`FieldProblem` per field, at its path. Routes keep raising `HTTPException`; `api.errors`
turns it into a problem centrally. They live in `config`, beside the request session, because
routers of every layer build or document them and the lower layers never import `api`.

Types: `about:blank` when the HTTP status says it all (the title is then the status phrase);
a `https://rebill.dev/problems/<slug>` URI for a problem with its own meaning and members
(`VALIDATION`, `DATABASE_UNAVAILABLE`), so a client can branch on `type` without parsing text.

Field paths name where the field was sent, then the key path in it, as the partner file's
messages do: `body.clients[0].email`, `query.limit`, `path.key`, `header.idempotency-key`;
keys that are not plain names are quoted (`body.properties."a.b"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from config.prices import format_loc

__all__ = [
    "ABOUT_BLANK",
    "DATABASE_UNAVAILABLE",
    "PROBLEM_MEDIA_TYPE",
    "VALIDATION",
    "FieldProblem",
    "Problem",
    "ProblemResponse",
    "ValidationProblem",
    "field_path",
    "problem_body",
    "summary_of",
    "validation_body",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
ABOUT_BLANK = "about:blank"
VALIDATION = "https://rebill.dev/problems/validation"
DATABASE_UNAVAILABLE = "https://rebill.dev/problems/database-unavailable"
_TITLES = {VALIDATION: "Invalid request", DATABASE_UNAVAILABLE: "Database unavailable"}
_SUMMARY_ITEMS = 3


class Problem(BaseModel):
    """RFC 9457 problem details: what every 4xx and 5xx answer of the JSON API is."""

    type: str = Field(
        default=ABOUT_BLANK,
        description="A URI naming the kind of problem; `about:blank`: the status says it all.",
        examples=[ABOUT_BLANK, VALIDATION],
    )
    title: str = Field(description="Short, the same for every problem of this type.")
    status: int = Field(ge=400, le=599, description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong this time, for a person to read.")
    instance: str | None = Field(default=None, description="The request path.")


class FieldProblem(BaseModel):
    path: str = Field(
        description="Where: `body`, `query`, `path` or `header`, then the key path in it.",
        examples=["body.clients[0].email", "query.limit"],
    )
    message: str = Field(description="Why the value is refused.")
    type: str | None = Field(default=None, description="A machine code, e.g. `missing`.")
    input: Any = Field(default=None, description="The value refused, when it is short.")


class ValidationProblem(Problem):
    """A request that fails validation (422): every problem at once, each at its field."""

    type: str = Field(default=VALIDATION, description="Always the validation problem type.")
    errors: list[FieldProblem]


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def _title(status: int, type_: str) -> str:
    if type_ in _TITLES:
        return _TITLES[type_]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int, detail: str, instance: str | None, type_: str = ABOUT_BLANK, **extra: Any
) -> dict[str, Any]:
    """The members of a problem, as JSON-ready values."""
    body: dict[str, Any] = {
        "type": type_,
        "title": _title(status, type_),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body


def field_path(loc: Sequence[str | int]) -> str:
    """FastAPI's `("body", "clients", 0, "email")` -> `body.clients[0].email`."""
    return format_loc(loc) if loc else "body"


def summary_of(errors: Sequence[FieldProblem], note: str = "") -> str:
    """`detail` of a validation problem: the first few problems on one line."""
    shown = "; ".join(f"{e.path}: {e.message}" for e in errors[:_SUMMARY_ITEMS])
    more = len(errors) - _SUMMARY_ITEMS
    count = f"{len(errors)} invalid field{'s' if len(errors) != 1 else ''}"
    text = f"{count}: {shown}" + (f"; and {more} more" if more > 0 else "")
    return text + (f" ({note})" if note else "")


def validation_body(
    errors: Sequence[FieldProblem], instance: str | None, note: str = ""
) -> dict[str, Any]:
    return problem_body(
        422,
        summary_of(errors, note),
        instance,
        VALIDATION,
        errors=[e.model_dump(exclude_none=True) for e in errors],
    )
