"""A partner with every price model, usage in last month, and helpers to run a cycle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.metering.service import ingest
from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from billing.tenants.models import Partner
from config.partner_file import parse_partner_toml

PARTNER = "acme"

TOML = """
[partner]
id = "acme"
name = "Acme AI Agency"
currency = "USD"
timezone = "UTC"
invoice_prefix = "ACME-"
net_terms_days = 15

[usage_types.voice_minutes]
name = "Voice minutes"
unit = "minute"
precision = 2
wholesale = { model = "per_unit", unit_price = "0.045" }

[usage_types.sms]
name = "SMS"
unit = "message"
wholesale = { model = "per_unit", unit_price = "0.0079" }

[usage_types.calls]
name = "Calls"
unit = "call"
aggregation = "count"
wholesale = { model = "per_unit", unit_price = "0.01" }

[plans.growth]
name = "Growth"
base_fee = "99.00"
minimum_spend = "150.00"
[plans.growth.prices.voice_minutes]
model = "graduated"
tiers = [ { up_to = 1000, unit_price = "0.15" }, { up_to = 5000, unit_price = "0.12" }, { unit_price = "0.09" } ]
[plans.growth.prices.sms]
model = "package"
included = 1000
overage_unit_price = "0.02"

[plans.starter]
name = "Starter"
[plans.starter.prices.voice_minutes]
model = "per_unit"
unit_price = "0.18"
block_size = 1
[plans.starter.prices.sms]
model = "volume"
tiers = [ { up_to = 500, unit_price = "0.03" }, { unit_price = "0.02" } ]
[plans.starter.prices.calls]
model = "per_unit"
unit_price = "0.05"

[plans.blocks]
name = "Blocks"
[plans.blocks.prices.sms]
model = "package"
included = 100
block_size = 1000
block_price = "10.00"

[clients.dental]
name = "Dental Co"
email = "ap@dental.example"
plan = "growth"
tax = { name = "Sales tax", percent = "8.25" }
discount_percent = "10"
auto_charge = true

[clients.bakery]
name = "Bakery"
email = "owner@bakery.example"
plan = "starter"

[clients.gym]
name = "Gym"
email = "gym@example.com"
plan = "blocks"
"""


def setup_partner(session: Session, toml: str = TOML, **settings: Any) -> Partner:
    report = apply_partner_file(session, parse_partner_toml(toml), datetime.now(UTC))
    partner = session.get(Partner, report.partner_id)
    assert partner is not None
    partner.settings = {**partner.settings, **settings}
    session.add(partner)
    session.commit()
    return partner


def last_month() -> date:
    """The first day of the previous calendar month (UTC)."""
    first = datetime.now(UTC).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def month_text(day: date) -> str:
    return f"{day:%Y-%m}"


def at(day: date, days: int = 0, hours: int = 12) -> str:
    return (
        datetime.combine(day + timedelta(days=days), datetime.min.time(), UTC)
        .replace(hour=hours)
        .isoformat()
    )


def send(
    session: Session, events: Iterable[tuple[str, str, str, str, str]], partner: str = PARTNER
) -> None:
    """(event_id, client, usage_type, quantity, occurred_at)."""
    body = [
        {"event_id": e, "client": c, "usage_type": u, "quantity": q, "occurred_at": t}
        for e, c, u, q, t in events
    ]
    result = ingest(session, partner, body)
    assert not result.rejections, result.rejections
    session.commit()


def run_accrual(session: Session, partner: str = PARTNER) -> None:
    """Accrue as a run an hour into this month would: last month is still in its grace
    period (accrual covers it until invoicing takes over)."""
    first = datetime.now(UTC).replace(day=1, hour=1, minute=0, second=0, microsecond=0)
    accrue(session, partner, first)
    session.commit()


def d(value: str) -> Decimal:
    return Decimal(value)


SIMPLE = """
[partner]
id = "acme"
name = "Acme AI Agency"
currency = "USD"
timezone = "UTC"
invoice_prefix = "ACME-"
net_terms_days = 15

[partner.branding]
sender_name = "Acme Billing"
sender_email = "billing@acme.example"

[usage_types.voice]
name = "Voice minutes"
unit = "minute"
precision = 2
wholesale = { model = "per_unit", unit_price = "0.04" }

[plans.std]
name = "Standard"
base_fee = "20.00"
[plans.std.prices.voice]
model = "per_unit"
unit_price = "0.10"

[clients.c1]
name = "Client One"
email = "one@example.com"
plan = "std"
tax = { name = "VAT", percent = "10" }

[clients.c2]
name = "Client Two"
email = "two@example.com"
plan = "std"
"""


def balance(session: Session, code: str, partner: str = PARTNER, currency: str = "USD") -> int:
    """Debit-positive balance of an account (0 when it was never opened)."""
    from ledger import LedgerError, account_balance

    try:
        return account_balance(session, partner, code, currency)
    except LedgerError:
        return 0


def close_and_issue(
    session: Session, month: date, partner: str = PARTNER, **kwargs: Any
) -> list[Any]:
    from billing.invoicing.closing import close_cycles
    from billing.invoicing.issuing import issue_invoices
    from billing.invoicing.models import InvoiceStatus
    from billing.invoicing.repository import InvoiceRepository
    from billing.invoicing.service import approve_invoices

    close_cycles(session, partner, period=month_text(month), **kwargs)
    approve_invoices(session, partner, by="test")
    ids = InvoiceRepository(session).ids_with_status(partner, InvoiceStatus.APPROVED)
    result = issue_invoices(session, partner, ids, documents=False)
    session.commit()
    return result.invoices
