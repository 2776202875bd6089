"""`Authorization: Bearer <key>` -> `Principal`, or 401 (bad key) / 403 (missing scope).

The dependency is built here and handed to the billing routers by `api.app`, so billing never
imports the api package. Every request looks its key up again (one indexed read), so a
revoked key stops working at once.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billing.tenants.errors import AuthenticationError
from billing.tenants.models import Scope
from billing.tenants.schemas import Principal
from billing.tenants.service import authenticate
from config.db import session_scope

__all__ = ["bearer", "require_scope"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A partner API key (`rbk_...`), or a platform key for /v1/partners.",
)


def require_scope(scope: Scope) -> Callable[..., Principal]:
    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing API key: send Authorization: Bearer <key>",
                headers=challenge,
            )
        try:
            with session_scope() as session:
                principal = authenticate(session, credentials.credentials)
        except AuthenticationError as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers=challenge) from exc
        if not principal.allows(scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key does not have the {scope!s} scope"
            )
        return principal

    return dependency
