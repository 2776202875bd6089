"""The sections of a partner file: one pydantic model per table, unknown keys rejected.

Rules that need more than one section (references between tables, money exact in a currency
declared elsewhere) live in `checks.py`, so they can run even when an unrelated section is broken.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from config.bounds import Day
from config.partner_file.fields import Color, Currency, Email, Name, Slug, TimeZone
from config.prices import (
    GraduatedPrice,
    MoneyAmount,
    PackagePrice,
    Percent,
    PerUnitPrice,
    PriceModel,
    VolumePrice,
    parse_price,
    rules_error,
    value_error,
)
from config.text import CheckedInput, Line, StoredText
from config.validators import DocumentText, HttpsUrl, InvoicePrefix, LocaleName, TaxId

__all__ = [
    "CLIENT_STATUSES",
    "PROVIDERS",
    "AddressSpec",
    "BrandingSpec",
    "ClientSpec",
    "ConnectionSpec",
    "GraduatedEntry",
    "PackageEntry",
    "PartnerSpec",
    "PerUnitEntry",
    "PlanOverrideSpec",
    "PlanSpec",
    "PriceEntry",
    "TaxSpec",
    "UsageTypeSpec",
    "VolumeEntry",
    "entry_price",
]

PROVIDERS = ("quickbooks", "xero", "freshbooks", "stripe")
CLIENT_STATUSES = ("active", "suspended", "archived")
_SECRET_WORDS = ("secret", "token", "password", "api_key", "apikey", "private_key")

Text = Name  # one line of storable text, 1-200 characters (`config.validators.check_name`)


def _billing_day(value: int) -> int:
    if not 1 <= value <= 28:
        raise value_error(
            f"must be between 1 and 28 (got {value}): every month has these days, so a client's "
            "billing date never moves"
        )
    return value


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise value_error(f"{value!r} is not a two-letter ISO 3166 country code (e.g. 'US')")
    return value


class _Section(CheckedInput):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- prices as written in the file: a price model plus its version date -------------------------


class PerUnitEntry(PerUnitPrice):
    effective_from: Day | None = None


class GraduatedEntry(GraduatedPrice):
    effective_from: Day | None = None


class VolumeEntry(VolumePrice):
    effective_from: Day | None = None


class PackageEntry(PackagePrice):
    effective_from: Day | None = None


PriceEntry: TypeAlias = Annotated[
    PerUnitEntry | GraduatedEntry | VolumeEntry | PackageEntry, Field(discriminator="model")
]
"""A price in the file: any price model, plus an optional `effective_from` date."""


def entry_price(entry: PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice) -> PriceModel:
    """The bare price model (what price books store and rating uses), without the version date."""
    return parse_price(entry.model_dump(exclude={"effective_from"}))


# --- [partner] ----------------------------------------------------------------------------------


class BrandingSpec(_Section):
    logo: Line | None = None
    primary_color: Color | None = None
    sender_name: Text | None = None
    sender_email: Email | None = None
    address: StoredText | None = None
    tax_id: TaxId | None = None
    payment_instructions: DocumentText | None = None
    pay_link: HttpsUrl | None = None
    footer: DocumentText | None = None


class ConnectionSpec(CheckedInput):
    """A connected system; besides `provider` and `enabled`, keys are free-form settings for that
    connector (realm, account codes, item mapping). Credentials never go in the file."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: Literal["quickbooks", "xero", "freshbooks", "stripe"]
    enabled: StrictBool = True

    @model_validator(mode="after")
    def _no_secrets(self) -> ConnectionSpec:
        leaked = [
            key
            for key in (self.model_extra or {})
            if any(word in key.lower().replace("-", "_") for word in _SECRET_WORDS)
        ]
        if leaked:
            raise rules_error(
                [
                    (
                        (key,),
                        "credentials do not belong in the partner file; connect the account "
                        "with the connections command (tokens are stored encrypted)",
                    )
                    for key in leaked
                ]
            )
        return self

    @property
    def settings(self) -> dict[str, Any]:
        """The free-form keys."""
        return dict(self.model_extra or {})


