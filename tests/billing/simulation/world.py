"""A small partner for the simulator's scoping tests: two plans, three clients on `std` (one
with its own voice price), one on `pro`, and November usage, read as the open period."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from billing.metering.service import ingest
from billing.pricing.apply import apply_partner_file
from config.partner_file import parse_partner_toml

PARTNER = "sim"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

TOML = """
[partner]
id = "sim"
name = "Sim Telecom"
currency = "USD"
timezone = "UTC"
margin_alert_percent = "30"

[usage_types.voice]
name = "Voice minutes"
unit = "minute"
wholesale = { model = "per_unit", unit_price = "0.05" }

[usage_types.sms]
name = "SMS"
unit = "message"
wholesale = { model = "per_unit", unit_price = "0.01" }

[plans.std]
name = "Standard"
base_fee = "10.00"
[plans.std.prices.voice]
model = "per_unit"
unit_price = "0.10"
[plans.std.prices.sms]
model = "per_unit"
unit_price = "0.02"

[plans.pro]
name = "Pro"
minimum_spend = "50.00"
[plans.pro.prices.voice]
model = "volume"
tiers = [ { up_to = 1000, unit_price = "0.09" }, { unit_price = "0.07" } ]

[clients.a]
name = "A"
email = "a@example.com"
plan = "std"

[clients.b]
name = "B"
email = "b@example.com"
plan = "std"
[clients.b.prices.voice]
model = "per_unit"
unit_price = "0.08"

[clients.c]
name = "C"
email = "c@example.com"
plan = "std"
discount_percent = "5"

[clients.d]
name = "D"
email = "d@example.com"
plan = "pro"
"""

USAGE = {"a": ("100", "50"), "b": ("200", "0"), "c": ("300", "10"), "d": ("400", "0")}


def setup(session: Session, partner: str = PARTNER) -> None:
    toml = TOML.replace(f'id = "{PARTNER}"', f'id = "{partner}"')
    apply_partner_file(session, parse_partner_toml(toml), datetime(2026, 10, 1, tzinfo=UTC))
    session.commit()
    rows = []
    for client, (voice, sms) in USAGE.items():
        for code, quantity in (("voice", voice), ("sms", sms)):
            if quantity != "0":
                rows.append(
                    {
                        "event_id": f"{partner}-{client}-{code}",
                        "client": client,
                        "usage_type": code,
                        "quantity": quantity,
                        "occurred_at": "2026-11-05T10:00:00Z",
                    }
                )
    result = ingest(session, partner, rows, received_at=NOW)
    assert not result.rejections
    session.commit()
