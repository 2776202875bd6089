"""Bearer authentication. The client only needs a `TokenSource`: the connections store
implements it (refresh before expiry under a lock, rotated refresh token saved first); the
client asks for a token before each attempt and, when the remote still answers 401, calls
`refresh_after_rejection` with the exact token it used, so a refresher that already rotated
it can hand back the newer one instead of refreshing twice."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from connectors.base import AuthExpiredError

__all__ = ["StaticTokenSource", "TokenSource", "bearer_headers"]


@runtime_checkable
class TokenSource(Protocol):
    async def access_token(self) -> str:
        """A valid access token, refreshed first if it is near expiry."""
        ...

    async def refresh_after_rejection(self, rejected: str) -> str:
        """A token other than `rejected` (the remote answered 401 to it); raises
        `AuthExpiredError` when the connection cannot be refreshed."""
        ...


class StaticTokenSource:
    """A fixed token (sandbox, tests, API keys such as Stripe's): a 401 cannot be cured."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token: must not be empty")
        self._token = token

    async def access_token(self) -> str:
        return self._token

    async def refresh_after_rejection(self, rejected: str) -> str:
        raise AuthExpiredError("the access token was refused and cannot be refreshed", status=401)


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
