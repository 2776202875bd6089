"""Live figures: quantities aggregated in SQL per usage type's aggregation, in the client's
time zone, rated exactly as `rate_period` rates the same quantities (the invoice)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from billing.pricing import client_period, live_figures, pricing_for, rate_clients
from billing.rating import BillingPeriod, client_rating_inputs, rate_costs, rate_period
from tests.billing.pricing.helpers import NOW, apply_text, event, new_partner_id, partner_file, send

D = Decimal
MARCH_CHICAGO = BillingPeriod(datetime(2026, 3, 1).date(), datetime(2026, 4, 1).date())


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def _alpha_events() -> list[dict[str, object]]:
    events = [
        event("v1", "alpha", "voice", "150.5", _at(10)),
        event("s1", "alpha", "sms", "30", _at(11)),
        event("s2", "alpha", "sms", "30", _at(12)),
        event("seat1", "alpha", "seats", "3", _at(2)),
        event("seat2", "alpha", "seats", "7", _at(3)),
        event("seat3", "alpha", "seats", "5", _at(4)),
        # 23:30 on 28 February in Chicago: February's period, not March's.
        event("early", "alpha", "voice", "1000", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
    ]
    events += [event(f"c{n}", "alpha", "chat", "1", _at(5)) for n in range(13)]
    events += [
        event(f"a{n}", "alpha", "agents", "1", _at(6), properties={"agent_id": agent})
        for n, agent in enumerate(["a1", "a2", "a1", "a3"])
    ]
    return events


def test_worked_example_every_model_and_aggregation(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", _alpha_events())
    figures = live_figures(session, "acme", "alpha", NOW)
    assert figures.period == MARCH_CHICAGO
    quantities = {code: total.quantity for code, total in figures.totals.items()}
    assert quantities == {"voice": D("150.5"), "sms": 60, "chat": 13, "seats": 7, "agents": 3}
    assert {code: figures.charge(code) for code in quantities} == {
        "voice": 1500 + 606,  # 100 x 0.15 + 50.5 x 0.12
        "sms": 120,  # volume: all 60 at the second tier's 0.02
        "chat": 100,  # 10 included, 3 over = one started block of 5 at 1.00
        "seats": 7000,  # max 7 x 10
        "agents": 1050,  # 3 distinct agents x 3.50
    }
    statement = figures.statement
    assert statement.subtotal == 4900 + 10376
    assert statement.discount is not None and statement.discount.amount == -1528
    assert statement.tax is not None and statement.tax.amount == 1134
    assert statement.total == 15276 - 1528 + 1134
    assert {code: figures.cost(code) for code in quantities} == {
        "voice": 500 + 202,
        "sms": 47,
        "chat": 13,
        "seats": 1400,
        "agents": 450,
    }


def test_live_figure_equals_rate_period_of_the_same_quantities(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", _alpha_events())
    pf = partner_file("acme")
    for client in ("alpha", "beta", "gamma"):
        figures = live_figures(session, "acme", client, NOW)
        inputs = client_rating_inputs(pf, client)
        quantities = {code: total.quantity for code, total in figures.totals.items()}
        expected = rate_period(
            inputs.plan, quantities, "USD", figures.period, inputs.terms, names=inputs.names
        )
        # Same lines; the price book lists usage types by code, the file in its own order.
        shown = sorted((x.description, x.quantity, x.unit_price, x.amount) for x in expected.lines)
        got = sorted(
            (x.description, x.quantity, x.unit_price, x.amount) for x in figures.statement.lines
        )
        assert got == shown
        assert figures.statement.total == expected.total
        costs = rate_costs(inputs.wholesale, quantities, "USD")
        assert figures.cost_total == sum(c.amount for c in costs.values())


def test_periods_follow_each_clients_billing_day_and_zone(session: Session) -> None:
    apply_text(session, "acme")
    beta = live_figures(session, "acme", "beta", NOW)
    assert (beta.period.start.isoformat(), beta.period.end.isoformat()) == (
        "2026-03-15",
        "2026-04-15",
    )
    february = live_figures(session, "acme", "alpha", NOW, on=datetime(2026, 2, 10).date())
    assert february.period.start.isoformat() == "2026-02-01"


def test_feb_event_belongs_to_february_in_the_clients_zone(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", _alpha_events())
    february = live_figures(session, "acme", "alpha", NOW, on=datetime(2026, 2, 20).date())
    assert february.totals["voice"].quantity == 1000
    assert set(february.totals) == {"voice"}


def test_adjustments_in_each_aggregation(session: Session) -> None:
    apply_text(session, "acme")
    send(
        session,
        "acme",
        [
            event("v", "beta", "voice", "10", _at(16)),
            event("v-fix", "beta", "voice", "-2.5", _at(17), adjusts="v"),
            event("seat-a", "beta", "seats", "9", _at(16)),
            event("seat-a-fix", "beta", "seats", "-4", _at(17), adjusts="seat-a"),
            event("seat-b", "beta", "seats", "7", _at(16)),
            *(event(f"chat{n}", "beta", "chat", "1", _at(16)) for n in range(3)),
            event("chat0-fix", "beta", "chat", "-1", _at(17), adjusts="chat0"),
            event("ag1", "beta", "agents", "1", _at(16), properties={"agent_id": 7}),
            event("ag2", "beta", "agents", "1", _at(16), properties={"agent_id": "7"}),
            event("ag3", "beta", "agents", "1", _at(16), properties={"other": 1}),
            event("ag3-fix", "beta", "agents", "-1", _at(17), adjusts="ag3"),
        ],
    )
    totals = live_figures(session, "acme", "beta", NOW).totals
    assert totals["voice"].quantity == D("7.5")  # sum nets the correction
    assert totals["seats"].quantity == 7  # max of originals net of their corrections: 9-4, 7
    assert totals["chat"].quantity == 2  # a negative adjustment retracts one event
    # unique_count: distinct non-null values among original events; JSON 7 and "7" differ on
    # SQLite (typed) and agree on PostgreSQL (->> text): compare with what the database says.
    assert totals["agents"].quantity in (1, 2)
    assert totals["voice"].events == 2 and totals["chat"].events == 4


def test_rate_clients_rates_every_client_with_one_query_per_window(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", _alpha_events())
    everyone = {f.client_id: f for f in rate_clients(session, "acme", NOW)}
    assert set(everyone) == {"alpha", "beta", "gamma"}
    single = live_figures(session, "acme", "alpha", NOW)
    assert everyone["alpha"].statement.total == single.statement.total
    period = client_period(1, NOW.date())
    plan, terms, wholesale = pricing_for(session, "acme", "gamma", period)
    assert plan.name == "Gamma special" and terms.plan_override is None
    assert set(wholesale) == {"voice", "sms", "chat", "seats", "agents"}


# --- the live figure equals the statement computed independently from the raw events -------------

CODES = ("voice", "sms", "chat", "seats", "agents")
events_strategy = st.lists(
    st.tuples(
        st.sampled_from(("alpha", "beta", "gamma")),
        st.sampled_from(CODES),
        st.decimals(min_value=0, max_value=400, places=2, allow_nan=False, allow_infinity=False),
        st.integers(min_value=-20 * 24, max_value=18 * 24),  # hours from 1 March 00:00 UTC
        st.sampled_from(("x", "y", "z", None)),
    ),
    max_size=40,
)


def _expected_quantities(
    raw: list[tuple[str, str, Decimal, int, str | None]],
    client: str,
    period: BillingPeriod,
    zone: str,
) -> dict[str, Decimal]:
    values: dict[str, list[tuple[Decimal, str | None]]] = defaultdict(list)
    for who, code, quantity, hours, agent in raw:
        moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=hours)
        if who == client and period.contains(moment.astimezone(ZoneInfo(zone)).date()):
            values[code].append((quantity.quantize(D(1)) if code != "voice" else quantity, agent))
    found: dict[str, Decimal] = {}
    for code, items in values.items():
        if code == "chat":
            found[code] = D(len(items))
        elif code == "seats":
            found[code] = max(q for q, _ in items)
        elif code == "agents":
            found[code] = D(len({agent for _, agent in items if agent is not None}))
        else:
            found[code] = sum((q for q, _ in items), D(0))
    return found


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=events_strategy)
def test_live_total_equals_the_statement_of_the_raw_events(
    engine: Engine, raw: list[tuple[str, str, Decimal, int, str | None]]
) -> None:
    partner = new_partner_id()
    zones = {"alpha": "America/Chicago", "beta": "UTC", "gamma": "UTC"}
    with Session(engine, expire_on_commit=False) as session:
        apply_text(session, partner)
        events = []
        for n, (client, code, quantity, hours, agent) in enumerate(raw):
            amount = quantity if code == "voice" else quantity.quantize(D(1))
            when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=hours)
            props = {"agent_id": agent} if agent is not None else None
            events.append(event(f"e{n}", client, code, amount, when, properties=props))
        send(session, partner, events)
        pf = partner_file(partner)
        for client in ("alpha", "beta", "gamma"):
            figures = live_figures(session, partner, client, NOW)
            quantities = _expected_quantities(raw, client, figures.period, zones[client])
            inputs = client_rating_inputs(pf, client)
            expected = rate_period(inputs.plan, quantities, "USD", figures.period, inputs.terms)
            assert figures.statement.total == expected.total
            assert sorted(line.amount for line in figures.statement.lines) == sorted(
                line.amount for line in expected.lines
            )
            costs = rate_costs(inputs.wholesale, quantities, "USD")
            assert figures.cost_total == sum(c.amount for c in costs.values())
