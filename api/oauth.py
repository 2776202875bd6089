"""OAuth2 callbacks: where QuickBooks and Xero send the partner's browser after consent.

No API key here (it is a browser redirect); the single-use `state` issued by
`connections connect` is what ties the callback to a partner and connection. Answers are small
HTML pages because a person reads them; a refusal is 400 with the reason.
"""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from config.request_session import AppEngine
from connectors.base import ConnectorError
from connectors.connections.providers import OAUTH_PROVIDERS
from connectors.connections.service import (
    ConnectionSetupError,
    OAuthStateError,
    complete_consent,
)

__all__ = ["router"]

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>{title}</h1><p>{body}</p></body></html>"""


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), body=html.escape(body)), status_code=status
    )


router = APIRouter(tags=["oauth"])


_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PAGES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Not connected: the provider refused, or a used or forged link.",
        "content": _HTML,
    },
    404: {"description": "No OAuth flow for this provider.", "content": _HTML},
    502: {"description": "The provider failed to exchange the code.", "content": _HTML},
}


@router.get("/oauth/{provider}/callback", response_class=HTMLResponse, responses=_PAGES)
async def oauth_callback(
    provider: str,
    engine: AppEngine,
    code: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    realm_id: Annotated[str | None, Query(alias="realmId")] = None,
    error: Annotated[str | None, Query()] = None,
    error_description: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Finish `connections connect`: verify the state, exchange the code, store the
    encrypted tokens and the organisation (QuickBooks realmId, Xero tenant)."""
    if provider not in OAUTH_PROVIDERS:
        return _page(404, "Unknown provider", f"No OAuth flow for {provider!r}.")
    if error:
        reason = error_description or error
        return _page(400, "Not connected", f"{provider} reported: {reason}.")
    try:
        connection = await complete_consent(
            engine,
            provider=provider,
            code=code or "",
            state=state or "",
            realm_id=realm_id,
        )
    except (OAuthStateError, ConnectionSetupError) as exc:
        return _page(400, "Not connected", str(exc))
    except ConnectorError as exc:
        log.warning("oauth callback for %s failed: %s", provider, exc.message)
        return _page(
            502,
            "Not connected",
            f"{exc.message} The link is used up: start again with "
            f"`python main.py connections connect {provider} --partner ...`.",
        )
    where = f" ({connection.remote_tenant_name})" if connection.remote_tenant_name else ""
    return _page(
        200,
        f"Connected {provider} for {connection.partner_id}",
        f"Connection {connection.name!r}{where} is active. You can close this window.",
    )
