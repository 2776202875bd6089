"""`/v1/plans`, `/v1/clients/{id}/prices`, `/v1/clients/{id}/usage/current`,
`/v1/price-changes`.

Writes need an admin key, reads a read key; every route acts for the key's partner only
(another partner's plan or client is a 404, as if it did not exist). Bodies are parsed by hand
with JSON numbers as exact decimals, then validated by the partner file's own models; every
problem comes back at once with its path (`prices.voice_minutes.tiers[1].up_to`).
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from billing.pricing.book import client_period, local_today
from billing.pricing.changes import put_client_pricing, put_plan
from billing.pricing.errors import InvalidPricingError
from billing.pricing.live import live_figures
from billing.pricing.models import PriceChange
from billing.pricing.repository import PricingRepository
from billing.pricing.schemas import (
    ClientPricingIn,
    EffectivePricesOut,
    FieldChangeOut,
    LiveFiguresOut,
    PlanOut,
    effective_prices_out,
    live_out,
    plan_out,
)
from billing.pricing.service import plan_histories, plan_history, pricing_for
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, ReadKey, for_key, partner_of
from billing.tenants.cost_visibility import COST_WORDS
from billing.tenants.endpoints import translate_errors
from billing.tenants.schemas import (
    ONE_PAGE,
    ErrorResponse,
    Principal,
    Slug,
)
from billing.tenants.service import get_client
from config.bounds import check_day, database_id
from config.db_types import utcnow
from config.json_body import JsonBodyError, parse_json
from config.partner_file import ConfigProblem, PlanSpec
from config.partner_file.problems import problems_from_validation_error
from config.problems import (
    FieldProblem,
    ProblemResponse,
    ValidationProblem,
    field_path,
    validation_body,
)
from config.request_body import BodyTooLargeError, read_body
from config.request_session import DbSession

__all__ = ["router"]


class PlanCreateIn(PlanSpec):
    """`POST /v1/plans`: a plan's first version, with its code."""

    code: Slug


class PlanChangeOut(BaseModel):
    plan: PlanOut
    created: bool
    changes: list[FieldChangeOut]


class ChangesOut(BaseModel):
    changes: list[FieldChangeOut]


class PriceChangeOut(BaseModel):
    changed_at: str
    source: str
    reference: str | None
    object: str
    key: str
    action: str
    effective_from: date | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class PlanPage(BaseModel):
    """Every plan of the partner, each with every version (a price book: tens of plans)."""

    items: list[PlanOut]
    next_cursor: str | None = Field(default=None, description=ONE_PAGE)


class PriceChangePage(BaseModel):
    items: list[PriceChangeOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationProblem, "description": "Every problem, each at its path."},
    404: {"model": ErrorResponse, "description": "No such plan or client for this key."},
}
_FORCE = Query(description="Allow an effective_from inside a period already started.")


def _problems(
    request: Request, problems: tuple[ConfigProblem, ...] | list[ConfigProblem]
) -> ProblemResponse:
    """A validation problem, each path in the body (`body.prices.sms.model`), as FastAPI's own
    422 names a field."""
    errors = [FieldProblem(path=field_path(("body", *p.loc)), message=p.message) for p in problems]
    body = validation_body(errors, request.url.path, "nothing was changed")
    return ProblemResponse(body, status_code=422)


MAX_BODY_BYTES = 1024 * 1024  # a plan or a client's prices: a few KiB


async def _body(request: Request) -> Any:
    length = request.headers.get("content-length")
    try:
        return parse_json(await read_body(request.stream(), length, MAX_BODY_BYTES))
    except BodyTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    except JsonBodyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc}") from exc


