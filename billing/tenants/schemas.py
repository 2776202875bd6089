"""What the API and the command line accept and return for partners, clients, usage types
and API keys. Validation lives here so both entry points refuse the same input the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from billing.tenants.branding import Branding
from billing.tenants.models import Aggregation, ClientStatus, Scope
from config import validators
from config.problems import Problem
from config.text import CheckedInput

__all__ = [
    "MAX_PRECISION",
    "ONE_PAGE",
    "Address",
    "ApiKeyCreated",
    "ApiKeyRead",
    "ClientCreate",
    "ClientPage",
    "ClientRead",
    "ClientUpdate",
    "ErrorResponse",
    "PartnerCreate",
    "PartnerPage",
    "PartnerRead",
    "PartnerSettings",
    "PartnerUpdate",
    "Principal",
    "UsageTypeCreate",
    "UsageTypePage",
    "UsageTypeRead",
    "UsageTypeUpdate",
]

MAX_PRECISION = 6
"""Decimals a usage type may allow; matches what a stored quantity keeps."""


def _rate(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError("must be a finite, non-negative decimal")
    try:  # a value too large to hold MAX_PRECISION places in 28 digits cannot be quantized
        exact = value == value.quantize(Decimal(1).scaleb(-MAX_PRECISION))
    except InvalidOperation:
        raise ValueError("too large: at most 28 significant digits") from None
    if not exact:
        raise ValueError(f"at most {MAX_PRECISION} decimal places")
    return value


Rate = Annotated[Decimal, AfterValidator(_rate)]
# The same rules as the partner file (`config.validators`); an optional e-mail may be null.
Slug = validators.Slug
Code = validators.Code
Currency = validators.Currency
TimeZone = validators.TimeZone
Email = validators.Email | None
Name = validators.Name
Line = validators.Line


class _Input(CheckedInput):
    """Unknown keys refused; every string storable (`CheckedInput`)."""

    model_config = ConfigDict(extra="forbid")


class _Update(_Input):
    """A change: a field left out keeps its value; only the fields in `NULLABLE` may be set to
    null (cleared); null for any other is refused, not stored."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        for name in sorted(self.model_fields_set - self.NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name}: cannot be null; leave it out to keep its value")
        return self


class PartnerSettings(_Input):
    late_event_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description=(
            "Days after a period's invoice was issued during which usage of that period is "
            "still accepted (and billed on the next invoice as a prior-period adjustment); "
            "later usage is refused. Usage of a period never invoiced is always accepted."
        ),
    )
    net_terms_days: int = Field(default=30, ge=0, le=365, description="Invoice due after days.")
    grace_period_hours: int = Field(
        default=24,
        ge=0,
        le=2160,
        description=(
            "Hours after a period ends (midnight in the client's time zone) before its invoice "
            "is drafted: usage arriving meanwhile is on the invoice itself."
        ),
    )
    auto_approve: bool = Field(default=False, description="Issue invoices without review.")
    margin_alert_percent: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Clients whose margin % falls below this are flagged and e-mailed about; "
        "none: no threshold alerts.",
    )
    margin_drop_points: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Alert when a client's margin % is more than this many points below its "
        "previous period's (none: 10).",
    )
    margin_alert_hour: int = Field(
        default=8, ge=0, le=23, description="Hour (partner's time zone) margin alerts go out."
    )
    finance_emails: list[validators.Email] = Field(
        default_factory=list, description="Who receives reconciliation reports."
    )
    operator_emails: list[str] = Field(
        default_factory=list,
        description="Who receives margin alerts (none: the finance_emails).",
    )
    locale: validators.LocaleName = Field(
        default="en",
        description=(
            "How invoices, credit notes and their e-mails write money and dates (a Babel "
            "locale: 'en', 'de', 'fr_CA'); the words stay English."
        ),
    )
    attach_usage_csv: bool = Field(
        default=True,
        description=(
            "Attach the CSV of the usage events behind each line to invoice e-mails (off: "
            "smaller e-mails; the events stay in the dashboard and `invoices explain`)."
        ),
    )
    connections: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Per connection name (`[partner.connections.<name>]`): provider, enabled and the "
            "mapping settings the connector reads (account codes, tax codes, items). "
            "Credentials never go here; they are stored encrypted by `connections connect`."
        ),
    )


class Address(_Input):
    line1: Line | None = Field(default=None, max_length=200)
    line2: Line | None = Field(default=None, max_length=200)
    city: Line | None = Field(default=None, max_length=100)
    region: Line | None = Field(default=None, max_length=100)
    postal_code: Line | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1")


class PartnerCreate(_Input):
    id: Slug
    name: Name
    currency: Currency = "USD"
    timezone: TimeZone = "UTC"
    invoice_prefix: validators.InvoicePrefix | None = Field(
        default=None, description="Defaults to the id."
    )
    branding: Branding = Field(default_factory=Branding)
    settings: PartnerSettings = Field(default_factory=PartnerSettings)


