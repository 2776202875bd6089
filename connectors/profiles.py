"""The registry of remote systems: each one's `ProviderProfile`, published by its own package.

Each remote's package (``connectors/<name>/``) assembles its ``PROFILE`` next to its
``build_connector``: its OAuth endpoints and scope, how the organisation is chosen after
consent, which setting overrides its base URL, its documented limits (one place: the
connector, its idempotency keys and its paging read them from its ``profile.py``) and its
connector. The connections service and the registry ask `profile(name)` and never name a
provider. The shipped remotes are listed once, in `SHIPPED`, by plain imports; a profile can
also be registered by hand (`register`), which is how tests add a toy remote.

Which mapping translates for a remote is named by the mappings layer (`mappings.providers`)
and joined with the connector in sync (`sync.remotes`); its fake is named by the sandbox
(`sandbox.fakes`). Connectors import neither.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from connectors import freshbooks, quickbooks, stripe, xero
from connectors.provider_profile import (
    Limits,
    OAuthSettings,
    ProviderProfile,
    TenantChoice,
    TenantChooser,
    UnknownProviderError,
)

__all__ = [
    "SHIPPED",
    "Limits",
    "OAuthSettings",
    "ProviderNames",
    "ProviderProfile",
    "TenantChoice",
    "TenantChooser",
    "UnknownProviderError",
    "profile",
    "profile_names",
    "profiles",
    "register",
    "unregister",
]

#: The remotes that ship with Rebill; a new one is a package with its ``PROFILE`` and a line here.
SHIPPED: tuple[ProviderProfile, ...] = (
    freshbooks.PROFILE,
    quickbooks.PROFILE,
    stripe.PROFILE,
    xero.PROFILE,
)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_lock = threading.Lock()
_registered: dict[str, ProviderProfile] = {item.name: item for item in SHIPPED}


def register(item: ProviderProfile, *, replace: bool = False) -> ProviderProfile:
    """Add a profile (a plug-in remote, or a test's toy one)."""
    if not _NAME.match(item.name):
        raise ValueError(
            f"name: {item.name!r} must be 1-16 lower-case letters, digits or '_' "
            "(it is stored on every connection)"
        )
    with _lock:
        if item.name in _registered and not replace:
            raise ValueError(f"provider: a profile named {item.name!r} is already registered")
        _registered[item.name] = item
    return item


def unregister(name: str) -> None:
    with _lock:
        _registered.pop(name, None)


def profiles() -> Sequence[ProviderProfile]:
    with _lock:
        return sorted(_registered.values(), key=lambda p: p.name)


def profile_names(*, oauth: bool = False) -> tuple[str, ...]:
    return tuple(p.name for p in profiles() if p.oauth is not None or not oauth)


def profile(name: str) -> ProviderProfile:
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
