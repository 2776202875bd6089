"""Applying a proposal writes exactly what the same change made the ordinary way writes: the
same price and plan versions, effective from the day applied (each client's next period), and
the same change log; all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from billing.pricing.changes import put_client_pricing, put_plan
from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource, PlanVersion, PriceChange, PriceVersion
from billing.pricing.schemas import ClientPricingIn
from billing.pricing.versions import change_context, set_wholesale
from billing.simulation import SimulationIn, simulate
from billing.simulation.apply import apply_proposal
from config.partner_file import PlanSpec
from config.prices import parse_price
from tests.billing.simulation.helpers import row_counts
from tests.billing.simulation.world import NOW, setup

CHANGES: list[dict[str, Any]] = [
    {
        "kind": "plan_price",
        "plan": "std",
        "usage_type": "voice",
        "price": {"model": "per_unit", "unit_price": "0.12"},
    },
    {"kind": "plan_fees", "plan": "pro", "minimum_spend": "60.00"},
    {
        "kind": "client_price",
        "client": "a",
        "usage_type": "sms",
        "price": {"model": "per_unit", "unit_price": "0.015"},
    },
    {"kind": "client_discount", "client": "c", "discount_percent": "7.5"},
    {
        "kind": "wholesale",
        "usage_type": "voice",
        "price": {"model": "per_unit", "unit_price": "0.06"},
    },
]


def _ordinary(session: Session, partner: str) -> None:
    """The same changes through the API's own service calls."""
    put_plan(
        session,
        partner,
        "std",
        PlanSpec.model_validate(
            {
                "name": "Standard",
                "currency": "USD",
                "base_fee": "10.00",
                "prices": {
                    "voice": {"model": "per_unit", "unit_price": "0.12"},
                    "sms": {"model": "per_unit", "unit_price": "0.02"},
                },
            }
        ),
        NOW,
        source=ChangeSource.CLI,
    )
    put_plan(
        session,
        partner,
        "pro",
        PlanSpec.model_validate(
            {
                "name": "Pro",
                "currency": "USD",
                "minimum_spend": "60.00",
                "prices": {
                    "voice": {
                        "model": "volume",
                        "tiers": [{"up_to": 1000, "unit_price": "0.09"}, {"unit_price": "0.07"}],
                    }
                },
            }
        ),
        NOW,
        source=ChangeSource.CLI,
    )
    put_client_pricing(
        session,
        partner,
        "a",
        ClientPricingIn.model_validate(
            {"prices": {"sms": {"model": "per_unit", "unit_price": "0.015"}}}
        ),
        NOW,
        source=ChangeSource.CLI,
    )
    put_client_pricing(
        session,
        partner,
        "c",
        ClientPricingIn.model_validate({"discount_percent": "7.5"}),
        NOW,
        source=ChangeSource.CLI,
    )
    context = change_context(session, partner, NOW, ChangeSource.CLI)
    set_wholesale(
        session, context, "voice", parse_price({"model": "per_unit", "unit_price": "0.06"})
    )


def _written(session: Session, partner: str) -> dict[str, list[tuple[Any, ...]]]:
    prices = session.exec(
        select(PriceVersion).where(PriceVersion.partner_id == partner, PriceVersion.source == "cli")
    )
    plans = session.exec(
        select(PlanVersion).where(PlanVersion.partner_id == partner, PlanVersion.source == "cli")
    )
    log = session.exec(
        select(PriceChange).where(PriceChange.partner_id == partner, PriceChange.source == "cli")
    )
    return {
        "prices": sorted(
            (p.scope, p.owner, p.usage_type, p.effective_from, str(p.price)) for p in prices
        ),
        "plans": sorted(
            (p.plan_code, p.effective_from, p.base_fee, p.minimum_spend) for p in plans
        ),
        "log": sorted(
            (c.object_type, c.object_key, c.action, c.effective_from, str(c.before), str(c.after))
            for c in log
        ),
    }


def test_apply_writes_what_the_ordinary_change_writes(session: Session) -> None:
    setup(session, "sim")
    setup(session, "twin")
    body = SimulationIn.model_validate({"periods": ["2026-11"], "changes": CHANGES})
    written = apply_proposal(session, "sim", body.changes, NOW, source=ChangeSource.CLI)
    _ordinary(session, "twin")
    session.commit()
    ours, theirs = _written(session, "sim"), _written(session, "twin")
    assert ours == theirs
    assert ours["prices"] and ours["plans"] and ours["log"]
    # effective from today, so from every client's next period (December)
    assert {row[3] for row in ours["prices"]} == {NOW.date()}
    assert len(written) == len(ours["log"])
    # November, already started, is rated as before: the simulation of it with no change
    # still reads the old prices
    again = simulate(session, "sim", ["2026-11"], [], NOW)
    assert {c.key: c.before.charge for c in again.clients}["a"] == 2100


def test_apply_is_all_or_nothing(session: Session) -> None:
    setup(session)
    counts = row_counts(session)
    bad = [
        CHANGES[0],
        {"kind": "plan_price", "plan": "std", "usage_type": "fax",
         "price": {"model": "per_unit", "unit_price": "0.1"}},
    ]  # fmt: skip
    body = SimulationIn.model_validate({"periods": ["2026-11"], "changes": bad})
    with pytest.raises(InvalidPricingError) as caught:
        apply_proposal(session, "sim", body.changes, NOW, source=ChangeSource.CLI)
    assert [p.loc[:3] for p in caught.value.problems] == [("changes", 1, "price")]
    session.rollback()
    assert row_counts(session) == counts
