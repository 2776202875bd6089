"""What a per-remote mapping tells the common builders (`mappings.invoices`).

Each remote's mapping module (`mappings.quickbooks`, `mappings.xero`, ...) parses the
connection's settings from the partner file (`[partner.connections.<name>]`, stored by
`config apply` under the partner's settings ``connections``) into an object satisfying
`ConnectionMapping`. The common builders then produce the neutral specs of `remote_specs`
without knowing which remote they are for: a new remote is one mapping file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["ADJUSTMENT_ITEM", "BASE_FEE_ITEM", "ConnectionMapping", "MappingError"]

BASE_FEE_ITEM = "base-fee"  # item code for flat fees, minimum-spend true-ups
ADJUSTMENT_ITEM = "adjustment"  # discounts, prior-period adjustments without a usage type


class MappingError(ValueError):
    """The connection's mapping lacks or misstates something; `field` names the setting
    (``income_accounts.voice``) so the partner knows what to add to the file."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConnectionMapping(Protocol):
    provider: str
    draft: bool  # push invoices as drafts (Xero DRAFT) instead of authorised
    max_unit_price_decimals: int  # what the remote keeps of a unit price (Xero: 4 with unitdp)
    max_quantity_decimals: int

    def item_code(self, usage_type: str | None) -> str:
        """The remote item for a usage type; None → `BASE_FEE_ITEM`-style generic items."""
        ...

    def income_account(self, usage_type: str | None) -> str | None: ...

    def tax_code(self, *, taxed: bool) -> str | None: ...

    def tracking(self) -> Mapping[str, str]:
        """Class (QuickBooks) or tracking category option (Xero) applied to every line."""
        ...

    def required_remote_names(self) -> Mapping[str, str]:
        """Every remote object the mapping names, as setting path → remote id/code, for
        `connections check` to verify exists."""
        ...
