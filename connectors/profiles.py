"""What the shared code needs to know of a remote system, published by the remote itself.

Each remote's package holds a ``profile.py`` whose ``PROFILE`` is a `ProviderProfile`: its
OAuth endpoints and scope, how the organisation is chosen after consent, which setting
overrides its base URL, its documented limits (one place: the connector, its idempotency keys
and its paging read them from here), its connector, its mapping module and its fake. The
connections service and the registry ask `profile(name)` and never name a provider, so a new
remote is one connector package (with its profile), one mapping module and one fake: found by
`profiles()` without an edit anywhere else. A profile can also be registered by hand
(`register`), which is how tests add a toy remote.

Modules are named as ``"package.module:attribute"`` strings and imported only when used, so
listing the profiles does not load every mapping or fake.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from connectors.connections.providers import OAuthProvider

__all__ = [
    "Limits",
    "OAuthSettings",
    "ProviderNames",
    "ProviderProfile",
    "TenantChoice",
    "UnknownProviderError",
    "load",
    "profile",
    "profile_names",
    "profiles",
    "register",
    "unregister",
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
    name: str  # as stored on connections ("xero")
    title: str  # as people read it ("Xero")
    connector: str  # "package.module:build_connector"
    fake: str  # "package.module:FakeClass"
    limits: Limits
    default_base_url: str
    mapping: str | None = None  # "mappings.xero" (None: not an accounting remote)
    oauth: OAuthSettings | None = None
    choose_tenant: TenantChooser | None = None
    base_url_setting: str | None = None  # settings attribute; default "<name>_api_url"
    callback_tenant_param: str | None = None  # the callback's query value naming the tenant

    @property
    def base_url_field(self) -> str:
        return self.base_url_setting or f"{self.name}_api_url"

    def build_connector(self) -> Callable[..., Any]:
        return cast(Callable[..., Any], load(self.connector))

    def mapping_module(self) -> Any:
        if not self.mapping:
            raise UnknownProviderError(f"provider: {self.name} has no mapping module")
        return importlib.import_module(self.mapping)

    def fake_class(self) -> type[Any]:
        return cast(type[Any], load(self.fake))


def load(target: str) -> object:
    """``"package.module:attribute"`` imported."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_lock = threading.Lock()
_registered: dict[str, ProviderProfile] = {}
_discovered = False


def _discover() -> None:
    """Import ``connectors.<package>.profile`` of every connector package that has one."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module("connectors")
    found: list[ProviderProfile] = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        name = f"connectors.{info.name}.profile"
        if importlib.util.find_spec(name) is None:
            continue
        published = getattr(importlib.import_module(name), "PROFILE", None)
        if isinstance(published, ProviderProfile):
            found.append(published)
    with _lock:
        for item in found:
            _registered.setdefault(item.name, item)
        _discovered = True


def register(item: ProviderProfile, *, replace: bool = False) -> ProviderProfile:
    """Add a profile (a plug-in remote, or a test's toy one)."""
    if not _NAME.match(item.name):
        raise ValueError(
            f"name: {item.name!r} must be 1-16 lower-case letters, digits or '_' "
            "(it is stored on every connection)"
        )
    _discover()
    with _lock:
        if item.name in _registered and not replace:
            raise ValueError(f"provider: a profile named {item.name!r} is already registered")
        _registered[item.name] = item
    return item


def unregister(name: str) -> None:
    with _lock:
        _registered.pop(name, None)


def profiles() -> Sequence[ProviderProfile]:
    _discover()
    with _lock:
        return sorted(_registered.values(), key=lambda p: p.name)


def profile_names(*, oauth: bool = False) -> tuple[str, ...]:
    return tuple(p.name for p in profiles() if p.oauth is not None or not oauth)


def profile(name: str) -> ProviderProfile:
    _discover()
    with _lock:
        found = _registered.get(name)
    if found is None:
        known = ", ".join(profile_names())
        raise UnknownProviderError(f"provider: no remote named {name!r} (known: {known})")
    return found


class ProviderNames(Sequence[str]):
    """The registered names, read when asked (a sequence that stays current)."""

    def __init__(self, *, oauth: bool = False) -> None:
        self._oauth = oauth

    def _names(self) -> tuple[str, ...]:
        return profile_names(oauth=self._oauth)

    def __getitem__(self, index: Any) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __repr__(self) -> str:
        return repr(self._names())
