"""Which FreshBooks accounts a consent reaches: ``GET /auth/api/v1/users/me``.

The answer is ``{"response": {"id": ..., "business_memberships": [{"role": "owner",
"business": {"id": 123, "name": "Acme", "account_id": "xZNQ1X"}}, ...]}}``; the accounting
API is addressed by ``account_id``. The connections package calls `account_ids` after the
code exchange (as it calls Xero's ``/connections``) and stores the chosen one as the
connection's `remote_tenant`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.base import RejectedError
from connectors.freshbooks.errors import parse_error
from connectors.http import HttpClient

__all__ = ["ME_PATH", "Business", "account_ids", "choose_business", "parse_businesses"]

ME_PATH = "/auth/api/v1/users/me"


@dataclass(frozen=True, slots=True)
class Business:
    account_id: str
    business_id: str
    name: str
    role: str


def parse_businesses(body: Any) -> list[Business]:
    """The businesses (with an accounting account) of a ``users/me`` answer."""
    response = body.get("response") if isinstance(body, Mapping) else None
    if not isinstance(response, Mapping):
        raise RejectedError("freshbooks: users/me answered without a response", status=None)
    found: list[Business] = []
    for membership in response.get("business_memberships") or ():
        business = membership.get("business") if isinstance(membership, Mapping) else None
        if not isinstance(business, Mapping) or not business.get("account_id"):
            continue
        found.append(
            Business(
                account_id=str(business["account_id"]),
                business_id=str(business.get("id") or ""),
                name=str(business.get("name") or ""),
                role=str(membership.get("role") or ""),
            )
        )
    return found


async def account_ids(
    access_token: str,
    *,
    base_url: str = "https://api.freshbooks.com",
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
) -> list[Business]:
    async with HttpClient(
        base_url=base_url,
        name="freshbooks:identity",
        timeout=httpx.Timeout(timeout),
        default_headers={"Accept": "application/json"},
        error_parser=parse_error,
        transport=transport,
    ) as client:
        response = await client.request(
            "GET", ME_PATH, headers={"Authorization": f"Bearer {access_token}"}
        )
    return parse_businesses(response.json())


def choose_business(businesses: list[Business], wanted: str | None) -> Business:
    """The business named at connect time (`--tenant`), else the only one, else the first
    the user owns; `RejectedError` naming ``tenant`` when that leaves a doubt."""
    if not businesses:
        raise RejectedError(
            "tenant: the consent reaches no FreshBooks business with accounting", status=None
        )
    if wanted:
        named = [b for b in businesses if b.name.casefold() == wanted.casefold()]
        if not named:
            names = ", ".join(sorted(b.name for b in businesses)) or "none"
            raise RejectedError(
                f"tenant: no FreshBooks business named {wanted!r} (found: {names})", status=None
            )
        return named[0]
    if len(businesses) == 1:
        return businesses[0]
    owned = [b for b in businesses if b.role == "owner"]
    if len(owned) == 1:
        return owned[0]
    names = ", ".join(sorted(b.name for b in businesses)) or "none"
    raise RejectedError(
        f"tenant: the consent reaches {len(businesses)} FreshBooks businesses ({names}); "
        "connect again with --tenant naming one",
        status=None,
    )
