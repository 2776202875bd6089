"""Connecting an accounting system: consent URL with a single-use state, the callback that
stores the tokens, listing and disconnecting.

The consent `state` is random (256 bits), stored with the partner, provider and connection
name it was issued for, expires after 15 minutes and is deleted when a callback presents it,
so a leaked or replayed callback URL cannot attach someone's organisation to another partner.
The state row is consumed in its own transaction before the code is exchanged: a failing
exchange does not leave it reusable.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from config.db import read_scope, write_scope
from config.db_types import utcnow
from connectors.base import ConnectorError
from connectors.profiles import TenantChoice, profile

from .crypto import TokenCipher, TokenDecryptionError, cipher_from_settings
from .models import Connection, ConnectionStatus, OAuthState, Provider
from .providers import OAUTH_PROVIDERS, OAuthProvider, TokenGrant, XeroTenant, oauth_provider
from .repository import (
    connection_by_name,
    connection_settings,
    consume_state,
    lock_connection,
    partner_exists,
    partner_settings,
    purge_expired_states,
)

__all__ = [
    "STATE_LIFETIME",
    "ConnectionSetupError",
    "ConsentStart",
    "OAuthStateError",
    "choose_tenant",
    "complete_consent",
    "disconnect",
    "disconnect_and_revoke",
    "mapping_settings",
    "start_consent",
]

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=15)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ConnectionSetupError(ValueError):
    """Bad input for a connection command: the message names the field and the reason."""


class OAuthStateError(ValueError):
    """The callback's `state` is unknown, already used or expired (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class ConsentStart:
    url: str
    state: str
    connection_id: str
    expires_at: datetime


