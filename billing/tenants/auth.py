"""Who is calling: `Authorization: Bearer <key>` -> `Principal`, or 401 (bad key) / 403
(missing scope), as FastAPI dependencies every router declares (`AdminKey`, `ReadKey`,
`IngestKey`).

They live with the keys (billing.tenants) so billing's and sync's routers need nothing from
the api package. Every request looks its key up again (one indexed read, in its own short
transaction), so a revoked key stops working at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billing.tenants.errors import AuthenticationError
from billing.tenants.models import Scope
from billing.tenants.schemas import Principal
from billing.tenants.service import authenticate
from config.db import session_scope
from config.request_session import AppEngine

__all__ = ["AdminKey", "IngestKey", "ReadKey", "bearer", "require_scope"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A partner API key (`rbk_...`), or a platform key for /v1/partners.",
)

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
