"""Property: with no change, the simulation of a closed month is its issued invoices.

Over random plans (every price model, base fees, minimums, discounts, taxes), time zones and
usage, the month is closed and issued through the real cycle (close, approve, issue); then an
empty proposal gives, for every client, before == after == the margins (`period_figures`) ==
the issued invoice net of tax and its wholesale cost, and the re-rated invoice total (tax
included) equals the issued invoice's total. Nothing is written by the simulation.
A wholesale change on top moves cost and margin, never revenue.
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from billing.margins import parse_period, period_figures
from billing.margins.service import group
from billing.metering.service import ingest
from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from billing.simulation import SimulationIn, simulate
from config.partner_file import parse_partner_toml
from tests.billing.margins.test_properties import (
    MODELS,
    SEPTEMBER,
    ZONES,
    _toml,
    client_strategy,
)
from tests.billing.simulation.helpers import row_counts, untouched

_ids = itertools.count(1)

usage_strategy = st.tuples(
    st.integers(0, 3),  # client index
    st.sampled_from(("calls", "texts")),
    st.integers(1, 90),  # quantity
    st.integers(0, 29),  # day of September (local)
    st.integers(0, 23),  # hour (local)
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    partner_zone=st.sampled_from(ZONES),
    clients=st.lists(client_strategy, min_size=1, max_size=4),
    events=st.lists(usage_strategy, min_size=0, max_size=16),
    accrue_first=st.booleans(),
    issue_days=st.integers(2, 20),
    wholesale=st.sampled_from(["0.013", "0.021", "0.5"]),
)
def test_no_change_equals_the_issued_invoices_and_the_margins(
    engine: Engine,
    partner_zone: str,
    clients: list[dict[str, Any]],
    events: list[tuple[int, str, int, int, int]],
    accrue_first: bool,
    issue_days: int,
    wholesale: str,
) -> None:
    partner = f"sim{next(_ids)}"
    for index, client in enumerate(clients):
        client["id"] = f"c{index}"
    parsed = parse_partner_toml(_toml(partner, partner_zone, clients))
    with Session(engine, expire_on_commit=False) as session:
        apply_partner_file(session, parsed, datetime(2026, 8, 1, tzinfo=UTC))
        session.commit()
        rows = []
        for who, usage_type, quantity, day, hour in events:
            spec = clients[who % len(clients)]
            moment = datetime.combine(
                SEPTEMBER + timedelta(days=day), time(hour), ZoneInfo(spec["zone"])
            ).astimezone(UTC)
            rows.append(
                {
                    "event_id": f"{partner}-{next(_ids)}",
                    "client": spec["id"],
                    "usage_type": usage_type,
                    "quantity": str(quantity),
                    "occurred_at": moment.isoformat(),
                }
            )
        result = ingest(session, partner, rows, received_at=datetime(2026, 10, 1, 8, tzinfo=UTC))
        assert not result.rejections
        session.commit()
        if accrue_first:
            accrue(session, partner, datetime(2026, 10, 1, 9, tzinfo=UTC))
            session.commit()
        issued_at = datetime(2026, 10, 1, 15, tzinfo=UTC) + timedelta(days=issue_days)
        close_cycles(session, partner, issued_at, period="2026-09")
        approve_invoices(session, partner, by="test")
        repo = InvoiceRepository(session)
        ids = repo.ids_with_status(partner, InvoiceStatus.APPROVED)
        issued = issue_invoices(session, partner, ids, now=issued_at, documents=False).invoices
        session.commit()
        now = issued_at + timedelta(hours=1)

        counts = row_counts(session)
        empty = SimulationIn.model_validate({"periods": ["2026-09"], "changes": []})
        nothing = simulate(session, partner, empty.periods, empty.changes, now)
        assert nothing.client_periods == 0
        # "no change" that reaches every client: each plan's calls price set to what it is, so
        # every client period is re-rated twice and compared
        same = [
            {
                "kind": "plan_price",
                "plan": f"plan_{spec['id']}",
                "usage_type": "calls",
                "price": tomllib.loads(MODELS[spec["calls"]]),
            }
            for spec in clients
        ]
        body = SimulationIn.model_validate({"periods": ["2026-09"], "changes": same})
        sim = simulate(session, partner, body.periods, body.changes, now)
        assert untouched(session)
        assert row_counts(session) == counts
        assert [(c.key, c.before, c.after) for c in nothing.clients] == [
            (c.key, c.before, c.after) for c in sim.clients
        ]

        margins = period_figures(session, partner, parse_period("2026-09"), now).cells
        by_client = {r.key: (r.charge, r.cost) for r in group(margins, lambda c: c.client_id)}
        invoices = {i.client_id: i for i in issued}
        assert {c.key for c in sim.clients} == set(by_client)
        for row in sim.clients:
            assert (row.before.charge, row.before.cost) == by_client[row.key]
            assert row.after == row.before
            invoice = invoices[row.key]
            assert row.before.charge == invoice.total_minor - invoice.tax_minor
            assert row.before.cost == invoice.cost_minor
        totals = {m.client_id: (m.invoice_before, m.invoice_after) for m in sim.invoices}
        for client_id in by_client:
            total = invoices[client_id].total_minor
            assert totals[client_id] == (total, total)
        assert sim.rises == sim.falls == sim.crossed_below == sim.crossed_above == ()
        for row in (*sim.portfolio, *sim.usage_types):
            assert row.after == row.before

        # a wholesale change moves cost and margin, never revenue
        moved = SimulationIn.model_validate(
            {
                "periods": ["2026-09"],
                "changes": [
                    {
                        "kind": "wholesale",
                        "usage_type": "calls",
                        "price": {"model": "per_unit", "unit_price": wholesale},
                    }
                ],
            }
        )
        sim = simulate(session, partner, moved.periods, moved.changes, now)
        for row in sim.clients:
            assert row.after.charge == row.before.charge
            assert row.after.margin - row.before.margin == -row.cost_change
        assert sim.rises == sim.falls == ()
        assert untouched(session) and row_counts(session) == counts