def _day(value: date | None, name: str) -> date | None:
    """A day from the query within `config.bounds`, or 400 naming the parameter."""
    try:
        return None if value is None else check_day(value, name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _validated(model: type[BaseModel], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidPricingError(problems_from_validation_error(exc, raw)) from exc


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


router = APIRouter(prefix="/v1", responses=AUTH_RESPONSES)


@router.get("/plans", tags=["prices"], summary="The partner's plans, every version")
def list_plans(principal: ReadKey, session: DbSession) -> PlanPage:
    return PlanPage(items=[plan_out(h) for h in plan_histories(session, partner_of(principal))])


@router.get("/plans/{code}", tags=["prices"], responses=_INVALID)
def get_plan(code: str, principal: ReadKey, session: DbSession) -> PlanOut:
    with translate_errors():
        return plan_out(plan_history(session, partner_of(principal), code))


def _write_plan(
    session: Session,
    principal: Principal,
    code: str,
    raw: Any,
    model: type[PlanSpec],
    request: Request,
    *,
    create: bool,
    force: bool,
) -> PlanChangeOut | ProblemResponse:
    partner_id = partner_of(principal)
    try:
        with translate_errors():
            spec = _validated(model, raw)
            changes, created = put_plan(
                session,
                partner_id,
                code,
                spec,
                utcnow(),
                reference=principal.key_prefix,
                force=force,
                create=create,
            )
            history = plan_history(session, partner_id, code)
    except InvalidPricingError as exc:
        session.rollback()  # a refused change keeps nothing, though the answer is not an error
        return _problems(request, exc.problems)
    return PlanChangeOut(
        plan=plan_out(history),
        created=created,
        changes=[FieldChangeOut.of(c) for c in changes],
    )


@router.post(
    "/plans",
    tags=["prices"],
    response_model=PlanChangeOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_INVALID, 409: {"model": ErrorResponse, "description": "Code taken."}},
    openapi_extra=_schema(PlanCreateIn),
    summary="Create a plan (its first version covers all time unless effective_from says)",
)
async def create_plan(request: Request, principal: AdminKey, session: DbSession) -> Any:
    raw = await _body(request)
    code = raw.get("code") if isinstance(raw, dict) else None
    return _write_plan(
        session, principal, str(code or ""), raw, PlanCreateIn, request, create=True, force=False
    )


@router.put(
    "/plans/{code}",
    tags=["prices"],
    response_model=PlanChangeOut,
    responses=_INVALID,
    openapi_extra=_schema(PlanSpec),
    summary="Write a new version of a plan (or create it)",
)
async def put_plan_version(
    code: str,
    request: Request,
    response: Response,
    principal: AdminKey,
    session: DbSession,
    *,
    force: Annotated[bool, _FORCE] = False,
) -> Any:
    """Without `effective_from` the version takes effect today: each client's period that
    started before keeps the previous version (a change never rewrites the past)."""
    raw = await _body(request)
    result = _write_plan(
        session, principal, code, raw, PlanSpec, request, create=False, force=force
    )
    if isinstance(result, PlanChangeOut) and result.created:
        response.status_code = status.HTTP_201_CREATED
    return result


@router.get("/clients/{client_id}/prices", tags=["prices"], responses=_INVALID)
def get_client_prices(
    client_id: str,
    principal: ReadKey,
    session: DbSession,
    on: Annotated[date | None, Query(description="A day of the period; default today.")] = None,
) -> EffectivePricesOut:
    """The prices in force for the client's period containing `on`."""
    partner_id = partner_of(principal)
    on = _day(on, "on")
    with translate_errors():
        client = get_client(session, partner_id, client_id)
        day = on or local_today(client.timezone, utcnow())
        period = client_period(client.billing_anchor_day, day)
        pricing = pricing_for(session, partner_id, client_id, period)
        shown = effective_prices_out(client_id, period, client.currency, pricing)
        return for_key(principal, shown)


@router.put(
    "/clients/{client_id}/prices",
    tags=["prices"],
    response_model=ChangesOut,
    responses=_INVALID,
    openapi_extra=_schema(ClientPricingIn),
    summary="Override a client's prices, plan or terms",
)
async def put_client_prices(
    client_id: str,
    request: Request,
    principal: AdminKey,
    session: DbSession,
    *,
    force: Annotated[bool, _FORCE] = False,
) -> Any:
    partner_id = partner_of(principal)
    raw = await _body(request)
    try:
        with translate_errors():
            get_client(session, partner_id, client_id)
            body = _validated(ClientPricingIn, raw)
            changes = put_client_pricing(
                session,
                partner_id,
                client_id,
                body,
                utcnow(),
                reference=principal.key_prefix,
                force=force,
            )
    except InvalidPricingError as exc:
        session.rollback()  # a refused change keeps nothing, though the answer is not an error
        return _problems(request, exc.problems)
    return ChangesOut(changes=[FieldChangeOut.of(c) for c in changes])


@router.get("/clients/{client_id}/usage/current", tags=["usage"], responses=_INVALID)
def current_usage(
    client_id: str,
    principal: ReadKey,
    session: DbSession,
    on: Annotated[date | None, Query(description="A day of the period; default today.")] = None,
) -> LiveFiguresOut:
    """Period to date: quantity, charge lines, wholesale cost and margin per usage type,
    and the statement totals, rated exactly as the invoice will be."""
    partner_id = partner_of(principal)
    on = _day(on, "on")
    with translate_errors():
        figures = live_figures(session, partner_id, client_id, utcnow(), on=on)
        return for_key(principal, live_out(partner_id, figures))


def _change_cursor(session: Session, partner_id: str, cursor: str | None) -> PriceChange | None:
    if cursor is None:
        return None
    change_id = database_id(cursor)
    row = None if change_id is None else PricingRepository(session).change(partner_id, change_id)
    if row is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API returned")
    return row


@router.get(
    "/price-changes",
    tags=["prices"],
    summary="The change log, newest first",
    responses={400: {"model": ErrorResponse, "description": "A cursor this API did not return."}},
)
def price_changes(
    principal: ReadKey,
    session: DbSession,
    key: Annotated[str | None, Query(description="Keys starting with this.")] = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PriceChangePage:
    """Keyset paging on (`changed_at`, id): a change logged while a client pages lands on the
    first page, never twice or in the middle. Changes to wholesale prices are cost: a key that
    does not see cost does not see them either (left out in the query, so pages stay full)."""
    partner_id = partner_of(principal)
    after = _change_cursor(session, partner_id, cursor)
    hidden = () if principal.sees_costs else COST_WORDS
    rows = PricingRepository(session).changes(
        partner_id, object_key=key, limit=limit + 1, after=after, without_types_like=hidden
    )
    page = rows[:limit]
    changes = [
        PriceChangeOut(
            changed_at=r.changed_at.isoformat(),
            source=r.source.value,
            reference=r.reference,
            object=r.object_type,
            key=r.object_key,
            action=r.action,
            effective_from=r.effective_from,
            before=r.before,
            after=r.after,
        )
        for r in page
    ]
    next_cursor = str(page[-1].id) if len(rows) > limit and page else None
    return PriceChangePage(items=for_key(principal, changes), next_cursor=next_cursor)
