"""`/v1/usage`: ingest a batch, page through the audit trail, export it, summarise it.

The ingest body is read and parsed by hand (quantities become `Decimal`, never floats) and
the parse, validation and insert run in a worker thread: a 10,000-event batch must not stall
the event loop. Every read is filtered by the key's partner before anything else, so another
partner's client simply has no events.

Ingest opens its own unit of work inside that thread, after parsing, rather than taking the
request's `DbSession`: the commit then runs in the same thread hop as the insert, and on SQLite
the process's concurrent ingest requests queue on one in-process lock held until the commit.
SQLite has one writer at a time anyway; without the lock, the requests of one process wait
for each other in SQLite's busy handler, which sleeps up to 100 ms at a time however soon the
lock is free (four senders at once measured 5x slower than one, bench/ingest_http.py).
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from billing.metering.batch_body import (
    MAX_BATCH,
    BatchTooLargeError,
    MalformedBatchError,
    parse_batch,
)
from billing.metering.export import EXPORT_COLUMNS, export_csv_chunks
from billing.metering.models import EventSource
from billing.metering.repository import EventFilter
from billing.metering.schemas import (
    BatchErrorResponse,
    IngestResponse,
    SummaryLine,
    SummaryResponse,
    UsageEventIn,
    UsageEventOut,
    UsageEventPage,
    quantity_text,
)
from billing.metering.service import (
    InvalidCursorError,
    ingest,
    list_events,
    month_bounds,
    summarize,
)
from billing.tenants.auth import AUTH_RESPONSES, IngestKey, ReadKey, for_key, partner_of
from billing.tenants.endpoints import translate_errors
from billing.tenants.schemas import ErrorResponse
from config.bounds import check_day
from config.db import is_sqlite, session_scope
from config.problems import PROBLEM_MEDIA_TYPE, ProblemResponse, problem_body
from config.request_body import BodyTooLargeError, read_body
from config.request_session import AppEngine, DbSession

__all__ = ["EXPORT_COLUMNS", "MAX_BODY_BYTES", "router"]

MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_SUMMARY_DAYS = 366
_TOO_BIG = "the body is over 64 MiB: send fewer or smaller events per request"

_BATCH_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_BATCH,
    "items": UsageEventIn.model_json_schema(),
}
_INGEST_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Malformed JSON, or not an array.",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": BatchErrorResponse.model_json_schema()}},
    },
    413: {
        "model": ErrorResponse,
        "description": f"More than {MAX_BATCH:,} events, or over 64 MiB.",
    },
}
_BAD_QUERY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid cursor, period or date range."},
    404: {"model": ErrorResponse, "description": "Unknown client."},
}


ClientParam = Annotated[str | None, Query(description="Client id.")]
UsageTypeParam = Annotated[str | None, Query(description="Usage type code.")]
FromParam = Annotated[AwareDatetime | None, Query(alias="from", description="occurred_at >=")]
ToParam = Annotated[AwareDatetime | None, Query(alias="to", description="occurred_at <")]


_SQLITE_WRITER = threading.Lock()


def _one_writer(engine: Engine) -> AbstractContextManager[object]:
    """On SQLite, this process's ingest requests one at a time (see the module docstring)."""
    return _SQLITE_WRITER if is_sqlite(engine) else nullcontext()


def _ingest_body(engine: Engine, partner_id: str, body: bytes) -> Response:
    """Parse, then ingest and commit in one unit of work; the answer as JSON, built once
    (`IngestResponse` is the documented model, so it is not validated a second time)."""
    try:
        events = parse_batch(body)
    except MalformedBatchError as exc:
        problem = problem_body(
            status.HTTP_400_BAD_REQUEST, str(exc), "/v1/usage", line=exc.line, column=exc.column
        )
        return ProblemResponse(problem, status_code=status.HTTP_400_BAD_REQUEST)
    except BatchTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    try:
        with _one_writer(engine), session_scope(engine) as session:
            result = ingest(session, partner_id, events, EventSource.API)
    except IntegrityError as exc:  # as `DbSession` answers a unique row lost at commit
        raise HTTPException(status.HTTP_409_CONFLICT, "conflicts with an existing row") from exc
    answer = IngestResponse.of(result).model_dump_json()
    return Response(answer, media_type="application/json")


