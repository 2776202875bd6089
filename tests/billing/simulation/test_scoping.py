"""Each kind of change reaches exactly the clients it should, and a bad proposal names its
field. November is the open period (live figures), read on the 20th.

As is (UTC, whole month): a: 10.00 + 100 x 0.10 + 50 x 0.02 = 21.00; b: 10.00 + 200 x 0.08
(own price) = 26.00; c: (10.00 + 30.00 + 0.20) less 5 % = 40.20 - 2.01 = 38.19; d: 400 x
0.09 = 36.00, minimum 50.00 -> 50.00.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from billing.pricing.errors import InvalidPricingError
from billing.simulation import SimulationIn, simulate
from billing.simulation.service import Simulation
from tests.billing.simulation.helpers import row_counts, untouched
from tests.billing.simulation.world import NOW, PARTNER, setup


def _run(session: Session, *changes: dict[str, Any]) -> Simulation:
    body = SimulationIn.model_validate({"periods": ["2026-11"], "changes": list(changes)})
    return simulate(session, PARTNER, body.periods, body.changes, NOW)


def _revenue(result: Simulation) -> dict[str, tuple[int, int]]:
    return {c.key: (c.before.charge, c.after.charge) for c in result.clients}


def test_plan_change_reaches_its_clients_but_not_an_own_price(session: Session) -> None:
    setup(session)
    result = _run(
        session,
        {
            "kind": "plan_price",
            "plan": "std",
            "usage_type": "voice",
            "price": {"model": "per_unit", "unit_price": "0.12"},
        },
    )
    # a: +100 x 0.02; b keeps its own 0.08; c: 10.00 + 36.00 + 0.20 = 46.20 less 2.31 = 43.89
    assert _revenue(result) == {
        "a": (2100, 2300),
        "b": (2600, 2600),
        "c": (3819, 4389),
        "d": (5000, 5000),
    }


def test_client_override_and_discount_reach_only_that_client(session: Session) -> None:
    setup(session)
    result = _run(
        session,
        {
            "kind": "client_price",
            "client": "a",
            "usage_type": "voice",
            "price": {"model": "package", "included": 50, "block_size": 50, "block_price": "4.00"},
        },
        {"kind": "client_discount", "client": "d", "discount_percent": "10"},
    )
    # a: 10.00 + 1 block of 4.00 + 1.00 = 15.00; d: 50.00 less 10 % = 45.00
    assert _revenue(result) == {
        "a": (2100, 1500),
        "b": (2600, 2600),
        "c": (3819, 3819),
        "d": (5000, 4500),
    }


def test_base_fee_and_minimum(session: Session) -> None:
    setup(session)
    result = _run(
        session,
        {"kind": "plan_fees", "plan": "std", "base_fee": "0"},
        {"kind": "plan_fees", "plan": "pro", "minimum_spend": None},
    )
    # c: 30.20 less 5 % (1.51) = 28.69; d: 36.00 without its minimum
    assert _revenue(result) == {
        "a": (2100, 1100),
        "b": (2600, 1600),
        "c": (3819, 2869),
        "d": (5000, 3600),
    }
    # costs do not move; d falls most, then a and b (10.00 each, by id), then c
    assert all(c.cost_change == 0 for c in result.clients)
    assert [m.client_id for m in result.falls] == ["d", "a", "b", "c"]


def test_wholesale_change_crosses_the_threshold_and_moves_no_revenue(session: Session) -> None:
    setup(session)
    counts = row_counts(session)
    result = _run(
        session,
        {
            "kind": "wholesale",
            "usage_type": "voice",
            "price": {"model": "per_unit", "unit_price": "0.09"},
        },
    )
    assert all(c.revenue_change == 0 for c in result.clients)
    costs = {c.key: (c.before.cost, c.after.cost) for c in result.clients}
    assert costs == {"a": (550, 950), "b": (1000, 1800), "c": (1510, 2710), "d": (2000, 3600)}
    # b: (26.00 - 18.00) / 26.00 = 30.77 % stays; c: (38.19 - 27.10) / 38.19 = 29.04 % and
    # d: (50.00 - 36.00) / 50.00 = 28 % fall under 30 %
    assert [c.key for c in result.crossed_below] == ["c", "d"]
    assert untouched(session) and row_counts(session) == counts


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"kind": "plan_price", "plan": "nope", "usage_type": "voice",
          "price": {"model": "per_unit", "unit_price": "0.1"}}, ("changes", 0, "plan")),
        ({"kind": "plan_price", "plan": "std", "usage_type": "fax",
          "price": {"model": "per_unit", "unit_price": "0.1"}}, ("changes", 0, "price")),
        ({"kind": "plan_fees", "plan": "std", "base_fee": "1.001"}, ("changes", 0, "base_fee")),
        ({"kind": "client_discount", "client": "zz", "discount_percent": "1"},
         ("changes", 0, "client")),
        ({"kind": "wholesale", "usage_type": "voice",
          "price": {"model": "per_unit", "unit_price": "0.5", "x": 1}}, None),
    ],
)  # fmt: skip
def test_bad_proposal_names_the_field(
    session: Session, change: dict[str, Any], path: tuple[Any, ...] | None
) -> None:
    setup(session)
    if path is None:  # refused by the schema itself
        with pytest.raises(ValueError, match="x"):
            SimulationIn.model_validate({"periods": ["2026-11"], "changes": [change]})
        return
    with pytest.raises(InvalidPricingError) as caught:
        _run(session, change)
    assert [p.loc[: len(path)] for p in caught.value.problems] == [path]


def test_bad_period_names_it(session: Session) -> None:
    setup(session)
    with pytest.raises(InvalidPricingError) as caught:
        simulate(session, PARTNER, ["2026-13"], [], NOW)
    assert caught.value.problems[0].loc == ("periods", 0)
