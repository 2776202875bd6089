"""Which mapping reads a connection's settings, by provider name.

Each accounting remote has one mapping module (`mappings.quickbooks`, `mappings.xero`,
`mappings.freshbooks`) whose ``mapping_from_settings`` parses the connection's settings from the
partner file into a `ConnectionMapping`. They are listed here by plain imports, so the pairing
of a provider with its mapping lives in the mappings layer; `sync.remotes` joins it with the
connector the connectors' registry opens (connectors never import mappings). Stripe has no
mapping: it is no accounting remote. Tests register a toy remote's mapping with `register`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from mappings import freshbooks, quickbooks, xero
from mappings.base import ConnectionMapping

__all__ = [
    "MappingParser",
    "UnknownMappingError",
    "mapped_providers",
    "mapping_for",
    "register",
    "unregister",
]

#: ``mapping_from_settings`` of one remote: the connection's settings → its mapping.
MappingParser = Callable[[Mapping[str, object]], ConnectionMapping]

_lock = threading.Lock()
_parsers: dict[str, MappingParser] = {
    "freshbooks": freshbooks.mapping_from_settings,
    "quickbooks": quickbooks.mapping_from_settings,
    "xero": xero.mapping_from_settings,
}


class UnknownMappingError(LookupError):
    """No mapping is known for that provider (it is no accounting remote)."""


def mapped_providers() -> tuple[str, ...]:
    with _lock:
        return tuple(sorted(_parsers))


def mapping_for(provider: str, settings: Mapping[str, object]) -> ConnectionMapping:
    """The connection's mapping; `MappingError` (naming the setting) when its settings are
    wrong, `UnknownMappingError` when the provider has no mapping."""
    with _lock:
        parse = _parsers.get(provider)
    if parse is None:
        known = ", ".join(mapped_providers())
        raise UnknownMappingError(f"provider: no mapping for {provider!r} (known: {known})")
    return parse(settings)


def register(provider: str, parse: MappingParser, *, replace: bool = False) -> None:
    """Add a remote's mapping (a plug-in remote, or a test's toy one)."""
    with _lock:
        if provider in _parsers and not replace:
            raise ValueError(f"provider: a mapping for {provider!r} is already registered")
        _parsers[provider] = parse


def unregister(provider: str) -> None:
    with _lock:
        _parsers.pop(provider, None)
