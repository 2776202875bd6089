"""Who is calling: `Authorization: Bearer <key>` -> `Principal`, or 401 (bad key) / 403
(missing scope), as FastAPI dependencies every router declares (`AdminKey`, `ReadKey`,
`IngestKey`); then what the key may act for (`partner_of`: a platform key has no partner) and
see (`for_key`: cost only for admin keys).

They live with the keys (billing.tenants) so billing's and sync's routers need nothing from
the api package. Every request looks its key up again (one indexed read, in its own short
transaction), so a revoked key stops working at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billing.tenants.cost_visibility import hide_costs
from billing.tenants.errors import AuthenticationError
from billing.tenants.models import Scope
from billing.tenants.schemas import ErrorResponse, Principal
from billing.tenants.service import authenticate
from config.db import session_scope
from config.request_session import AppEngine

__all__ = [
    "AUTH_RESPONSES",
    "AdminKey",
    "IngestKey",
    "ReadKey",
    "bearer",
    "for_key",
    "partner_of",
    "require_scope",
]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A partner API key (`rbk_...`), or a platform key for /v1/partners.",
)

# What the key dependencies answer, for the OpenAPI document of every router that uses them.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing, unknown or revoked API key."},
    403: {"model": ErrorResponse, "description": "The key lacks the scope this route needs."},
}

Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def require_scope(scope: Scope) -> Callable[..., Principal]:
    """A dependency: the calling key's `Principal` when it has `scope`."""

    def dependency(engine: AppEngine, credentials: Credentials) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing API key: send Authorization: Bearer <key>",
                headers=challenge,
            )
        try:
            with session_scope(engine) as session:
                principal = authenticate(session, credentials.credentials)
        except AuthenticationError as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers=challenge) from exc
        if not principal.allows(scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key does not have the {scope!s} scope"
            )
        return principal

    dependency.__name__ = f"{scope.value}_key"
    return dependency


AdminKey = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
ReadKey = Annotated[Principal, Depends(require_scope(Scope.READ))]
IngestKey = Annotated[Principal, Depends(require_scope(Scope.INGEST))]


def partner_of(principal: Principal) -> str:
    """The partner a key acts for; platform keys act for none and get 403 here."""
    if principal.partner_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "a platform key manages partners only; use a partner key"
        )
    return principal.partner_id


Shown = TypeVar("Shown")


def for_key(principal: Principal, body: Shown) -> Shown:
    """`body` as this key may see it: cost and margin fields null unless it is an admin key
    (`Principal.sees_costs`, `hide_costs`). Every route that answers such fields calls this."""
    return body if principal.sees_costs else hide_costs(body)
