"""`/openapi.json` with the error answers as they are sent: RFC 9457 problem details.

Routers document their errors with `responses={404: {"model": ErrorResponse, ...}}` (the
`Problem` model), and FastAPI adds a 422 of its own validation error model to every route
with parameters; both land under `application/json`, the route's own media type. The errors
are sent as `application/problem+json` (`api.errors`), so here, once, every 4xx and 5xx
answer of the document is moved to that media type, FastAPI's 422 becomes the
`ValidationProblem` that is sent, and the answers every route can give without saying so are
added: 503 (with Retry-After) when the database cannot serve the request, and 400 for a path
or query parameter that no database can store (`api.errors.check_url_text`). A generated
client then reads every error with one model, and a contract test holds the app to it.

An error documented with another model (the ingest route's malformed-JSON answer, which
carries `line` and `column`) is left as it is documented: it is what that route sends. So are
the pages for people (`/oauth`): they answer HTML, FastAPI's own JSON for a parameter refused
before the route runs, and an HTML page when the database is unavailable.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from config.problems import PROBLEM_MEDIA_TYPE, FieldProblem, Problem, ValidationProblem

__all__ = ["install"]

_REF = "#/components/schemas/{model}"
_PROBLEM = {"$ref": _REF.format(model="Problem")}
_VALIDATION = {"$ref": _REF.format(model="ValidationProblem")}
_AS_PROBLEMS = {
    _REF.format(model="Problem"): _PROBLEM,
    _REF.format(model="ValidationProblem"): _VALIDATION,
    _REF.format(model="HTTPValidationError"): _VALIDATION,
}
_FASTAPI_ONLY = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_UNAVAILABLE: dict[str, Any] = {
    "description": "The database cannot serve the request now; try again after Retry-After.",
    "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}},
}
_UNSTORABLE: dict[str, Any] = {
    "description": "A parameter that cannot be used (the reason names it).",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}},
}
_IN_PROGRESS: dict[str, Any] = {
    "description": "A request with the same Idempotency-Key is still running; retry later.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}},
}
# 422 on a route with an Idempotency-Key: a refused body (every field) or the key already spent
# on another request (a plain problem naming the header).
_VALIDATION_OR_KEY = {"anyOf": [_VALIDATION, _PROBLEM]}
_FOR_PEOPLE = ("/dashboard", "/oauth")
_HTML = {"text/html": {"schema": {"type": "string"}}}
_DETAIL = {
    "schema": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
}


def _component_schemas() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "serialization") for m in (Problem, ValidationProblem, FieldProblem)],
        ref_template=_REF,
    )
    defs: dict[str, Any] = schemas.get("$defs", {})
    return defs


def _as_problem(status: str, response: dict[str, Any]) -> None:
    content: dict[str, Any] = response.setdefault("content", {})
    json_body = content.get("application/json")
    if json_body is None:
        if not content:
            content[PROBLEM_MEDIA_TYPE] = {"schema": _VALIDATION if status == "422" else _PROBLEM}
        return
    replacement = _AS_PROBLEMS.get(json_body.get("schema", {}).get("$ref", ""))
    if replacement is not None:
        del content["application/json"]
        content[PROBLEM_MEDIA_TYPE] = {"schema": replacement}


def _operation(operation: dict[str, Any], *, for_people: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status == "422" or (status[:1] in ("4", "5") and not for_people):
            _as_problem(status, response)
    where = {p.get("in") for p in operation.get("parameters", [])}
    if for_people:
        if where & {"path", "query"}:
            refused = responses.setdefault("400", {"description": _UNSTORABLE["description"]})
            refused.setdefault("content", {})["application/json"] = _DETAIL
        responses.setdefault("503", {**_UNAVAILABLE, "content": _HTML})
        return
    if where & {"path", "query"}:
        responses.setdefault("400", _UNSTORABLE)
    responses.setdefault("503", _UNAVAILABLE)
    if _takes_idempotency_key(operation):
        responses.setdefault("409", _IN_PROGRESS)
        refused = responses.setdefault("422", {"description": "Unprocessable."})
        refused["description"] = (
            f"{refused.get('description', '')} Or the Idempotency-Key was used for another request."
        ).strip()
        refused["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _VALIDATION_OR_KEY}}


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "header" and str(p.get("name", "")).lower() == "idempotency-key"
        for p in operation.get("parameters", [])
    )


def problem_details(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (an OpenAPI document FastAPI built) with its errors as problem details."""
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                _operation(item[method], for_people=path.startswith(_FOR_PEOPLE))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_component_schemas())
    for name in _FASTAPI_ONLY:
        components.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve `problem_details` of the document FastAPI builds (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_details(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
