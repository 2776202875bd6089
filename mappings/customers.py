"""Our clients and usage types → the neutral customer and item specs.

The customer's `reference` is our client id: connectors store it where the remote has a field
for it and look it up there before creating, so a retried create never makes a second customer.
Items: one per usage type, plus the two generic items every invoice may need (base fees and
minimum-spend true-ups: `item_code(None)`; discounts and adjustments without a usage type:
`item_code(ADJUSTMENT_ITEM)`, so a partner may map both like any usage type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from mappings.base import ADJUSTMENT_ITEM, ConnectionMapping
from remote_specs import CustomerSpec, ItemSpec

__all__ = ["customer_spec", "item_specs"]


class ClientLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def billing_email(self) -> str | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def address(self) -> Mapping[str, object]: ...


class UsageTypeLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def unit(self) -> str: ...


def customer_spec(client: ClientLike) -> CustomerSpec:
    """The client as a remote customer; address values as text, empty ones left out."""
    address = {
        str(key): str(value)
        for key, value in (client.address or {}).items()
        if value is not None and str(value) != ""
    }
    return CustomerSpec(
        reference=client.id,
        display_name=client.name,
        email=client.billing_email or None,
        currency=client.currency,
        address=address,
    )


def item_specs(usage_types: Iterable[UsageTypeLike], mapping: ConnectionMapping) -> list[ItemSpec]:
    """One item per usage type (code from the mapping), then the base-fee and adjustment items.
    Codes are unique in the result: two usage types mapped to one remote item give one spec."""
    specs: dict[str, ItemSpec] = {}
    for usage_type in usage_types:
        code = mapping.item_code(usage_type.code)
        specs.setdefault(
            code,
            ItemSpec(
                code=code,
                name=usage_type.display_name,
                description=f"{usage_type.display_name}, per {usage_type.unit}",
                income_account=mapping.income_account(usage_type.code),
            ),
        )
    base = mapping.item_code(None)
    specs.setdefault(
        base,
        ItemSpec(
            code=base,
            name="Base fee",
            description="Plan fees and minimum-spend true-ups",
            income_account=mapping.income_account(None),
        ),
    )
    adjustment = mapping.item_code(ADJUSTMENT_ITEM)
    specs.setdefault(
        adjustment,
        ItemSpec(
            code=adjustment,
            name="Adjustment",
            description="Discounts and adjustments",
            income_account=mapping.income_account(None),
        ),
    )
    return list(specs.values())
