"""How the app answers failures: every 4xx and 5xx of the JSON API as RFC 9457 problem details
(`config.problems`), converted here from the `HTTPException`s routes raise, from request
validation errors (each at its field path, echoing input no UTF-8 answer could hold as
printable text) and from unhandled errors; a database that cannot serve the request (503 with
the reason and Retry-After, logged, the server keeps running); text in the URL that no
database can store. Pages a browser shows (`/dashboard`, `/oauth`) keep their own answers:
HTML for a storage fault, FastAPI's own JSON `{"detail": ...}` for the rest, as before.

`install(app)` registers it all; `api.app` calls it once.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.db_faults import storage_fault
from config.problems import (
    DATABASE_UNAVAILABLE,
    FieldProblem,
    ProblemResponse,
    field_path,
    problem_body,
    validation_body,
)
from config.text import printable, text_problem

__all__ = ["RETRY_AFTER_SECONDS", "check_url_text", "install"]

log = logging.getLogger("rebill.api")

RETRY_AFTER_SECONDS = 5


def _for_people(request: Request) -> bool:
    """Pages a browser shows (dashboard, OAuth callbacks) get HTML; the API gets JSON."""
    return request.url.path.startswith(("/dashboard", "/oauth"))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    reason = storage_fault(exc)
    if reason is None:
        raise exc  # not a storage fault: a bug, answered 500 with its traceback in the log
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    log.error(
        "database unavailable for %s %s: %s (%s: %s)",
        request.method,
        request.url.path,
        reason,
        type(original).__name__,
        str(original).strip().splitlines()[0] if str(original).strip() else "",
    )
    detail = f"database unavailable: {reason}"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _for_people(request):
        page = (
            "<!doctype html><meta charset=utf-8><title>Unavailable</title>"
            f"<h1>Temporarily unavailable</h1><p>{html.escape(detail)}.</p>"
            "<p>Try again in a moment.</p>"
        )
        return HTMLResponse(page, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    body = problem_body(503, detail, request.url.path, DATABASE_UNAVAILABLE)
    return ProblemResponse(
        _printable_tree(body), status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers
    )


def _printable_tree(value: Any) -> Any:
    """`value` with every string made printable (lone surrogates escaped as text)."""
    if isinstance(value, str):
        return value if text_problem(value) is None else printable(value)
    if isinstance(value, dict):
        return {_printable_tree(k): _printable_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable_tree(item) for item in value]
    return value


_MAX_ECHO = 200  # characters of a refused value echoed back; longer ones are left out


def _echo(value: Any) -> Any:
    """The refused input when it is short (a whole body is not echoed back)."""
    text = repr(value) if not isinstance(value, str) else value
    return value if len(text) <= _MAX_ECHO else None


def _field_problem(error: dict[str, Any]) -> FieldProblem:
    return FieldProblem(
        path=field_path(error.get("loc", ())),
        message=str(error.get("msg", "invalid")),
        type=error.get("type"),
        input=_echo(error.get("input")),
    )


async def validation_failed(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 as a validation problem: `errors` lists each field path and reason,
    `detail` sums them up; echoed input is made printable so a UTF-8 answer can carry it."""
    assert isinstance(exc, RequestValidationError)
    errors = [_field_problem(e) for e in jsonable_encoder(exc.errors())]
    body = validation_body(errors, request.url.path)
    return ProblemResponse(_printable_tree(body), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def http_failed(request: Request, exc: Exception) -> Response:
    """An `HTTPException` (a route's, a dependency's, or the router's 404 and 405) as a
    problem with its status, `detail` and headers; the pages for people answer as before."""
    assert isinstance(exc, StarletteHTTPException)
    if _for_people(request):
        return await http_exception_handler(request, exc)
    if exc.status_code < 400:  # a redirect or "not modified" carries no problem
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(jsonable_encoder(exc.detail))
    body = problem_body(exc.status_code, detail, request.url.path)
    return ProblemResponse(_printable_tree(body), status_code=exc.status_code, headers=exc.headers)


async def server_failed(request: Request, exc: Exception) -> Response:
    """A bug: 500 with no detail of it (the traceback is in the log, where Starlette's error
    middleware writes it after this answer)."""
    if _for_people(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    body = problem_body(500, "an unexpected error; it is logged", request.url.path)
    return ProblemResponse(body, status_code=500)


async def check_url_text(request: Request) -> None:
    """App-wide dependency: a path or query parameter that no database can store (NUL from
    `%00`) is refused with 400 naming the parameter, before any query is built with it.
    `async` because it never blocks: a plain `def` would cost every request a worker thread
    hand-off."""
    for kind, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in items:
            problem = text_problem(value) if isinstance(value, str) else None
            if problem is not None:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST,
                    f"{kind} parameter {printable(name)!r}: {problem}",
                )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(PoolTimeoutError, database_unavailable)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_failed)
    app.add_exception_handler(Exception, server_failed)
