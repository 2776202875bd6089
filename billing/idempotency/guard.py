"""`@idempotent`: the `Idempotency-Key` header on a creating POST route (docs/api.md).

A request with the header goes through three steps:

1. Before the route runs, its key is claimed in a short transaction of its own
   (`INSERT ... ON CONFLICT DO NOTHING` on (partner, key)). A key already claimed answers at
   once: the kept answer with `Idempotent-Replayed: true`, 409 while the first request is still
   running, 422 for another request under the same key.
2. The route runs in the request's unit of work (`DbSession`); its answer (status code and JSON
   body) is written in that same unit of work, so the resource and the answer commit together
   or not at all. A process that dies before that commit leaves the key claimed without an
   answer and nothing created: a retry gets 409 until `service.LEASE` has passed, then runs.
3. When the route or the commit fails: a 4xx (an `HTTPException`, including the 409 of a lost
   unique race at commit) is kept, in a transaction of its own after the request's rolled back,
   as Stripe keeps them; anything else (5xx, a crash) releases the key so a retry runs. A body
   that fails validation never reaches step 1, so nothing is kept for it (Stripe neither).

Why 422 for the same key with another request (Stripe answers 400 `idempotency_error`): the
request is well formed but cannot be processed under this key, which is what 422 says, and
what the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header) specifies; 400 here already means malformed input.

The guard acts for the partner of an `admin` key (every creating route needs one); a platform
key has no partner, so its requests run as if the header were absent (the route refuses them).
"""

# No `from __future__ import annotations`: FastAPI must see the added parameters' annotations.
import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ParamSpec, TypeVar, cast

from fastapi import Depends, Header, HTTPException, Request, Response, status
from fastapi.encoders import jsonable_encoder
from sqlalchemy import Engine
from sqlmodel import Session

from billing.idempotency import service
from billing.tenants.auth import AdminKey
from config.db import write_scope
from config.db_types import utcnow
from config.request_session import AppEngine, DbSession

__all__ = ["KEY_DESCRIPTION", "REPLAYED_HEADER", "IdempotencyGuard", "idempotent"]

log = logging.getLogger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_DESCRIPTION = (
    "Optional. A unique key of yours (up to 255 printable ASCII characters, a UUID v4 is a good "
    "choice) that makes retrying this request safe: for 24 hours, a retry with the same key and "
    "the same request gets the first answer again (same status and body, header "
    "`Idempotent-Replayed: true`) and creates nothing. The same key with another body or path is "
    "422; while the first request runs, 409. 5xx answers are not kept."
)
_JSON = "application/json"


class IdempotencyGuard:
    """One request's hold on its key: `begin` before the route, `answer` after it, and the
    dependency's exit (`close`) when the route or the commit failed."""

    def __init__(
        self,
        engine: Engine,
        partner_id: str,
        key: str,
        request: service.RequestPrint,
        default_status: int,
    ) -> None:
        self.engine = engine
        self.partner_id = partner_id
        self.key = key
        self.request = request
        self.default_status = default_status
        self.claim: str | None = None

    def begin(self) -> Response | None:
        """Claim the key (its own transaction); a `Response` when the route must not run."""
        with write_scope(self.engine) as session:
            outcome = service.begin(session, self.partner_id, self.key, self.request, utcnow())
        if isinstance(outcome, service.Claimed):
            self.claim = outcome.claim
            return None
        if isinstance(outcome, service.Replay):
            headers = {REPLAYED_HEADER: "true"}
            if outcome.is_error:
                detail = json.loads(outcome.body)
                raise HTTPException(outcome.status_code, detail, headers=headers)
            return Response(outcome.body, outcome.status_code, headers, media_type=_JSON)
        if isinstance(outcome, service.Mismatch):
            first = outcome.first
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{service.HEADER}: already used for another request ({first.method} "
                f"{first.path} with a different body); send a new key for a new request",
            )
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{service.HEADER}: a request with this key is in progress; retry after it finishes",
        )

    def answer(self, session: Session, response: Response, result: object) -> Response:
        """The route's answer as it is kept (in the route's unit of work) and sent."""
        if isinstance(result, Response):
            status_code, body = result.status_code, bytes(result.body).decode()
        else:
            status_code = response.status_code or self.default_status
            encoded = jsonable_encoder(result)
            body = json.dumps(encoded, ensure_ascii=False, separators=(",", ":"))
        if self.claim is not None and status_code < 500:
            claim, self.claim = self.claim, None
            if not service.finish(session, self.partner_id, self.key, claim, status_code, body):
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"{service.HEADER}: this key was taken over by a retry while this request "
                    "ran; nothing of this request was kept",
                )
        return Response(body, status_code, media_type=_JSON)

    def close(self, error: BaseException | None) -> None:
        """After a failure (or a 5xx answer): keep a 4xx, release the key for anything else."""
        claim, self.claim = self.claim, None
        if claim is None:
            return
        try:
            with write_scope(self.engine) as session:
                if isinstance(error, HTTPException) and error.status_code < 500:
                    body = json.dumps(jsonable_encoder(error.detail), ensure_ascii=False)
                    service.finish(
                        session,
                        self.partner_id,
                        self.key,
                        claim,
                        error.status_code,
                        body,
                        is_error=True,
                    )
                else:
                    service.release(session, self.partner_id, self.key, claim)
        except Exception:  # the request's own error is the answer; the lease frees the key
            log.exception("could not settle %s %r", service.HEADER, self.key)


