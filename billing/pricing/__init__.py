"""Pricing: versioned price books (plans, wholesale prices, client terms and overrides), the
partner file applied to the database, live figures, accrual into the ledger. Margins are
`billing.margins`."""

from billing.pricing.accrual import AccrualResult, accrue
from billing.pricing.apply import ApplyReport, ObjectReport, apply_partner_file
from billing.pricing.book import (
    BEGINNING,
    NO_PLAN,
    ClientPricing,
    PriceBook,
    client_period,
    custom_plan_code,
    period_window,
)
from billing.pricing.changes import put_client_pricing, put_plan
from billing.pricing.errors import InvalidPricingError
from billing.pricing.live import ClientFigures, live_figures, rate_clients
from billing.pricing.models import (
    AccrualState,
    ChangeSource,
    ClientDates,
    ClientTermsVersion,
    PlanVersion,
    PriceChange,
    PriceScope,
    PriceVersion,
    PricingPlan,
)
from billing.pricing.schemas import ClientPricingIn
from billing.pricing.service import load_book, plan_histories, plan_history, pricing_for
from billing.pricing.versions import FieldChange

__all__ = [
    "BEGINNING",
    "NO_PLAN",
    "AccrualResult",
    "AccrualState",
    "ApplyReport",
    "ChangeSource",
    "ClientDates",
    "ClientFigures",
    "ClientPricing",
    "ClientPricingIn",
    "ClientTermsVersion",
    "FieldChange",
    "InvalidPricingError",
    "ObjectReport",
    "PlanVersion",
    "PriceBook",
    "PriceChange",
    "PriceScope",
    "PriceVersion",
    "PricingPlan",
    "accrue",
    "apply_partner_file",
    "client_period",
    "custom_plan_code",
    "live_figures",
    "load_book",
    "period_window",
    "plan_histories",
    "plan_history",
    "pricing_for",
    "put_client_pricing",
    "put_plan",
    "rate_clients",
]