class PartnerSpec(_Section):
    id: Slug
    name: Text
    currency: Currency
    timezone: TimeZone
    invoice_prefix: InvoicePrefix = "INV-"
    net_terms_days: Annotated[StrictInt, Field(ge=0, le=365)] = 30
    grace_period_hours: Annotated[StrictInt, Field(ge=0, le=2160)] = 24
    auto_approve: StrictBool = False
    margin_alert_percent: Percent | None = None
    margin_drop_points: Percent | None = None
    margin_alert_hour: Annotated[StrictInt, Field(ge=0, le=23)] = 8
    late_event_days: Annotated[StrictInt, Field(ge=0, le=3650)] = 90
    finance_emails: tuple[Email, ...] = ()
    operator_emails: tuple[Email, ...] = ()
    locale: LocaleName = "en"
    attach_usage_csv: StrictBool = True
    branding: BrandingSpec = BrandingSpec()
    connections: dict[str, ConnectionSpec] = Field(default_factory=dict)

    @field_validator("connections", mode="before")
    @classmethod
    def _provider_from_name(cls, value: Any) -> Any:
        """`[partner.connections.xero]` needs no `provider = "xero"`."""
        if not isinstance(value, dict):
            return value
        return {
            name: (
                {"provider": name, **table}
                if isinstance(table, dict) and "provider" not in table and name in PROVIDERS
                else table
            )
            for name, table in value.items()
        }


# --- [usage_types.*] ----------------------------------------------------------------------------


class UsageTypeSpec(_Section):
    name: Text
    unit: Text = "unit"
    precision: Annotated[StrictInt, Field(ge=0, le=6)] = 0
    aggregation: Literal["sum", "count", "max", "unique_count"] = "sum"
    aggregation_property: Text | None = None
    wholesale: PriceEntry


# --- [plans.*] ----------------------------------------------------------------------------------


class PlanSpec(_Section):
    name: Text
    currency: Currency | None = None
    base_fee: MoneyAmount = Decimal(0)
    minimum_spend: MoneyAmount | None = None
    effective_from: Day | None = None
    prices: dict[str, PriceEntry] = Field(default_factory=dict)


class PlanOverrideSpec(PlanSpec):
    """A client's own plan, replacing its `plan` entirely."""

    name: Text = "Custom plan"


# --- [clients.*] --------------------------------------------------------------------------------


class TaxSpec(_Section):
    name: Text = "Tax"
    percent: Percent


class AddressSpec(_Section):
    line1: Line | None = None
    line2: Line | None = None
    city: Line | None = None
    region: Line | None = None
    postal_code: Line | None = None
    country: Annotated[StrictStr, AfterValidator(_country)] | None = None


class ClientSpec(_Section):
    name: Text
    email: Email
    plan: Line | None = None
    plan_override: PlanOverrideSpec | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    billing_day: Annotated[StrictInt, AfterValidator(_billing_day)] = 1
    tax: TaxSpec | None = None
    discount_percent: Percent = Decimal(0)
    auto_charge: StrictBool = False
    external_ref: Text | None = None
    address: AddressSpec | None = None
    status: Literal["active", "suspended", "archived"] = "active"
    starts_on: Day | None = None
    ends_on: Day | None = None
    prices: dict[str, PriceEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _service_dates(self) -> ClientSpec:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise rules_error([(("ends_on",), f"must not be before starts_on ({self.starts_on})")])
        return self

    @field_validator("address", mode="before")
    @classmethod
    def _address_text(cls, value: Any) -> Any:
        """`address = "1 Main St, Springfield"` is shorthand for `{ line1 = "..." }`."""
        return {"line1": value} if isinstance(value, str) else value
