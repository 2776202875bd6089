"""A partner file that uses every price model and aggregation, and ways to load it and events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.metering import ingest
from billing.pricing import ApplyReport, apply_partner_file
from config.partner_file import PartnerFile, parse_partner_toml

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
_ids = itertools.count()

PARTNER_FILE = """
[partner]
id = "{partner}"
name = "Test Partner"
currency = "USD"
timezone = "UTC"
margin_alert_percent = "30"

[usage_types.voice]
name = "Voice minutes"
unit = "minute"
precision = 2
wholesale = {{ model = "graduated", tiers = [ {{ up_to = 100, unit_price = "0.05" }}, {{ unit_price = "0.04" }} ] }}

[usage_types.sms]
name = "SMS"
wholesale = {{ model = "per_unit", unit_price = "0.0079" }}

[usage_types.chat]
name = "Chats"
aggregation = "count"
wholesale = {{ model = "per_unit", unit_price = "0.01" }}

[usage_types.seats]
name = "Seats"
aggregation = "max"
wholesale = {{ model = "per_unit", unit_price = "2" }}

[usage_types.agents]
name = "Active agents"
aggregation = "unique_count"
aggregation_property = "agent_id"
wholesale = {{ model = "per_unit", unit_price = "1.5" }}

[plans.pro]
name = "Pro"
base_fee = "49.00"
minimum_spend = "60.00"
[plans.pro.prices.voice]
model = "graduated"
tiers = [ {{ up_to = 100, unit_price = "0.15" }}, {{ up_to = 500, unit_price = "0.12" }}, {{ unit_price = "0.09" }} ]
[plans.pro.prices.sms]
model = "volume"
tiers = [ {{ up_to = 50, unit_price = "0.03" }}, {{ unit_price = "0.02" }} ]
[plans.pro.prices.chat]
model = "package"
included = 10
block_size = 5
block_price = "1.00"
[plans.pro.prices.seats]
model = "per_unit"
unit_price = "10"
[plans.pro.prices.agents]
model = "per_unit"
unit_price = "3.50"

[clients.alpha]
name = "Alpha"
email = "ap@alpha.example"
plan = "pro"
timezone = "America/Chicago"
tax = {{ name = "Sales tax", percent = "8.25" }}
discount_percent = "10"

[clients.beta]
name = "Beta"
email = "ap@beta.example"
plan = "pro"
billing_day = 15
[clients.beta.prices.sms]
model = "per_unit"
unit_price = "0.011"

[clients.gamma]
name = "Gamma"
email = "ap@gamma.example"
[clients.gamma.plan_override]
name = "Gamma special"
base_fee = "10"
[clients.gamma.plan_override.prices.voice]
model = "per_unit"
unit_price = "0.2"
block_size = 1
"""


def new_partner_id() -> str:
    return f"p{next(_ids)}"


def partner_file(partner: str, text: str = PARTNER_FILE) -> PartnerFile:
    return parse_partner_toml(text.format(partner=partner))


def apply_text(
    session: Session, partner: str, now: datetime = NOW, text: str = PARTNER_FILE, **kw: Any
) -> ApplyReport:
    report = apply_partner_file(session, partner_file(partner, text), now, **kw)
    session.commit()
    return report


def event(
    event_id: str,
    client: str,
    usage_type: str,
    quantity: str | Decimal,
    occurred_at: datetime,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "client": client,
        "usage_type": usage_type,
        "quantity": str(quantity),
        "occurred_at": occurred_at.isoformat(),
    }
    body.update(extra)
    return body


def send(
    session: Session, partner: str, events: list[dict[str, Any]], received_at: datetime = NOW
) -> None:
    result = ingest(session, partner, events, received_at=received_at)
    assert not result.rejections, result.rejections
    session.commit()