class PartnerUpdate(_Update):
    name: Name | None = None
    timezone: TimeZone | None = None
    invoice_prefix: validators.InvoicePrefix | None = None
    branding: Branding | None = None
    settings: PartnerSettings | None = None


class PartnerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    currency: str
    timezone: str
    invoice_prefix: str
    branding: dict[str, Any]
    settings: PartnerSettings
    created_at: datetime


class ClientCreate(_Input):
    id: Slug
    name: Name
    external_ref: Line | None = Field(default=None, min_length=1, max_length=200)
    billing_email: Email = None
    address: Address = Field(default_factory=Address)
    currency: Currency | None = Field(default=None, description="Defaults to the partner's.")
    timezone: TimeZone | None = Field(default=None, description="Defaults to the partner's.")
    billing_anchor_day: int = Field(
        default=1, ge=1, le=31, description="Day of month a cycle starts (31 = month end)."
    )
    status: ClientStatus = ClientStatus.ACTIVE


class ClientUpdate(_Update):
    """Currency is fixed once a client exists: its events and invoices are priced in it."""

    NULLABLE = frozenset({"external_ref", "billing_email"})

    name: Name | None = None
    external_ref: Line | None = Field(default=None, min_length=1, max_length=200)
    billing_email: Email = None
    address: Address | None = None
    timezone: TimeZone | None = None
    billing_anchor_day: int | None = Field(default=None, ge=1, le=31)
    status: ClientStatus | None = None


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    partner_id: str
    name: str
    external_ref: str | None
    billing_email: str | None
    address: dict[str, Any]
    currency: str
    timezone: str
    billing_anchor_day: int
    status: ClientStatus
    created_at: datetime
    updated_at: datetime


class ClientPage(BaseModel):
    items: list[ClientRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class UsageTypeCreate(_Input):
    code: Code = Field(description="e.g. voice_minutes, sms, chat_conversations, workflow_runs")
    display_name: Name
    unit: Line = Field(min_length=1, max_length=40, examples=["minute", "message"])
    precision: int = Field(default=0, ge=0, le=MAX_PRECISION, description="Decimals allowed.")
    aggregation: Aggregation = Aggregation.SUM
    aggregation_property: Line | None = Field(default=None, min_length=1, max_length=100)
    wholesale_rate: Rate = Field(
        default=Decimal(0), description="Per unit, in the partner's currency."
    )

    @model_validator(mode="after")
    def _property_matches_aggregation(self) -> UsageTypeCreate:
        needs = self.aggregation is Aggregation.UNIQUE_COUNT
        if needs and not self.aggregation_property:
            raise ValueError("unique_count needs aggregation_property (the property to count)")
        if not needs and self.aggregation_property:
            raise ValueError("aggregation_property only applies to unique_count")
        return self


class UsageTypeUpdate(_Update):
    """The code is fixed: events and prices refer to it. `wholesale_rate` is the per-unit rate
    each event's drill-down cost is computed with (period cost is rated from price books)."""

    NULLABLE = frozenset({"aggregation_property"})

    display_name: Name | None = None
    unit: Line | None = Field(default=None, min_length=1, max_length=40)
    precision: int | None = Field(default=None, ge=0, le=MAX_PRECISION)
    aggregation: Aggregation | None = None
    aggregation_property: Line | None = Field(default=None, min_length=1, max_length=100)
    wholesale_rate: Rate | None = None


class UsageTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    partner_id: str
    display_name: str
    unit: str
    precision: int
    aggregation: Aggregation
    aggregation_property: str | None
    wholesale_rate: Decimal | None = Field(description="Per unit; null for non-admin keys.")


ONE_PAGE = "Always null: the list is small and bounded, so it always comes whole in one page."


class UsageTypePage(BaseModel):
    """A partner's usage types (tens at most), in one page."""

    items: list[UsageTypeRead]
    next_cursor: str | None = Field(default=None, description=ONE_PAGE)


class PartnerPage(BaseModel):
    """The partners a key may manage (a partner key: its own), in one page."""

    items: list[PartnerRead]
    next_cursor: str | None = Field(default=None, description=ONE_PAGE)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    prefix: str = Field(description="Identifies the key (for revoking); not a secret.")
    partner_id: str | None = Field(description="None for a platform key.")
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret. Shown once; only its hash is stored.")


ErrorResponse = Problem
"""What every error answer is (RFC 9457 problem details; `config.problems`)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a partner key acts for its partner only; a platform key for none."""

    key_prefix: str
    partner_id: str | None
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes

    @property
    def sees_costs(self) -> bool:
        """Wholesale cost and margin are for admin keys only (docs/api-input.md): a read key
        may sit in a client portal or a platform's dashboard."""
        return Scope.ADMIN in self.scopes
