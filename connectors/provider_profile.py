"""The parts of a `ProviderProfile`: what the shared code (OAuth, the registry, the HTTP kit)
needs to know of a remote system, published by the remote's own package.

Kept apart from the registry of profiles (`connectors.profiles`) because each remote's package
builds its profile from these types, and the registry imports every shipped remote's package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from connectors.connections.providers import OAuthProvider

__all__ = [
    "Limits",
    "OAuthSettings",
    "ProviderProfile",
    "TenantChoice",
    "TenantChooser",
    "UnknownProviderError",
]


class UnknownProviderError(LookupError):
    """No profile is published under that name."""


@dataclass(frozen=True, slots=True)
class Limits:
    """A remote's documented limits, each with the documentation it comes from in the
    profile's comments. None: the remote documents none (or it does not apply)."""

    per_minute: int | None = None  # requests per minute per organisation
    per_day: int | None = None
    per_second: int | None = None
    concurrent: int | None = None  # requests in flight per organisation
    page_size: int = 100  # rows per page: the most the remote answers
    batch_size: int | None = None  # elements in one batch request
    batch_per_minute: int | None = None
    idempotency_key_max: int | None = None  # characters of a single write's key
    batch_idempotency_key_max: int | None = None  # characters of a batch request's key
    batch_id_max: int | None = None  # characters of one element's id inside a batch
    api_version: str | None = None  # a version the remote needs on every call (minorversion)
    requires_sync_token: bool = False  # updates must carry the object's current version


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    """The remote's OAuth2 authorisation-code flow; every URL can be overridden in settings
    (``REBILL_<NAME>_AUTH_URL`` and so on)."""

    authorize_url: str
    token_url: str
    scope: str
    api_url: str
    connections_url: str = ""  # where the organisations a consent reaches are listed (Xero)
    revoke_url: str = ""
    credentials_in_body: bool = False  # client id/secret in a JSON body, not HTTP Basic
    revoke_as_json: bool = False  # the revocation takes ``{"token": ...}`` as JSON
    refresh_lifetime: timedelta | None = None  # when the token answer does not say


@dataclass(frozen=True, slots=True)
class TenantChoice:
    """What a tenant chooser is given after the code exchange."""

    oauth: OAuthProvider
    access_token: str
    wanted: str | None  # ``--tenant`` at connect time (or the partner file's tenant_name)
    current: str | None  # the organisation this connection already uses (a reconnect)
    callback: Mapping[str, str]  # extra query values of the callback (QuickBooks realmId)
    transport: httpx.AsyncBaseTransport | None


#: ``(remote tenant id, its name or None)`` for a completed consent.
TenantChooser = Callable[[TenantChoice], Awaitable[tuple[str, str | None]]]


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What the shared code knows of one remote. `connector` builds the remote's connector
    (``build_connector(info, tokens, *, transport=None)`` for accounting remotes; Stripe's is
    its gateway class): the remote's package assembles its profile next to that function."""

    name: str  # as stored on connections ("xero")
    title: str  # as people read it ("Xero")
    connector: Callable[..., Any]
    limits: Limits
    default_base_url: str
    oauth: OAuthSettings | None = None
    choose_tenant: TenantChooser | None = None
    base_url_setting: str | None = None  # settings attribute; default "<name>_api_url"
    callback_tenant_param: str | None = None  # the callback's query value naming the tenant

    @property
    def base_url_field(self) -> str:
        return self.base_url_setting or f"{self.name}_api_url"
