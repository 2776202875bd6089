"""`/v1/partners` (and each partner's logo), `/v1/clients`, `/v1/usage-types`.

Platform keys (no partner) manage partners; a partner's admin key manages its own partner,
clients and usage types; `read` keys may list them. A partner key asking for another partner's
row gets 404, exactly as if it did not exist. Each request is one unit of work.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from billing.idempotency.guard import idempotent
from billing.tenants import logos, service
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, ReadKey, for_key, partner_of
from billing.tenants.errors import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    TenantError,
)
from billing.tenants.models import ClientStatus, PartnerLogo
from billing.tenants.schemas import (
    ClientCreate,
    ClientPage,
    ClientRead,
    ClientUpdate,
    ErrorResponse,
    PartnerCreate,
    PartnerPage,
    PartnerRead,
    PartnerUpdate,
    Principal,
    UsageTypeCreate,
    UsageTypePage,
    UsageTypeRead,
)
from config.request_body import BodyTooLargeError, read_body
from config.request_session import DbSession

__all__ = ["router", "translate_errors"]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such row for this key's partner."}
}
_LOGO_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Not a PNG or JPEG logo (the reason says why)."},
    413: {"model": ErrorResponse, "description": "Larger than 1 MiB."},
}
_LOGO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/png", "image/jpeg")
        },
    }
}
# A stored image is served as exactly what it is, and nothing in it may run.
_IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Cache-Control": "private, max-age=300",
}


class LogoRead(BaseModel):
    media_type: str
    width: int
    height: int
    size: int
    sha256: str
    uploaded_at: datetime

    @classmethod
    def of(cls, row: PartnerLogo) -> "LogoRead":
        return cls(
            media_type=row.media_type,
            width=row.width,
            height=row.height,
            size=len(row.content),
            sha256=row.sha256,
            uploaded_at=row.uploaded_at,
        )


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "The id (or external_ref) is taken."}
}


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except AlreadyExistsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except PermissionDeniedError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except TenantError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except IntegrityError as exc:  # lost a race with a concurrent create of the same id
        raise HTTPException(status.HTTP_409_CONFLICT, "conflicts with an existing row") from exc


def _visible_partner(principal: Principal, partner_id: str) -> None:
    if principal.partner_id is not None and principal.partner_id != partner_id:
        raise NotFoundError("partner", partner_id)


router = APIRouter(prefix="/v1", responses=AUTH_RESPONSES)


@router.post(
    "/partners",
    tags=["partners"],
    status_code=status.HTTP_201_CREATED,
    responses=_CONFLICT,
    summary="Create a partner (platform key)",
)
def create_partner(spec: PartnerCreate, principal: AdminKey, session: DbSession) -> PartnerRead:
    if principal.partner_id is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a platform key creates partners")
    with translate_errors():
        return PartnerRead.model_validate(service.create_partner(session, spec))


@router.get("/partners", tags=["partners"], summary="Partners this key may manage")
def list_partners(principal: AdminKey, session: DbSession) -> PartnerPage:
    partners = service.list_partners(session)
    visible = [p for p in partners if principal.partner_id in (None, p.id)]
    return PartnerPage(items=[PartnerRead.model_validate(p) for p in visible])


@router.get("/partners/{partner_id}", tags=["partners"], responses=_NOT_FOUND)
def get_partner(partner_id: str, principal: AdminKey, session: DbSession) -> PartnerRead:
    with translate_errors():
        _visible_partner(principal, partner_id)
        return PartnerRead.model_validate(service.get_partner(session, partner_id))


@router.patch("/partners/{partner_id}", tags=["partners"], responses=_NOT_FOUND)
def update_partner(
    partner_id: str, spec: PartnerUpdate, principal: AdminKey, session: DbSession
) -> PartnerRead:
    with translate_errors():
        _visible_partner(principal, partner_id)
        return PartnerRead.model_validate(service.update_partner(session, partner_id, spec))


@router.put(
    "/partners/{partner_id}/logo",
    tags=["partners"],
    responses={**_NOT_FOUND, **_LOGO_ERRORS},
    openapi_extra=_LOGO_BODY,
    summary="Upload the partner's logo (PNG or JPEG, at most 1 MiB)",
)
async def put_logo(
    partner_id: str, request: Request, principal: AdminKey, session: DbSession
) -> LogoRead:
    """The image's bytes are the body; it is checked by its content (PNG or JPEG that
    decodes, at most 4096 pixels a side), not by its name or Content-Type. SVG is refused:
    it can carry scripts. Invoices, e-mails and the dashboard show it from then on."""
    length = request.headers.get("content-length")
    try:
        data = await read_body(request.stream(), length, logos.MAX_LOGO_BYTES)
    except BodyTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    with translate_errors():
        _visible_partner(principal, partner_id)
        return LogoRead.of(logos.set_logo(session, partner_id, data))


@router.get(
    "/partners/{partner_id}/logo",
    tags=["partners"],
    responses={**_NOT_FOUND, 200: {"content": {t: {} for t in logos.LOGO_TYPES.values()}}},
    response_class=Response,
    summary="The partner's logo image",
)
def get_logo(partner_id: str, principal: AdminKey, session: DbSession) -> Response:
    with translate_errors():
        _visible_partner(principal, partner_id)
        stored = logos.get_logo(session, partner_id)
        if stored is None:
            raise NotFoundError("logo of partner", partner_id)
        return Response(stored.content, media_type=stored.media_type, headers=_IMAGE_HEADERS)


@router.delete(
    "/partners/{partner_id}/logo",
    tags=["partners"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_FOUND,
    summary="Remove the partner's logo",
)
def delete_logo(partner_id: str, principal: AdminKey, session: DbSession) -> Response:
    with translate_errors():
        _visible_partner(principal, partner_id)
        if not logos.remove_logo(session, partner_id):
            raise NotFoundError("logo of partner", partner_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/clients",
    tags=["clients"],
    status_code=status.HTTP_201_CREATED,
    responses=_CONFLICT,
)
@idempotent
def create_client(spec: ClientCreate, principal: AdminKey, session: DbSession) -> ClientRead:
    with translate_errors():
        client = service.create_client(session, partner_of(principal), spec)
        return ClientRead.model_validate(client)


@router.get("/clients", tags=["clients"])
def list_clients(
    principal: ReadKey,
    session: DbSession,
    client_status: Annotated[ClientStatus | None, Query(alias="status")] = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ClientPage:
    rows = service.list_clients(
        session, partner_of(principal), status=client_status, after=cursor, limit=limit + 1
    )
    items = [ClientRead.model_validate(c) for c in rows[:limit]]
    return ClientPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.get("/clients/{client_id}", tags=["clients"], responses=_NOT_FOUND)
def get_client(client_id: str, principal: ReadKey, session: DbSession) -> ClientRead:
    with translate_errors():
        client = service.get_client(session, partner_of(principal), client_id)
        return ClientRead.model_validate(client)


@router.patch("/clients/{client_id}", tags=["clients"], responses={**_NOT_FOUND, **_CONFLICT})
def update_client(
    client_id: str, spec: ClientUpdate, principal: AdminKey, session: DbSession
) -> ClientRead:
    with translate_errors():
        client = service.update_client(session, partner_of(principal), client_id, spec)
        return ClientRead.model_validate(client)


@router.post(
    "/usage-types",
    tags=["usage types"],
    status_code=status.HTTP_201_CREATED,
    responses=_CONFLICT,
)
@idempotent
def create_usage_type(
    spec: UsageTypeCreate, principal: AdminKey, session: DbSession
) -> UsageTypeRead:
    with translate_errors():
        usage_type = service.create_usage_type(session, partner_of(principal), spec)
        return for_key(principal, UsageTypeRead.model_validate(usage_type))


@router.get("/usage-types", tags=["usage types"])
def list_usage_types(principal: ReadKey, session: DbSession) -> UsageTypePage:
    types = service.list_usage_types(session, partner_of(principal))
    return UsageTypePage(items=[for_key(principal, UsageTypeRead.model_validate(t)) for t in types])
