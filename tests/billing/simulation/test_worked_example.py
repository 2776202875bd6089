"""A known change against Hudson's issued September (tests/billing/margins/world.py), by hand.

Before (the invoices, net of tax; see tests/billing/margins/test_worked_examples.py):
- la (Studio, 10% discount, 9.5% tax): 68.61 of revenue, cost 5.02 (voice) + 0.95 (sms) = 5.97,
  margin 62.64 = 91.30 %; invoice 68.61 + tax 6.52 = 75.13.
- chicago (Floor, sms per unit 0.05, 10.00 minimum): 5.00 + true-up 5.00 = 10.00, cost 0.79,
  margin 9.21 = 92.10 %.
- tokyo (Pack): 32.00, cost 6.80, margin 25.20 = 78.75 %; invoice 32.00 + 3.20 = 35.20.
- portfolio: 110.61 revenue, 13.56 cost, 97.05 margin = 87.74 %.

The proposal:
1. Floor's sms per unit 0.05 -> 0.12: chicago 100 x 0.12 = 12.00, above the minimum, so no
   true-up: 12.00 (+2.00).
2. Studio's voice graduated second tier 0.15 -> 0.10: la voice 20.00 + 25.5 x 0.10 = 2.55 ->
   22.55; subtotal 50.00 + 22.55 + 2.40 = 74.95; discount 7.495 -> 7.50; 67.45 (-1.16);
   invoice 67.45 + tax 6.40775 -> 6.41 = 73.86 (-1.27).
3. Wholesale voice 0.04 -> 0.12: la 125.5 x 0.12 = 15.06 + 0.95 = 16.01; tokyo 170 x 0.12 =
   20.40. Revenue unchanged by it.
After:
- la: 67.45 - 16.01 = 51.44 = 76.26 %;
- chicago: 12.00 - 0.79 = 11.21 = 93.42 %;
- tokyo: 32.00 - 20.40 = 11.60 = 36.25 %: under Hudson's 40 % threshold (crossed below);
- portfolio: 111.45 revenue, 37.20 cost, 74.25 margin = 66.62 %.
Movers: chicago's invoice rises 2.00, la's falls 1.27; tokyo's does not move.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.simulation import SimulationIn, simulate
from tests.billing.margins.world import ISSUED_AT, PARTNER, run_september

PROPOSAL = {
    "periods": ["2026-09"],
    "changes": [
        {
            "kind": "plan_price",
            "plan": "floor",
            "usage_type": "sms",
            "price": {"model": "per_unit", "unit_price": "0.12"},
        },
        {
            "kind": "plan_price",
            "plan": "studio",
            "usage_type": "voice",
            "price": {
                "model": "graduated",
                "tiers": [{"up_to": 100, "unit_price": "0.20"}, {"unit_price": "0.10"}],
            },
        },
        {
            "kind": "wholesale",
            "usage_type": "voice",
            "price": {"model": "per_unit", "unit_price": "0.12"},
        },
    ],
}


def test_known_change_gives_the_hand_computed_result(session: Session) -> None:
    run_september(session)
    body = SimulationIn.model_validate(PROPOSAL)
    now = ISSUED_AT + timedelta(seconds=1)
    result = simulate(session, PARTNER, body.periods, body.changes, now)

    clients = {c.key: c for c in result.clients}
    before = {k: (c.before.charge, c.before.cost, c.before.margin) for k, c in clients.items()}
    after = {k: (c.after.charge, c.after.cost, c.after.margin) for k, c in clients.items()}
    assert before == {
        "la": (6861, 597, 6264),
        "chicago": (1000, 79, 921),
        "tokyo": (3200, 680, 2520),
    }
    assert after == {
        "la": (6745, 1601, 5144),
        "chicago": (1200, 79, 1121),
        "tokyo": (3200, 2040, 1160),
    }
    percents = {k: (c.before.margin_percent, c.after.margin_percent) for k, c in clients.items()}
    assert percents == {
        "la": (Decimal("91.30"), Decimal("76.26")),
        "chicago": (Decimal("92.10"), Decimal("93.42")),
        "tokyo": (Decimal("78.75"), Decimal("36.25")),
    }
    assert clients["la"].revenue_change == -116
    assert clients["tokyo"].revenue_change == 0 and clients["tokyo"].cost_change == 1360

    [total] = result.portfolio
    assert (total.before.charge, total.before.cost, total.before.margin) == (11061, 1356, 9705)
    assert (total.after.charge, total.after.cost, total.after.margin) == (11145, 3720, 7425)
    assert (total.before.margin_percent, total.after.margin_percent) == (
        Decimal("87.74"),
        Decimal("66.62"),
    )
    assert total.margin_change == -2280

    types = {
        c.key: (c.before.charge, c.after.charge, c.before.cost, c.after.cost)
        for c in result.usage_types
    }
    assert types["voice"] == (2000 + 383 + 1200, 2000 + 255 + 1200, 502 + 680, 1506 + 2040)
    assert types["sms"] == (240 + 500, 240 + 1200, 95 + 79, 95 + 79)
    # la's discount -7.62 -> -7.50, chicago's true-up 5.00 -> gone
    assert types["(no usage type)"] == (5000 - 762 + 500 + 2000, 5000 - 750 + 2000, 0, 0)

    assert [(m.client_id, m.invoice_before, m.invoice_after) for m in result.rises] == [
        ("chicago", 1000, 1200)
    ]
    assert [(m.client_id, m.invoice_before, m.invoice_after) for m in result.falls] == [
        ("la", 7513, 7386)
    ]
    assert [c.key for c in result.crossed_below] == ["tokyo"]
    assert result.crossed_above == ()
    assert result.threshold == Decimal(40)
    assert result.client_periods == 3
