"""How the app answers failures that are not a route's own: a database that cannot serve the
request (503 with the reason, logged, the server keeps running), request validation errors
that echo input no UTF-8 answer can hold, and text in the URL that no database can store.

`install(app)` registers it all; `api.app` calls it once.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from config.db_faults import storage_fault
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
    return JSONResponse(
        {"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers
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


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with echoed input that a UTF-8 answer can carry."""
    assert isinstance(exc, RequestValidationError)
    errors = _printable_tree(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


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
