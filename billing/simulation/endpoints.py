"""`POST /v1/simulations`: a proposed price change re-rated against past periods' real usage.

Admin keys only (the answer carries wholesale cost, which read keys never see); the key's
partner only. The body is parsed with JSON numbers as exact decimals and validated by the
partner file's own price models; every problem comes back at once as a 422 naming its field
(`body.changes[0].price.unit_price`). Nothing is written, so no `Idempotency-Key` is taken: a
retry simply computes the same answer again.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from billing.pricing.errors import InvalidPricingError
from billing.simulation.out import SimulationOut, simulation_out
from billing.simulation.schemas import SimulationIn, parse_proposal
from billing.simulation.service import simulate
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, partner_of
from billing.tenants.endpoints import translate_errors
from config.db_types import utcnow
from config.json_body import JsonBodyError, parse_json
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

MAX_BODY_BYTES = 256 * 1024  # a proposal: a few changes, a few KiB

router = APIRouter(prefix="/v1", responses=AUTH_RESPONSES)


async def _body(request: Request) -> Any:
    length = request.headers.get("content-length")
    try:
        return parse_json(await read_body(request.stream(), length, MAX_BODY_BYTES))
    except BodyTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    except JsonBodyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc}") from exc


@router.post(
    "/simulations",
    tags=["prices"],
    response_model=SimulationOut,
    responses={422: {"model": ValidationProblem, "description": "Every problem, at its path."}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SimulationIn.model_json_schema()}},
        }
    },
    summary="Simulate a price change against past periods (writes nothing; admin keys only)",
)
async def post_simulation(request: Request, principal: AdminKey, session: DbSession) -> Any:
    """Re-rate the actual usage of every client's period starting in each month of `periods`
    with `changes` (a plan's price for a usage type in any price model, a plan's base fee or
    minimum spend, a client's own price or discount, a wholesale price), exactly as an invoice
    of that period would be rated, and compare with what the margins say of it (`GET
    /v1/margins?period=`): revenue net of tax, cost, margin and margin % before and after, per
    client, usage type and for the portfolio; the invoices that rise and fall most; the clients
    that cross the partner's `margin_alert_percent`.

    Nothing is written, so this POST takes no `Idempotency-Key`: repeating it is harmless.
    To make the change, send it through `PUT /v1/plans/{code}` or
    `PUT /v1/clients/{id}/prices` (or `prices simulate --apply`, or the dashboard)."""
    partner_id = partner_of(principal)
    raw = await _body(request)
    try:
        with translate_errors():
            body = parse_proposal(raw)
            result = simulate(
                session, partner_id, body.periods, body.changes, utcnow(), top=body.top
            )
    except InvalidPricingError as exc:
        errors = [
            FieldProblem(path=field_path(("body", *p.loc)), message=p.message) for p in exc.problems
        ]
        answer = validation_body(errors, request.url.path, "nothing was simulated")
        return ProblemResponse(answer, status_code=422)
    return simulation_out(result)