async def _request_print(request: Request) -> service.RequestPrint:
    """`async`: the body FastAPI already read is cached on the request, nothing blocks."""
    body = await request.body()
    return service.fingerprint(request.method, request.url.path, body)


def _guard(
    request: Request,
    engine: AppEngine,
    principal: AdminKey,
    printed: Annotated[service.RequestPrint, Depends(_request_print)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=service.HEADER,
            description=KEY_DESCRIPTION,
            # Documented, not enforced by FastAPI: a longer key is a 400 naming the header.
            json_schema_extra={"maxLength": service.MAX_KEY_LENGTH},
        ),
    ] = None,
) -> Iterator[IdempotencyGuard | None]:
    # Not named `key`: a route's path parameter of that name would be taken for it.
    if idempotency_key is None or principal.partner_id is None:
        yield None
        return
    try:
        checked = service.check_key(idempotency_key)
    except service.InvalidKeyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    route = request.scope.get("route")
    default_status = getattr(route, "status_code", None) or status.HTTP_200_OK
    guard = IdempotencyGuard(engine, principal.partner_id, checked, printed, default_status)
    try:
        yield guard
    except BaseException as exc:
        guard.close(exc)
        raise
    guard.close(None)


# Function scope, and first in the route's parameters: entered before the route's `DbSession`,
# so it exits after it and sees a failed commit too.
Guard = Annotated[IdempotencyGuard | None, Depends(_guard, scope="function")]

P = ParamSpec("P")
R = TypeVar("R")
_GUARD, _SESSION, _RESPONSE = "idempotency_guard", "idempotency_session", "idempotency_response"


def idempotent(route: Callable[P, R]) -> Callable[P, R]:
    """The route, taking an optional `Idempotency-Key` header (documented in OpenAPI). Put it
    under `@router.post(...)`; the route needs an `admin` key, must answer JSON, and must be a
    plain `def` whose body FastAPI reads (a body parameter): an `async` route reading its own
    body with a size limit would have it read whole, unlimited, for the fingerprint."""
    if inspect.iscoroutinefunction(route):
        raise TypeError(f"@idempotent takes a plain def route, not async {route.__name__}")
    signature = inspect.signature(route)
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(_GUARD, keyword, annotation=Guard),
        *(p.replace(kind=keyword) for p in signature.parameters.values()),
        inspect.Parameter(_SESSION, keyword, annotation=DbSession),
    ]
    # FastAPI passes the response (status code, headers) to one parameter only: the route's
    # own when it has one.
    own = [p.name for p in signature.parameters.values() if p.annotation is Response]
    response_name = own[0] if own else _RESPONSE
    if not own:
        parameters.append(inspect.Parameter(_RESPONSE, keyword, annotation=Response))

    def wrapper(**kwargs: Any) -> Any:
        guard: IdempotencyGuard | None = kwargs.pop(_GUARD)
        session: Session = kwargs.pop(_SESSION)
        response: Response = kwargs[response_name] if own else kwargs.pop(_RESPONSE)
        if guard is None:
            return route(**kwargs)  # type: ignore[call-arg]
        early = guard.begin()
        if early is not None:
            return early
        return guard.answer(session, response, route(**kwargs))  # type: ignore[call-arg]

    functools.update_wrapper(wrapper, route)
    cast(Any, wrapper).__signature__ = signature.replace(parameters=parameters)
    return cast(Callable[P, R], wrapper)