def _summary_range(period: str | None, start: date | None, end: date | None) -> tuple[date, date]:
    if period is not None:
        if start is not None or end is not None:
            raise ValueError("give either period or from/to, not both")
        return month_bounds(period)
    if start is None and end is None:
        return month_bounds(datetime.now(UTC).strftime("%Y-%m"))
    if start is None or end is None:
        raise ValueError("from and to go together")
    check_day(start, "from")
    check_day(end, "to")
    if end < start or (end - start).days >= _MAX_SUMMARY_DAYS:
        raise ValueError(
            f"from must not be after to, and the range at most {_MAX_SUMMARY_DAYS} days"
        )
    return start, end


router = APIRouter(prefix="/v1/usage", tags=["usage"], responses=AUTH_RESPONSES)


@router.post(
    "",
    summary=f"Send up to {MAX_BATCH:,} usage events",
    response_model=IngestResponse,
    responses=_INGEST_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def ingest_usage(request: Request, principal: IngestKey, engine: AppEngine) -> Response:
    """Valid events are stored even when others in the batch are rejected. A replayed
    `event_id` with the same body counts as a duplicate; with a different body it is
    rejected as a conflict. Each rejection names its index, field and reason."""
    partner_id = partner_of(principal)
    length = request.headers.get("content-length")
    try:  # stop reading at the limit, whatever was declared
        body = await read_body(request.stream(), length, MAX_BODY_BYTES)
    except BodyTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _TOO_BIG) from exc
    return await run_in_threadpool(_ingest_body, engine, partner_id, body)


@router.get("", summary="The audit trail, oldest first", responses=_BAD_QUERY)
def list_usage(
    principal: ReadKey,
    session: DbSession,
    client: ClientParam = None,
    usage_type: UsageTypeParam = None,
    start: FromParam = None,
    end: ToParam = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> UsageEventPage:
    where = EventFilter(client, usage_type, start, end)
    try:
        rows, next_cursor = list_events(session, partner_of(principal), where, cursor, limit)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    page = UsageEventPage(items=[UsageEventOut.of(e) for e in rows], next_cursor=next_cursor)
    return for_key(principal, page)


@router.get(
    "/export.csv",
    summary="Every matching event as CSV (streamed)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, one event a row."}},
)
def export_usage(
    principal: ReadKey,
    engine: AppEngine,
    client: ClientParam = None,
    usage_type: UsageTypeParam = None,
    start: FromParam = None,
    end: ToParam = None,
) -> StreamingResponse:
    where = EventFilter(client, usage_type, start, end)
    return StreamingResponse(
        export_csv_chunks(partner_of(principal), where, costs=principal.sees_costs, engine=engine),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
    )


@router.get(
    "/summary",
    summary="Totals per client x usage type x day (the client's time zone)",
    responses=_BAD_QUERY,
)
def usage_summary(
    principal: ReadKey,
    session: DbSession,
    client: ClientParam = None,
    usage_type: UsageTypeParam = None,
    period: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="A month, e.g. 2026-10.")
    ] = None,
    start: Annotated[date | None, Query(alias="from", description="First day.")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (inclusive).")] = None,
) -> SummaryResponse:
    partner_id = partner_of(principal)
    try:
        first, last = _summary_range(period, start, end)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    with translate_errors():
        totals = summarize(
            session, partner_id, first, last, client_id=client, usage_type=usage_type
        )
    lines = [
        SummaryLine(
            client=t.client_id,
            usage_type=t.usage_type,
            day=t.day,
            quantity=quantity_text(t.quantity),
            events=t.events,
            wholesale_cost=t.wholesale_cost,
            currency=t.currency,
        )
        for t in totals
    ]
    return for_key(principal, SummaryResponse(start=first, end=last, lines=lines))
