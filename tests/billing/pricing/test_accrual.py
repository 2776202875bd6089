"""Accrual: runs interleaved with new usage post exactly the period's statement net of tax (usage
per usage type, base fee with minimum true-up, discount) and cost in total, negative changes
included; replays post nothing; the books carry dimensions, the service period among them."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from billing.pricing import AccrualState, accrue, live_figures, put_plan, rate_clients
from billing.pricing.components import DISCOUNT, SUBSCRIPTION, statement_components
from config.partner_file import PlanSpec
from ledger import JournalEntry, Posting, account_balance, trial_balance
from ledger.models import Account
from tests.billing.pricing.helpers import NOW, apply_text, event, new_partner_id, send

MARCH = datetime(2026, 3, 1, 12, tzinfo=UTC)
_ids = itertools.count()


_COMPONENT_OF_ROLE = {"subscription_revenue": SUBSCRIPTION, "discounts": DISCOUNT}


def _booked(session: Session, partner: str) -> dict[tuple[str, str], list[int]]:
    """(client, component) -> [revenue recognised, wholesale cost debited] from the books."""
    query = (
        select(
            col(Posting.client_id), col(Posting.usage_type), col(Account.role), col(Posting.amount)
        )
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(Posting.partner_id) == partner)
    )
    found: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for client, usage_type, role, amount in session.execute(query):
        if role == "usage_revenue":
            found[(client, usage_type)][0] -= amount
        elif role in _COMPONENT_OF_ROLE:
            found[(client, _COMPONENT_OF_ROLE[role])][0] -= amount
        elif role == "wholesale_cost":
            found[(client, usage_type)][1] += amount
    return found


def _rated(session: Session, partner: str, now: datetime) -> dict[tuple[str, str], list[int]]:
    """(client, component) -> [charge, cost] of the periods with usage, as live figures rate
    them."""
    found: dict[tuple[str, str], list[int]] = {}
    for figures in rate_clients(session, partner, now, used_only=True):
        for component, amount in statement_components(figures.statement).items():
            found[(figures.client_id, component)] = [amount, 0]
        for code in figures.totals:
            found.setdefault((figures.client_id, code), [0, 0])[1] = figures.cost(code)
    return {key: value for key, value in found.items() if value != [0, 0]}


def test_volume_tier_crossing_posts_a_negative_change(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", [event("s1", "alpha", "sms", "45", MARCH)], received_at=MARCH)
    first = accrue(session, "acme", MARCH + timedelta(minutes=1))
    session.commit()
    # The statement net of tax: sms 1.35 + base fee 49.00 + true-up 9.65 to the 60.00 minimum,
    # less the 10% discount: 54.00, in one entry (sms, subscription and discount legs).
    assert first.entries == 1 and first.charge == {"USD": 5400} and first.cost == {"USD": 36}
    later = MARCH + timedelta(days=1)
    send(session, "acme", [event("s2", "alpha", "sms", "10", later)], received_at=later)
    second = accrue(session, "acme", later)
    session.commit()
    # 55 messages: every one at 0.02 (1.10) instead of 45 at 0.03 (1.35): usage -0.25, and the
    # minimum-spend true-up rises by as much, so the period still owes its 60.00 minimum.
    assert second.entries == 1 and second.charge == {"USD": 0}
    assert second.cost == {"USD": 43 - 36}
    booked = _booked(session, "acme")
    assert booked[("alpha", "sms")] == [110, 43]
    assert booked[("alpha", SUBSCRIPTION)] == [5890, 0] and booked[("alpha", DISCOUNT)] == [-600, 0]
    negative = session.scalars(
        select(JournalEntry)
        .where(col(JournalEntry.source_type) == "accrual")
        .order_by(col(JournalEntry.id))
    ).all()[-1]
    legs = session.execute(
        select(
            col(Account.role),
            col(Posting.amount),
            col(Posting.client_id),
            col(Posting.usage_type),
            col(Posting.service_period),
        )
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(Posting.entry_id) == negative.id)
    ).all()
    march = date(2026, 3, 1)
    assert sorted(legs, key=repr) == sorted(
        [
            ("unbilled_receivable", -25, "alpha", "sms", march),
            ("usage_revenue", 25, "alpha", "sms", march),
            ("wholesale_cost", 7, "alpha", "sms", march),
            ("wholesale_payable", -7, "alpha", "sms", march),
            ("unbilled_receivable", 25, "alpha", None, march),
            ("subscription_revenue", -25, "alpha", None, march),
        ],
        key=repr,
    )
    assert negative.idempotency_key.startswith("accrual:alpha:2026-03-01:2:2-")
    assert accrue(session, "acme", later + timedelta(hours=1)).entries == 0  # a replay
    assert trial_balance(session, "acme").is_balanced


def test_runs_sum_to_the_periods_charge_and_cost(session: Session) -> None:
    apply_text(session, "acme")
    moments = [MARCH + timedelta(days=n) for n in range(5)]
    batches = [
        [
            event("v1", "alpha", "voice", "80", moments[0]),
            event("c1", "beta", "chat", "1", moments[0]),
        ],
        [
            event("v2", "alpha", "voice", "70.5", moments[1]),
            event("g1", "gamma", "voice", "3.5", moments[1]),
        ],
        [
            event("s1", "beta", "sms", "12", moments[2]),
            event("seat", "alpha", "seats", "4", moments[2]),
        ],
        [event("v3", "alpha", "voice", "900", moments[3])],
    ]
    for moment, batch in zip(moments, batches, strict=False):
        send(session, "acme", batch, received_at=moment)
        accrue(session, "acme", moment + timedelta(minutes=5))
        session.commit()
    final = moments[3] + timedelta(minutes=5)
    assert _booked(session, "acme") == _rated(session, "acme", final)
    states = {
        (s.client_id, s.usage_type): [s.charge, s.cost]
        for s in session.scalars(select(AccrualState))
        if (s.charge, s.cost) != (0, 0)
    }
    assert states == _rated(session, "acme", final)
    # The unbilled receivable is the statements net of tax: what the invoices will bill.
    unbilled = account_balance(session, "acme", "1150", "USD")
    assert unbilled == sum(
        f.statement.taxable for f in rate_clients(session, "acme", final, used_only=True)
    )
    assert accrue(session, "acme", final).entries == 0


def test_a_price_change_inside_the_open_period_is_accrued(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", [event("v1", "alpha", "voice", "10", MARCH)], received_at=MARCH)
    accrue(session, "acme", MARCH)
    session.commit()
    spec = PlanSpec.model_validate(
        {
            "name": "Pro",
            "base_fee": "49.00",
            "minimum_spend": "60.00",
            "effective_from": "2026-03-01",
            "prices": {"voice": {"model": "per_unit", "unit_price": "0.5"}},
        }
    )
    put_plan(session, "acme", "pro", spec, MARCH + timedelta(days=1))
    session.commit()
    again = accrue(session, "acme", MARCH + timedelta(days=1))  # same events, new price
    session.commit()
    # voice 1.50 -> 5.00; the true-up to the 60.00 minimum falls by as much: nothing changes
    # in total, one entry moves it from subscription to usage revenue.
    assert again.entries == 1 and again.charge == {"USD": 0}
    booked = _booked(session, "acme")
    assert booked[("alpha", "voice")][0] == 500
    assert booked[("alpha", SUBSCRIPTION)][0] == 6000 - 500


def test_late_events_of_the_previous_period_are_accrued_within_the_grace_period(
    session: Session,
) -> None:
    apply_text(session, "acme")
    # 20:00 on 28 February in Chicago: alpha's February period, which ended 06:00 UTC on 1 March
    late = datetime(2026, 3, 1, 2, tzinfo=UTC)
    send(session, "acme", [event("feb", "alpha", "voice", "5", late)], received_at=MARCH)
    assert accrue(session, "acme", MARCH, previous=False).entries == 0
    result = accrue(session, "acme", MARCH)
    session.commit()
    assert result.entries == 1  # voice, base fee with true-up and discount legs
    entries = session.scalars(
        select(JournalEntry).where(col(JournalEntry.source_type) == "accrual")
    ).all()
    assert {entry.source_id for entry in entries} == {"alpha:2026-02-01"}
    # dated inside the period it belongs to: the last instant before it ended (the partner is
    # in UTC, so also the last instant of February in the partner's calendar)
    assert {entry.effective_at for entry in entries} == {
        datetime(2026, 3, 1, tzinfo=UTC) - timedelta(microseconds=1)
    }
    # after the grace period (24 hours by default) the invoice takes late usage over
    after = datetime(2026, 3, 3, tzinfo=UTC)
    send(session, "acme", [event("feb2", "alpha", "voice", "5", late)], received_at=after)
    assert accrue(session, "acme", after).entries == 0


def test_accruing_one_client(session: Session) -> None:
    apply_text(session, "acme")
    send(
        session,
        "acme",
        [event("a", "alpha", "sms", "5", MARCH), event("b", "beta", "sms", "5", MARCH)],
        received_at=MARCH,
    )
    assert accrue(session, "acme", MARCH, client_ids=["beta"]).clients == {"beta"}
    assert accrue(session, "acme", MARCH).clients == {"alpha"}
    session.commit()
    unbilled = account_balance(session, "acme", "1150", "USD")
    # Both on the Pro plan's 60.00 minimum spend; alpha has a 10% discount.
    assert unbilled == 5400 + 6000


# --- Hypothesis: any interleaving of usage and accrual runs sums to the period's figures --------

batch = st.lists(
    st.tuples(
        st.sampled_from(("alpha", "beta", "gamma")),
        st.sampled_from(("voice", "sms", "chat", "seats", "agents")),
        st.integers(min_value=0, max_value=120),
        st.sampled_from(("x", "y", "z")),
    ),
    min_size=0,
    max_size=8,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(batch, min_size=1, max_size=6), corrections=st.booleans())
def test_interleaved_accruals_sum_to_the_final_figures(
    engine: Engine, batches: list[list[tuple[str, str, int, str]]], corrections: bool
) -> None:
    partner = new_partner_id()
    with Session(engine, expire_on_commit=False) as session:
        apply_text(session, partner, now=NOW)
        start = datetime(2026, 3, 15, tzinfo=UTC)
        sent: list[tuple[str, str, str, int]] = []
        for step, items in enumerate(batches):
            moment = start + timedelta(hours=step)
            events = []
            for client, code, quantity, agent in items:
                event_id = f"e{next(_ids)}"
                props = {"agent_id": agent}
                events.append(event(event_id, client, code, quantity, moment, properties=props))
                sent.append((event_id, client, code, quantity))
            if corrections and step % 2 and sent:
                # retract half of an earlier event: totals go down as well as up
                target, client, code, quantity = sent[step % len(sent)]
                fix = event(f"fix{next(_ids)}", client, code, -(quantity // 2), moment)
                events.append({**fix, "adjusts": target})
            send(session, partner, events, received_at=moment)
            accrue(session, partner, moment + timedelta(minutes=1))
            session.commit()
        final = start + timedelta(hours=len(batches), minutes=1)
        rated = _rated(session, partner, final)
        booked = _booked(session, partner)
        assert {k: v for k, v in booked.items() if v != [0, 0]} == {
            k: v for k, v in rated.items() if v != [0, 0]
        }
        assert accrue(session, partner, final).entries == 0
        assert trial_balance(session, partner).is_balanced


def test_live_figure_after_accrual_matches_the_books(session: Session) -> None:
    apply_text(session, "acme")
    send(session, "acme", [event("v", "alpha", "voice", "123.45", MARCH)], received_at=MARCH)
    accrue(session, "acme", MARCH)
    session.commit()
    figures = live_figures(session, "acme", "alpha", MARCH)
    revenue = account_balance(session, "acme", "4000.voice", "USD")
    assert -revenue == figures.charge("voice") == figures.statement.usage_charge("voice").amount  # type: ignore[union-attr]
    assert date(2026, 3, 1) == figures.period.start
    assert Decimal("123.45") == figures.totals["voice"].quantity
