"""The Xero side of a connection's mapping: which account, tax type, item and tracking option
each invoice line carries.

Read from the partner file's ``[partner.connections.xero]`` table (stored by `config apply`)::

    [partner.connections.xero]
    account_codes = { voice = "200", sms = "200" }   # revenue account per usage type
    default_account_code = "200"                      # everything not listed above
    tax_type = "OUTPUT2"                              # TaxType of taxed lines
    no_tax_type = "NONE"                              # TaxType of untaxed lines
    item_codes = { voice = "VOICE" }                  # Xero Item Code per usage type
    tracking = { Region = "North" }                   # tracking category = option, every line
    status = "AUTHORISED"                             # or "DRAFT" to review in Xero first
    payment_account_code = "090"                      # bank account payments are paid into
                                                      # (needed to push payments)

Every value is checked here, once, so a typo surfaces as `MappingError(field, reason)` naming
the setting, not as a Xero validation error on the first invoice of the month. Codes that must
exist in the organisation are listed by `required_remote_names` for `connections check`.
Items are not listed there: the connector creates missing items (`ensure_items`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.base import BASE_FEE_ITEM, MappingError

__all__ = [
    "ACCOUNT_CODE_MAX",
    "ITEM_CODE_MAX",
    "STATUSES",
    "XeroMapping",
    "mapping_from_settings",
]

ITEM_CODE_MAX = 30  # Xero: Item Code is at most 30 characters
ACCOUNT_CODE_MAX = 10  # Xero: Account Code is at most 10 characters
TAX_TYPE_MAX = 50
TRACKING_NAME_MAX = 100
TRACKING_CATEGORIES_MAX = 2  # Xero allows two tracking categories per line
STATUSES = ("AUTHORISED", "DRAFT")
DEFAULT_NO_TAX_TYPE = "NONE"  # Xero's "no tax" TaxType in every region

# Keys the partner-file table may carry that are not mapping settings (`tenant_name` picks
# the organisation at connect time, see `connectors.connections.service`).
_IGNORED = frozenset({"provider", "enabled", "tenant_name"})
_KNOWN = frozenset(
    {
        "account_codes",
        "default_account_code",
        "tax_type",
        "no_tax_type",
        "item_codes",
        "tracking",
        "status",
        "payment_account_code",
    }
)


@dataclass(slots=True)
class XeroMapping:
    """A validated Xero mapping; satisfies `mappings.base.ConnectionMapping` (not frozen: the
    protocol's attributes are plain, settable ones; nothing mutates a mapping)."""

    account_codes: Mapping[str, str] = field(default_factory=dict)
    default_account_code: str | None = None
    tax_type: str | None = None
    no_tax_type: str | None = DEFAULT_NO_TAX_TYPE
    item_codes: Mapping[str, str] = field(default_factory=dict)
    tracking_options: Mapping[str, str] = field(default_factory=dict)
    draft: bool = False  # DRAFT instead of AUTHORISED: the partner reviews in Xero first
    provider: str = "xero"
    payment_account_code: str | None = None
    # Xero keeps 4 decimals of a unit price when asked with `unitdp=4`, and 4 of a quantity.
    max_unit_price_decimals: int = 4
    max_quantity_decimals: int = 4

    @property
    def status(self) -> str:
        return "DRAFT" if self.draft else "AUTHORISED"

    def item_code(self, usage_type: str | None) -> str:
        """The mapped code, else one derived from the usage type (≤ 30 characters, stable)."""
        key = BASE_FEE_ITEM if usage_type is None else usage_type
        mapped = self.item_codes.get(key)
        if mapped is not None:
            return mapped
        return derived_item_code(key)

    def income_account(self, usage_type: str | None) -> str | None:
        """The account code for a usage type's lines. Xero refuses an authorised invoice line
        without one, so a missing code is a mapping error here rather than 30 rejected
        invoices later."""
        key = BASE_FEE_ITEM if usage_type is None else usage_type
        code = self.account_codes.get(key, self.default_account_code)
        if code is None:
            raise MappingError(
                f"account_codes.{key}",
                f"no revenue account code for {key!r} and no default_account_code",
            )
        return code

    def tax_code(self, *, taxed: bool) -> str | None:
        """None for a taxed line without `tax_type`: Xero then applies the account's default
        tax rate (the connector still sends the exact tax amount)."""
        return self.tax_type if taxed else self.no_tax_type

    def tracking(self) -> Mapping[str, str]:
        return dict(self.tracking_options)

    def payment_account(self) -> str:
        """The Account.Code of payments we push (a bank account, or one with payments
        enabled); Xero refuses a payment without one, so we refuse first, naming the setting."""
        if self.payment_account_code is None:
            raise MappingError(
                "payment_account_code",
                "required to push payments to Xero: the code of the bank account they are "
                "paid into",
            )
        return self.payment_account_code

    def required_remote_names(self) -> Mapping[str, str]:
        """Setting path → code. The connector's `check_references` reads the path's first
        segment to know what to look for: ``account_codes``/``default_account_code`` →
        Accounts, ``tax_type``/``no_tax_type`` → TaxRates, ``tracking.<category>`` → an
        option of that tracking category."""
        names: dict[str, str] = {}
        for usage_type, code in sorted(self.account_codes.items()):
            names[f"account_codes.{usage_type}"] = code
        if self.default_account_code is not None:
            names["default_account_code"] = self.default_account_code
        if self.tax_type is not None:
            names["tax_type"] = self.tax_type
        if self.no_tax_type is not None:
            names["no_tax_type"] = self.no_tax_type
        for category, option in sorted(self.tracking_options.items()):
            names[f"tracking.{category}"] = option
        return names


def derived_item_code(usage_type: str) -> str:
    """A usage type's default Item Code: itself when it fits Xero's 30 characters, else a
    prefix plus a short hash, so two long usage types never share an item."""
    if len(usage_type) <= ITEM_CODE_MAX:
        return usage_type
    digest = hashlib.sha256(usage_type.encode()).hexdigest()[:8]
    return f"{usage_type[: ITEM_CODE_MAX - 9]}-{digest}"


def mapping_from_settings(settings: Mapping[str, object]) -> XeroMapping:
    """Parse ``[partner.connections.xero]`` settings; raise `MappingError` naming the setting."""
    unknown = sorted(set(settings) - _KNOWN - _IGNORED)
    if unknown:
        raise MappingError(
            unknown[0], f"unknown Xero setting; expected one of {', '.join(sorted(_KNOWN))}"
        )
    account_codes = _code_table(settings, "account_codes", ACCOUNT_CODE_MAX)
    default_account = _optional_code(settings, "default_account_code", ACCOUNT_CODE_MAX)
    if not account_codes and default_account is None:
        raise MappingError(
            "default_account_code",
            "required unless account_codes names an account for every usage type",
        )
    tax_type = _optional_code(settings, "tax_type", TAX_TYPE_MAX)
    no_tax_type = (
        _optional_code(settings, "no_tax_type", TAX_TYPE_MAX)
        if "no_tax_type" in settings
        else DEFAULT_NO_TAX_TYPE
    )
    item_codes = _code_table(settings, "item_codes", ITEM_CODE_MAX)
    tracking = _code_table(settings, "tracking", TRACKING_NAME_MAX)
    if len(tracking) > TRACKING_CATEGORIES_MAX:
        raise MappingError(
            "tracking", f"Xero allows at most {TRACKING_CATEGORIES_MAX} tracking categories"
        )
    for category in tracking:
        if len(category) > TRACKING_NAME_MAX:
            raise MappingError(f"tracking.{category[:20]}…", "category name is too long")
    status = settings.get("status", "AUTHORISED")
    if not isinstance(status, str) or status.upper() not in STATUSES:
        raise MappingError("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    return XeroMapping(
        account_codes=account_codes,
        default_account_code=default_account,
        tax_type=tax_type,
        no_tax_type=no_tax_type,
        item_codes=item_codes,
        tracking_options=tracking,
        draft=status.upper() == "DRAFT",
        payment_account_code=_optional_code(settings, "payment_account_code", ACCOUNT_CODE_MAX),
    )


def _as_code(value: object, path: str, max_length: int) -> str:
    """A code as text. TOML integers (``voice = 200``) are accepted as their digits; booleans,
    floats and tables are not (a float code would lose digits)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(path, f'must be a text code like "200", got {value!r}')
    text = str(value)
    if not text or text != text.strip():
        raise MappingError(path, "must be non-empty, without leading or trailing spaces")
    if len(text) > max_length:
        raise MappingError(path, f"{text!r} is longer than Xero's {max_length} characters")
    return text


def _optional_code(settings: Mapping[str, object], key: str, max_length: int) -> str | None:
    value = settings.get(key)
    return None if value is None else _as_code(value, key, max_length)


def _code_table(settings: Mapping[str, object], key: str, max_length: int) -> dict[str, str]:
    value = settings.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError(key, f'must be a table like {{ voice = "200" }}, got {value!r}')
    table: dict[str, str] = {}
    for name, code in value.items():
        if not isinstance(name, str) or not name.strip():
            raise MappingError(key, f"keys must be non-empty names, got {name!r}")
        table[name] = _as_code(code, f"{key}.{name}", max_length)
    return table
