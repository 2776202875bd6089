"""`/v1/webhook-endpoints` and `/v1/webhook-deliveries` (admin keys, own partner only).

Creating an endpoint answers its secret once; only its encryption is kept. No
`Idempotency-Key` on creation: the guard keeps a creating request's answer for 24 hours in
clear, and this answer is a signing secret (a retried create without a key makes a second
endpoint, which DELETE disables). A refused field is a 422 problem naming it (`body.url`,
`body.event_types`), as every validation failure of the API.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.exceptions import RequestValidationError

from billing.tenants.auth import AUTH_RESPONSES, AdminKey, partner_of
from billing.tenants.schemas import ErrorResponse
from billing.webhooks import repository as repo
from billing.webhooks.models import DeliveryStatus, WebhookEndpoint
from billing.webhooks.service import (
    EndpointError,
    create_endpoint,
    replay,
    rotate_secret,
    update_endpoint,
)
from config.bounds import MAX_ID, database_id
from config.db_types import utcnow
from config.request_session import DbSession
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from sync.webhooks_out.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointPage,
    EndpointUpdate,
    RotatedSecret,
    RotateIn,
    delivery_out,
    endpoint_out,
)

__all__ = ["router"]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such endpoint for this key's partner."}
}
EndpointId = Annotated[int, Path(ge=1, le=MAX_ID, description="A webhook endpoint id.")]

router = APIRouter(tags=["webhooks"], responses=AUTH_RESPONSES)


@contextmanager
def _fields(value: Any) -> Iterator[None]:
    """An `EndpointError` as FastAPI's own 422, so the problem names `body.<field>`."""
    try:
        yield
    except EndpointError as exc:
        error = {
            "loc": ("body", exc.field),
            "msg": exc.reason,
            "type": "value_error",
            "input": getattr(value, exc.field, None),
        }
        raise RequestValidationError([error]) from exc


def _allow_private() -> bool:
    return get_settings().webhooks_allow_private_networks


def _endpoint(session: DbSession, partner_id: str, endpoint_id: int) -> WebhookEndpoint:
    found = repo.endpoint_of(session, partner_id, endpoint_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"webhook endpoint {endpoint_id} not found")
    return found


@router.post(
    "/v1/webhook-endpoints",
    summary="Subscribe an endpoint to events (the answer carries its secret, once)",
    status_code=status.HTTP_201_CREATED,
)
def create_route(body: EndpointCreate, principal: AdminKey, session: DbSession) -> EndpointCreated:
    with _fields(body):
        row, secret = create_endpoint(
            session,
            cipher_from_settings(),
            partner_of(principal),
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            allow_private=_allow_private(),
        )
    shown = endpoint_out(row, utcnow())
    return EndpointCreated(**shown.model_dump(), secret=secret)


@router.get("/v1/webhook-endpoints", summary="The partner's webhook endpoints")
def list_route(principal: AdminKey, session: DbSession) -> EndpointPage:
    """Every endpoint on one page (a partner has a handful); `next_cursor` is always null."""
    now = utcnow()
    rows = repo.endpoints(session, partner_of(principal))
    return EndpointPage(items=[endpoint_out(r, now) for r in rows], next_cursor=None)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}", summary="One webhook endpoint", responses=_NOT_FOUND
)
def get_route(endpoint_id: EndpointId, principal: AdminKey, session: DbSession) -> EndpointOut:
    return endpoint_out(_endpoint(session, partner_of(principal), endpoint_id), utcnow())


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Change an endpoint's URL, event types, description, or enable/disable it",
    responses=_NOT_FOUND,
)
def update_route(
    endpoint_id: EndpointId, body: EndpointUpdate, principal: AdminKey, session: DbSession
) -> EndpointOut:
    row = _endpoint(session, partner_of(principal), endpoint_id)
    with _fields(body):
        update_endpoint(
            session,
            row,
            url=body.url,
            event_types=body.event_types,
            enabled=body.enabled,
            description=body.description,
            allow_private=_allow_private(),
        )
    return endpoint_out(row, utcnow())


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Disable an endpoint (its deliveries are kept and wait)",
    responses=_NOT_FOUND,
)
def delete_route(endpoint_id: EndpointId, principal: AdminKey, session: DbSession) -> EndpointOut:
    """The endpoint stops hearing of events and its waiting deliveries wait; its history stays
    for the partner's records. PATCH `enabled: true` turns it back on."""
    row = _endpoint(session, partner_of(principal), endpoint_id)
    update_endpoint(session, row, enabled=False)
    return endpoint_out(row, utcnow())


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret; the previous one still signs during the window",
    responses=_NOT_FOUND,
)
def rotate_route(
    endpoint_id: EndpointId, principal: AdminKey, session: DbSession, body: RotateIn | None = None
) -> RotatedSecret:
    row = _endpoint(session, partner_of(principal), endpoint_id)
    window = timedelta(hours=(body or RotateIn()).window_hours)
    secret = rotate_secret(session, cipher_from_settings(), row, window=window)
    assert row.previous_secret_expires_at is not None
    return RotatedSecret(
        endpoint_id=endpoint_id,
        secret=secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    summary="An endpoint's deliveries, newest first, with their last answers",
    responses={
        **_NOT_FOUND,
        400: {"model": ErrorResponse, "description": "A cursor this API did not return."},
    },
)
def deliveries_route(
    endpoint_id: EndpointId,
    principal: AdminKey,
    session: DbSession,
    delivery_status: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only this status.")
    ] = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    partner_id = partner_of(principal)
    _endpoint(session, partner_id, endpoint_id)
    before = None if cursor is None else database_id(cursor)
    if cursor is not None and before is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API returned")
    rows = repo.deliveries(
        session,
        partner_id,
        endpoint_id=endpoint_id,
        status=delivery_status,
        before=before,
        limit=limit + 1,
    )
    items = [delivery_out(d, e) for d, e in rows[:limit]]
    next_cursor = str(items[-1].id) if len(rows) > limit and items else None
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/replay",
    summary="Send a dead (or delivered) delivery again: same webhook-id, same payload",
    responses={
        404: {"model": ErrorResponse, "description": "No such delivery for this partner."},
        409: {"model": ErrorResponse, "description": "The delivery is still being tried."},
    },
)
def replay_route(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: AdminKey, session: DbSession
) -> DeliveryOut:
    partner_id = partner_of(principal)
    found = repo.delivery_of(session, partner_id, delivery_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"webhook delivery {delivery_id} not found")
    if not replay(session, partner_id, delivery_id):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"webhook delivery {delivery_id} is {found.status}: it is still being tried",
        )
    event = repo.event_of(session, found.event_id)
    assert event is not None
    return delivery_out(found, event)
