"""`/v1/invoices/{key}/portal-links`, `/v1/portal-links/{id}/revoke` and
`/v1/clients/{client}/portal-links`: an operator issues a fresh link to an invoice's portal,
revokes one link or all of a client's, and lists them (without URLs).

Issuing and revoking need an `admin` key (a link opens a client's invoices), listing a `read`
key. Another partner's invoice, client or link is a 404, as if it did not exist.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from billing.idempotency.guard import idempotent
from billing.invoicing.http_errors import invoice_key_errors
from billing.portal.errors import NotIssuedError
from billing.portal.repository import PortalRepository
from billing.portal.schemas import PortalLinkPage, PortalLinkRead, RevokedCount, link_read
from billing.portal.service import (
    issue_link_for,
    links_of_client,
    revoke_client_links,
    revoke_link,
)
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, ReadKey, partner_of
from billing.tenants.schemas import ErrorResponse
from billing.tenants.service import get_client
from config.request_session import DbSession

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A key that can be no invoice id or number."},
    404: {"model": ErrorResponse, "description": "No such invoice, client or link here."},
    409: {"model": ErrorResponse, "description": "The invoice is not issued yet."},
}


@contextmanager
def _errors() -> Iterator[None]:
    try:
        with invoice_key_errors():
            yield
    except NotIssuedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


router = APIRouter(tags=["portal"], responses=AUTH_RESPONSES)


@router.post(
    "/v1/invoices/{key}/portal-links",
    summary="Issue a fresh client-portal link for an invoice (its URL is shown only here)",
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
)
@idempotent
def issue_route(
    key: str, response: Response, principal: AdminKey, session: DbSession
) -> PortalLinkRead:
    with _errors():
        issued = issue_link_for(session, partner_of(principal), key)
    return link_read(issued.link, issued.url)


@router.post(
    "/v1/portal-links/{link_id}/revoke",
    summary="Revoke one client-portal link (revoking again changes nothing)",
    responses=_ERRORS,
)
def revoke_route(link_id: int, principal: AdminKey, session: DbSession) -> PortalLinkRead:
    found = PortalRepository(session).link(link_id)
    if found is None or found.partner_id != partner_of(principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"portal link {link_id} not found")
    return link_read(revoke_link(session, link_id))


@router.post(
    "/v1/clients/{client_id}/portal-links/revoke",
    summary="Revoke every client-portal link of a client",
    responses=_ERRORS,
)
def revoke_client_route(client_id: str, principal: AdminKey, session: DbSession) -> RevokedCount:
    partner_id = partner_of(principal)
    with _errors():
        get_client(session, partner_id, client_id)
        return RevokedCount(revoked=revoke_client_links(session, partner_id, client_id))


@router.get(
    "/v1/clients/{client_id}/portal-links",
    summary="A client's portal links, oldest first (no URLs)",
    responses=_ERRORS,
)
def list_route(client_id: str, principal: ReadKey, session: DbSession) -> PortalLinkPage:
    partner_id = partner_of(principal)
    with _errors():
        get_client(session, partner_id, client_id)
        links = links_of_client(session, partner_id, client_id)
    return PortalLinkPage(items=[link_read(link) for link in links])
