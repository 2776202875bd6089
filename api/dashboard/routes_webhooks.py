"""The Webhooks page: the partner's endpoints and their recent deliveries (status, HTTP answer,
an excerpt of it, attempts, next attempt), with a replay button per delivery and forms to add
an endpoint, rotate its secret and disable or enable it (docs/webhooks.md).

A new secret is shown once, on the page that answers the form that made it (never stored in
clear, never in a URL). Every POST carries the session's CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from api.dashboard.web import SignedIn, check_csrf, partner_in_view, render
from billing.tenants.models import Partner
from billing.webhooks import repository as repo
from billing.webhooks.events import EventType
from billing.webhooks.service import (
    ROTATION_WINDOW,
    EndpointError,
    create_endpoint,
    replay,
    rotate_secret,
    update_endpoint,
)
from config.db_types import utcnow
from config.request_session import DbSession
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from sync.webhooks_out.schemas import delivery_out, endpoint_out

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/p/{partner_id}", include_in_schema=False)
RECENT = 50


def _page(
    request: Request,
    who: SignedIn,
    partner: Partner,
    db: Session,
    *,
    status_code: int = 200,
    **context: object,
) -> Response:
    now = utcnow()
    endpoints = [endpoint_out(e, now) for e in repo.endpoints(db, partner.id)]
    deliveries = [delivery_out(d, e) for d, e in repo.deliveries(db, partner.id, limit=RECENT)]
    return render(
        request,
        "webhooks.html",
        who,
        partner,
        db=db,
        status_code=status_code,
        endpoints=endpoints,
        deliveries=deliveries,
        event_types=[t.value for t in EventType],
        replayed=request.query_params.get("replayed"),
        **context,
    )


def _id(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from exc


@router.get("/webhooks")
def webhooks_page(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    return _page(request, who, partner_in_view(db, who, partner_id), db)


@router.post("/webhooks/endpoints", dependencies=[Depends(check_csrf)])
async def add_endpoint(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    partner = partner_in_view(db, who, partner_id)
    form = await request.form()
    url = str(form.get("url") or "").strip()
    types = [str(v) for v in form.getlist("event_type")]
    try:
        row, secret = create_endpoint(
            db,
            cipher_from_settings(),
            partner.id,
            url=url,
            event_types=types,
            description=str(form.get("description") or ""),
            allow_private=get_settings().webhooks_allow_private_networks,
        )
    except EndpointError as exc:
        return _page(request, who, partner, db, status_code=422, error=exc, form_url=url)
    return _page(request, who, partner, db, secret=secret, secret_for=row.id)


@router.post("/webhooks/endpoints/{endpoint_id}/rotate", dependencies=[Depends(check_csrf)])
def rotate(
    request: Request, partner_id: str, endpoint_id: str, who: SignedIn, db: DbSession
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    row = repo.endpoint_of(db, partner.id, _id(endpoint_id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    secret = rotate_secret(db, cipher_from_settings(), row, window=ROTATION_WINDOW)
    return _page(request, who, partner, db, secret=secret, secret_for=row.id, rotated=True)


@router.post("/webhooks/endpoints/{endpoint_id}/enabled", dependencies=[Depends(check_csrf)])
async def set_enabled(
    request: Request, partner_id: str, endpoint_id: str, who: SignedIn, db: DbSession
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    row = repo.endpoint_of(db, partner.id, _id(endpoint_id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    form = await request.form()
    update_endpoint(db, row, enabled=form.get("enabled") == "1")
    return RedirectResponse(f"/dashboard/p/{partner_id}/webhooks", status_code=303)


@router.post("/webhooks/deliveries/{delivery_id}/replay", dependencies=[Depends(check_csrf)])
def replay_delivery(partner_id: str, delivery_id: str, who: SignedIn, db: DbSession) -> Response:
    """The same `webhook-id` and body again, due now (the worker sends it)."""
    partner = partner_in_view(db, who, partner_id)
    if repo.delivery_of(db, partner.id, _id(delivery_id)) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    done = replay(db, partner.id, _id(delivery_id))
    target = f"/dashboard/p/{partner_id}/webhooks?replayed={delivery_id if done else 'none'}"
    return RedirectResponse(target, status_code=303)
