"""Rating: pure functions from period quantities and price models to charge lines, statements,
wholesale cost and margins. No database; rounding once per line with `config.money.to_minor`."""

from billing.rating.from_config import (
    ClientRatingInputs,
    client_rating_inputs,
    usage_names,
    wholesale_prices,
)
from billing.rating.lines import ChargeLine, LineKind, UsageCharge
from billing.rating.margins import UsageMargin, margin_percent, rate_costs, usage_margins
from billing.rating.period import BillingPeriod, add_months
from billing.rating.statement import (
    ClientTerms,
    PeriodStatement,
    PlanLike,
    PlanPricing,
    TaxRate,
    effective_prices,
    rate_period,
)
from billing.rating.usage import check_quantity, rate_usage, round_line

__all__ = [
    "BillingPeriod",
    "ChargeLine",
    "ClientRatingInputs",
    "ClientTerms",
    "LineKind",
    "PeriodStatement",
    "PlanLike",
    "PlanPricing",
    "TaxRate",
    "UsageCharge",
    "UsageMargin",
    "add_months",
    "check_quantity",
    "client_rating_inputs",
    "effective_prices",
    "margin_percent",
    "rate_costs",
    "rate_period",
    "rate_usage",
    "round_line",
    "usage_margins",
    "usage_names",
    "wholesale_prices",
]
