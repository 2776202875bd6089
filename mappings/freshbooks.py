"""The FreshBooks side of a connection's mapping: which item each invoice line names, what the
tax line is called, and whether invoices are marked as sent.

Read from the partner file's ``[partner.connections.freshbooks]`` table (stored by
`config apply`)::

    [partner.connections.freshbooks]
    item_names = { voice = "Voice minutes", sms = "SMS" }   # FreshBooks item per usage type
    tax_name = "Sales tax 8%"                               # name of the tax line
    status = "sent"                                         # or "draft" to review first

FreshBooks items carry no income account and its line taxes are percentages it rounds
itself, so there are no accounts or tax codes to map: our tax goes as one line named
`tax_name` (see `connectors.freshbooks.payloads`). Items are found or created by name by the
connector, so nothing here must exist beforehand and `required_remote_names` is empty.

FreshBooks documents no precision for a line's quantity and rate; we take two decimals of
each (a rate in a three-decimal currency keeps three) and let the common builders send any
other line as quantity 1 at its amount, so the remote total is ours to the cent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.base import BASE_FEE_ITEM, MappingError

__all__ = [
    "DEFAULT_TAX_NAME",
    "ITEM_NAME_MAX",
    "STATUSES",
    "FreshBooksMapping",
    "derived_item_name",
    "mapping_from_settings",
]

ITEM_NAME_MAX = 100  # our own cap: FreshBooks shows item names in narrow invoice columns
TAX_NAME_MAX = 100
DEFAULT_TAX_NAME = "Tax"
STATUSES = ("sent", "draft")
_IGNORED = frozenset({"provider", "enabled"})
_KNOWN = frozenset({"item_names", "tax_name", "status"})


@dataclass(slots=True)
class FreshBooksMapping:
    """A validated FreshBooks mapping; satisfies `mappings.base.ConnectionMapping`."""

    item_names: Mapping[str, str] = field(default_factory=dict)
    tax_name: str = DEFAULT_TAX_NAME
    draft: bool = False
    provider: str = "freshbooks"
    max_unit_price_decimals: int = 2
    max_quantity_decimals: int = 2

    @property
    def status(self) -> str:
        return "draft" if self.draft else "sent"

    def item_code(self, usage_type: str | None) -> str:
        """The mapped item name, else one derived from the usage type."""
        key = BASE_FEE_ITEM if usage_type is None else usage_type
        return self.item_names.get(key) or derived_item_name(key)

    def income_account(self, usage_type: str | None) -> str | None:
        return None  # FreshBooks items and lines take no account

    def tax_code(self, *, taxed: bool) -> str | None:
        """The tax line's name when the invoice is taxed (the connector reads it from
        `InvoiceSpec.tax_code`); lines themselves carry no FreshBooks tax."""
        return self.tax_name if taxed else None

    def tracking(self) -> Mapping[str, str]:
        return {}

    def required_remote_names(self) -> Mapping[str, str]:
        return {}


def derived_item_name(usage_type: str) -> str:
    """The usage type itself when it fits, else a prefix plus a short hash (stable, and two
    long usage types never share an item)."""
    if len(usage_type) <= ITEM_NAME_MAX:
        return usage_type
    digest = hashlib.sha256(usage_type.encode()).hexdigest()[:8]
    return f"{usage_type[: ITEM_NAME_MAX - 9]}-{digest}"


def _text(value: object, path: str, max_length: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(path, f'must be text like "Voice minutes", got {value!r}')
    text = str(value)
    if not text or text != text.strip():
        raise MappingError(path, "must be non-empty, without leading or trailing spaces")
    if len(text) > max_length:
        raise MappingError(path, f"is longer than {max_length} characters")
    return text


def mapping_from_settings(settings: Mapping[str, object]) -> FreshBooksMapping:
    """Parse ``[partner.connections.freshbooks]``; raise `MappingError` naming the setting."""
    unknown = sorted(set(settings) - _KNOWN - _IGNORED)
    if unknown:
        raise MappingError(
            unknown[0], f"unknown FreshBooks setting; expected one of {', '.join(sorted(_KNOWN))}"
        )
    raw_items = settings.get("item_names") or {}
    if not isinstance(raw_items, Mapping):
        raise MappingError(
            "item_names", f'must be a table like {{ voice = "Voice" }}, got {raw_items!r}'
        )
    items: dict[str, str] = {}
    for name, value in raw_items.items():
        if not isinstance(name, str) or not name.strip():
            raise MappingError("item_names", f"keys must be non-empty usage types, got {name!r}")
        items[name] = _text(value, f"item_names.{name}", ITEM_NAME_MAX)
    tax_name = _text(settings.get("tax_name", DEFAULT_TAX_NAME), "tax_name", TAX_NAME_MAX)
    status = settings.get("status", "sent")
    if not isinstance(status, str) or status.lower() not in STATUSES:
        raise MappingError("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    return FreshBooksMapping(item_names=items, tax_name=tax_name, draft=status.lower() == "draft")
