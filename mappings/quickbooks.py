"""The QuickBooks Online side of a connection's mapping: which income account, tax code, class
and Product/Service item each invoice line carries.

Read from the partner file's ``[partner.connections.quickbooks]`` table (stored by
`config apply`)::

    [partner.connections.quickbooks]
    income_accounts = { voice = "79", sms = "80" }   # Account Id per usage type
    default_income_account = "79"                     # base fees, adjustments, unlisted types
    tax_code = "TAX"                                  # TaxCode Id of taxed lines (US: "TAX")
    non_tax_code = "NON"                              # TaxCode Id of untaxed lines (US: "NON")
    class_ref = "5000000000000012345"                 # Class Id on every line (optional)
    item_prefix = "Rebill "                           # Product/Service name = prefix + usage type
    deposit_account = "35"                            # Account Id payments are deposited to
                                                      # (a bank account; needed to push payments)

QuickBooks names accounts, tax codes and classes by Id (the number in the URL when the object
is opened in QuickBooks, or from `connections check`). Items are found or created by name by
the connector, so they are not listed in `required_remote_names`.

QuickBooks keeps 7 decimals of a line's Qty and UnitPrice and 2 of its Amount, and refuses a
line whose Amount is not Qty x UnitPrice; the common builders use `max_unit_price_decimals`
and `max_quantity_decimals` to decide when a line must go as quantity 1 at its amount.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mappings.base import BASE_FEE_ITEM, MappingError

__all__ = [
    "ITEM_NAME_MAX",
    "QUICKBOOKS_DECIMALS",
    "QuickBooksMapping",
    "item_name",
    "mapping_from_settings",
]

ITEM_NAME_MAX = 100  # QuickBooks: Item.Name at most 100 characters, no colon
ID_MAX = 50
PREFIX_MAX = 40
QUICKBOOKS_DECIMALS = 7  # Qty and UnitPrice keep 7 decimals; Amount keeps 2

_IGNORED = frozenset({"provider", "enabled"})
_KNOWN = frozenset(
    {
        "income_accounts",
        "default_income_account",
        "tax_code",
        "non_tax_code",
        "class_ref",
        "item_prefix",
        "deposit_account",
    }
)
# Characters QuickBooks refuses in names (a colon separates sub-items) or that break a line.
_BAD_NAME_CHARS = re.compile(r"[:\t\n\r]")


def item_name(prefix: str, key: str) -> str:
    """The Product/Service name for a usage type: prefix + key, colons and line breaks turned
    into '-', at most 100 characters (longer ones end in a short hash so two never collide)."""
    name = _BAD_NAME_CHARS.sub("-", f"{prefix}{key}").strip()
    if len(name) <= ITEM_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: ITEM_NAME_MAX - 9].rstrip()}-{digest}"


@dataclass(slots=True)
class QuickBooksMapping:
    """A validated QuickBooks mapping; satisfies `mappings.base.ConnectionMapping`."""

    default_income_account: str
    income_accounts: Mapping[str, str] = field(default_factory=dict)
    tax_code_taxed: str | None = None
    tax_code_untaxed: str | None = None
    class_ref: str | None = None
    item_prefix: str = ""
    deposit_account: str | None = None
    provider: str = "quickbooks"
    draft: bool = False  # QuickBooks invoices have no draft state
    max_unit_price_decimals: int = QUICKBOOKS_DECIMALS
    max_quantity_decimals: int = QUICKBOOKS_DECIMALS

    def item_code(self, usage_type: str | None) -> str:
        return item_name(self.item_prefix, BASE_FEE_ITEM if usage_type is None else usage_type)

    def income_account(self, usage_type: str | None) -> str:
        """A Service item needs an income account, so there is always one: the usage type's,
        else the default."""
        if usage_type is None:
            return self.default_income_account
        return self.income_accounts.get(usage_type, self.default_income_account)

    def tax_code(self, *, taxed: bool) -> str | None:
        """None: the line goes without TaxCodeRef (companies without sales tax)."""
        return self.tax_code_taxed if taxed else self.tax_code_untaxed

    def tracking(self) -> Mapping[str, str]:
        return {"class": self.class_ref} if self.class_ref else {}

    def payment_account(self) -> str:
        """The DepositToAccountRef of payments we push; without it payments are not pushed
        (QuickBooks would silently use Undeposited Funds, which the partner did not choose)."""
        if self.deposit_account is None:
            raise MappingError(
                "deposit_account",
                "required to push payments to QuickBooks: the Id of the bank account they "
                "are deposited to",
            )
        return self.deposit_account

    def required_remote_names(self) -> Mapping[str, str]:
        """Setting path → Id. The connector's `check_references` reads the path to know the
        entity: ``*account*`` → Account, ``*tax_code`` → TaxCode, ``class_ref`` → Class."""
        names: dict[str, str] = {
            f"income_accounts.{usage}": account
            for usage, account in sorted(self.income_accounts.items())
        }
        names["default_income_account"] = self.default_income_account
        if self.tax_code_taxed is not None:
            names["tax_code"] = self.tax_code_taxed
        if self.tax_code_untaxed is not None:
            names["non_tax_code"] = self.tax_code_untaxed
        if self.class_ref is not None:
            names["class_ref"] = self.class_ref
        return names


def mapping_from_settings(settings: Mapping[str, object]) -> QuickBooksMapping:
    """Parse ``[partner.connections.quickbooks]``; raise `MappingError` naming the setting."""
    unknown = sorted(set(settings) - _KNOWN - _IGNORED)
    if unknown:
        raise MappingError(
            unknown[0],
            f"unknown QuickBooks setting; expected one of {', '.join(sorted(_KNOWN))}",
        )
    accounts = _id_table(settings, "income_accounts")
    default = settings.get("default_income_account")
    if default is None:
        raise MappingError(
            "default_income_account",
            "required: QuickBooks needs an income account for base fees and adjustments "
            "(the Id of an Income account)",
        )
    prefix = settings.get("item_prefix", "")
    if not isinstance(prefix, str):
        raise MappingError("item_prefix", f"must be text, got {prefix!r}")
    if _BAD_NAME_CHARS.search(prefix):
        raise MappingError("item_prefix", "QuickBooks names cannot contain ':' or line breaks")
    if len(prefix) > PREFIX_MAX:
        raise MappingError("item_prefix", f"at most {PREFIX_MAX} characters")
    return QuickBooksMapping(
        default_income_account=_as_id(default, "default_income_account"),
        income_accounts=accounts,
        tax_code_taxed=_optional_id(settings, "tax_code"),
        tax_code_untaxed=_optional_id(settings, "non_tax_code"),
        class_ref=_optional_id(settings, "class_ref"),
        item_prefix=prefix,
        deposit_account=_optional_id(settings, "deposit_account"),
    )


def _as_id(value: object, path: str) -> str:
    """An Id as text. TOML integers (``voice = 79``) are their digits; booleans, floats and
    tables are refused (a float Id would lose digits)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(path, f'must be a QuickBooks Id like "79", got {value!r}')
    text = str(value)
    if not text or text != text.strip() or any(c in text for c in "'\\\n"):
        raise MappingError(path, f"{text!r} is not an Id: no spaces around, no quotes")
    if len(text) > ID_MAX:
        raise MappingError(path, f"{text[:20]!r}… is longer than {ID_MAX} characters")
    return text


def _optional_id(settings: Mapping[str, object], key: str) -> str | None:
    value = settings.get(key)
    return None if value is None else _as_id(value, key)


def _id_table(settings: Mapping[str, object], key: str) -> dict[str, str]:
    value = settings.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError(key, f'must be a table like {{ voice = "79" }}, got {value!r}')
    table: dict[str, str] = {}
    for name, account in value.items():
        if not isinstance(name, str) or not name.strip():
            raise MappingError(key, f"keys must be usage type names, got {name!r}")
        table[name] = _as_id(account, f"{key}.{name}")
    return table