def start_consent(
    session: Session,
    *,
    partner_id: str,
    provider: str,
    name: str | None = None,
    tenant_name: str | None = None,
    base_url: str | None = None,
    oauth: OAuthProvider | None = None,
    now: datetime | None = None,
) -> ConsentStart:
    """Create (or reuse) the named connection in `pending` state and a consent state; the
    caller commits. Reconnecting an existing connection keeps its id (and its outbox rows)."""
    if provider not in OAUTH_PROVIDERS:
        raise ConnectionSetupError(
            f"provider: {provider!r} cannot be connected by OAuth (choose from "
            f"{', '.join(OAUTH_PROVIDERS)})"
        )
    name = name or provider
    if not _NAME.match(name):
        raise ConnectionSetupError(f"name: {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if not partner_exists(session, partner_id):
        raise ConnectionSetupError(f"partner: no partner {partner_id!r}")
    stored = partner_settings(session, partner_id).get("connections") or {}
    table = stored.get(name) if isinstance(stored, dict) else None
    if isinstance(table, dict) and table.get("provider") not in (None, provider):
        raise ConnectionSetupError(
            f"name: the partner file's connection {name!r} is {table.get('provider')}, "
            f"not {provider}"
        )
    if isinstance(table, dict) and not tenant_name and isinstance(table.get("tenant_name"), str):
        tenant_name = table["tenant_name"]  # `tenant_name = "..."` in the partner file
    oauth = oauth or oauth_provider(provider)
    if not oauth.client_id:
        raise ConnectionSetupError(
            f"{provider}_client_id: not configured (set REBILL_{provider.upper()}_CLIENT_ID and "
            f"REBILL_{provider.upper()}_CLIENT_SECRET to the app's credentials)"
        )
    now = now or utcnow()
    connection = connection_by_name(session, partner_id, name)
    if connection is None:
        connection = Connection(partner_id=partner_id, name=name, provider=Provider(provider))
        session.add(connection)
    elif connection.provider != provider:
        raise ConnectionSetupError(
            f"name: connection {name!r} of partner {partner_id} is {connection.provider.value}; "
            f"choose another --name"
        )
    if base_url is not None:
        connection.base_url = base_url or None
    connection.updated_at = now
    purge_expired_states(session, now)
    state = secrets.token_urlsafe(32)
    expires = now + STATE_LIFETIME
    session.add(
        OAuthState(
            state=state,
            partner_id=partner_id,
            provider=Provider(provider),
            connection_name=name,
            tenant_name=tenant_name,
            expires_at=expires,
        )
    )
    session.flush()
    return ConsentStart(oauth.consent_url(state), state, connection.id, expires)


def choose_tenant(
    tenants: list[XeroTenant], wanted: str | None, current: str | None = None
) -> XeroTenant:
    """The organisation named at connect time (`--tenant`), else the one this connection
    already uses (a reconnect), else the most recently connected."""
    if not tenants:
        raise ConnectionSetupError(
            "tenant: the consent reached no Xero organisation; connect again and pick one"
        )
    if wanted:
        named = [t for t in tenants if t.tenant_name.casefold() == wanted.casefold()]
        if not named:
            names = ", ".join(sorted(t.tenant_name for t in tenants))
            raise ConnectionSetupError(
                f"tenant: no organisation named {wanted!r} (found: {names}); connect again "
                "with --tenant set to one of them"
            )
        tenants = named
    same = [t for t in tenants if current and t.tenant_id == current]
    return same[0] if same else max(tenants, key=lambda t: t.created)


async def complete_consent(
    engine: Engine,
    *,
    provider: str,
    code: str,
    state: str,
    realm_id: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    oauth: OAuthProvider | None = None,
    cipher: TokenCipher | None = None,
    now: datetime | None = None,
) -> Connection:
    """The callback: consume `state`, exchange `code`, find the organisation (the provider
    profile's `choose_tenant`: QuickBooks' `realm_id` on the callback, Xero's connections,
    FreshBooks' businesses), store the encrypted tokens and mark the connection active."""
    now = now or utcnow()
    pending = await asyncio.to_thread(_consume, engine, state) if state else None
    if pending is None:
        raise OAuthStateError(
            "state: unknown or already used; start again with `connections connect`"
        )
    if pending.expires_at < now:
        raise OAuthStateError(
            "state: expired (consent links last 15 minutes); start again with `connections connect`"
        )
    if pending.provider != provider:
        raise OAuthStateError(f"state: issued for {pending.provider.value}, not {provider}")
    published = profile(provider)
    chooser = published.choose_tenant
    if chooser is None:
        raise OAuthStateError(f"provider: {provider} has no way to choose an organisation")
    wanted_param = published.callback_tenant_param
    if wanted_param and not realm_id:
        raise OAuthStateError(f"{wanted_param}: missing from the {published.title} callback")
    if not code:
        raise OAuthStateError("code: missing from the callback")
    oauth = oauth or oauth_provider(provider)
    grant = await oauth.exchange_code(code, transport=transport)
    current = await asyncio.to_thread(
        _current_tenant, engine, pending.partner_id, pending.connection_name
    )
    callback = {"realmId": realm_id} if realm_id else {}
    remote, remote_name = await chooser(
        TenantChoice(oauth, grant.access_token, pending.tenant_name, current, callback, transport)
    )
    if current and current != remote:
        # The sync's external references of this connection point into the old company:
        # attaching another one under the same name would make them lie.
        raise ConnectionSetupError(
            f"tenant: connection {pending.connection_name!r} belongs to organisation {current}, "
            f"not {remote_name or remote}; reconnect that one, or connect the new one under "
            "another --name"
        )
    return await asyncio.to_thread(
        _save_consent, engine, pending, grant, remote, remote_name, cipher, now
    )


def _consume(engine: Engine, state: str) -> OAuthState | None:
    with write_scope(engine) as session:
        return consume_state(session, state)


def _current_tenant(engine: Engine, partner_id: str, name: str) -> str | None:
    with read_scope(engine) as session:
        connection = connection_by_name(session, partner_id, name)
        return connection.remote_tenant if connection is not None else None


def _save_consent(
    engine: Engine,
    pending: OAuthState,
    grant: TokenGrant,
    remote: str,
    remote_name: str | None,
    cipher: TokenCipher | None,
    now: datetime,
) -> Connection:
    with write_scope(engine) as session:
        connection = connection_by_name(session, pending.partner_id, pending.connection_name)
        if connection is None:  # removed meanwhile: recreate
            connection = Connection(
                partner_id=pending.partner_id,
                name=pending.connection_name,
                provider=pending.provider,
            )
        _store_grant(connection, grant, cipher or cipher_from_settings(), now)
        connection.remote_tenant = remote
        connection.remote_tenant_name = remote_name
        session.add(connection)
    return connection


def _store_grant(
    connection: Connection, grant: TokenGrant, cipher: TokenCipher, now: datetime
) -> None:
    connection.access_token_enc = cipher.encrypt(grant.access_token)
    connection.refresh_token_enc = cipher.encrypt(grant.refresh_token)
    connection.access_expires_at = grant.access_expires_at
    connection.refresh_expires_at = grant.refresh_expires_at
    connection.token_version += 1
    connection.status = ConnectionStatus.ACTIVE
    connection.last_error = None
    connection.updated_at = now


def disconnect(session: Session, partner_id: str, name: str) -> Connection:
    """Forget the tokens (the caller commits). The partner may also revoke the app in the
    provider's settings; connecting again later reuses the same connection id."""
    connection = connection_by_name(session, partner_id, name)
    if connection is None:
        raise ConnectionSetupError(f"connection: partner {partner_id} has no connection {name!r}")
    connection.status = ConnectionStatus.DISCONNECTED
    connection.access_token_enc = None
    connection.refresh_token_enc = None
    connection.access_expires_at = None
    connection.refresh_expires_at = None
    connection.token_version += 1
    connection.updated_at = utcnow()
    session.add(connection)
    return connection


async def disconnect_and_revoke(
    engine: Engine,
    partner_id: str,
    name: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    cipher: TokenCipher | None = None,
) -> tuple[Connection, str | None]:
    """Forget the tokens (under the row lock, so no refresh can rotate them meanwhile), then
    revoke the grant at the provider. The local disconnect stands even when the revocation
    fails; the second value then says why (the partner can remove the app in the provider's
    settings)."""
    with write_scope(engine) as session:
        found = connection_by_name(session, partner_id, name)
        if found is None:
            raise ConnectionSetupError(
                f"connection: partner {partner_id} has no connection {name!r}"
            )
        row = lock_connection(session, found.id) or found
        stored_refresh = row.refresh_token_enc
        connection = disconnect(session, partner_id, name)
    if not stored_refresh or connection.provider.value not in OAUTH_PROVIDERS:
        return connection, None
    try:
        refresh = (cipher or cipher_from_settings()).decrypt(stored_refresh)
        await oauth_provider(connection.provider.value).revoke(refresh, transport=transport)
    except (ConnectorError, TokenDecryptionError) as exc:
        return connection, getattr(exc, "message", str(exc))
    except Exception as exc:  # best effort: the local disconnect already stands
        log.warning("revoking %s/%s failed: %s", partner_id, name, type(exc).__name__)
        return connection, f"revocation failed ({type(exc).__name__})"
    return connection, None


def mapping_settings(session: Session, connection: Connection) -> dict[str, object]:
    """The connection's mapping settings from the partner file (empty when it has none)."""
    return dict(connection_settings(session, connection.partner_id, connection.name) or {})
