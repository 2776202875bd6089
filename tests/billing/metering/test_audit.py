"""The audit trail returns exactly what was stored; days are the client's, across DST changes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from billing.metering import EventFilter, ingest, iter_events, list_events, summarize
from billing.metering.service import InvalidCursorError, month_bounds
from main import app
from tests.billing.factories import event, make_partner

NOV_5 = datetime(2026, 11, 5, tzinfo=UTC)


@pytest.fixture
def acme(session: Session) -> Session:
    make_partner(session, "acme", clients=("alpha", "beta"))
    make_partner(session, "globex", clients=("alpha",))
    return session


def test_pages_cover_every_event_exactly_once(acme: Session) -> None:
    sent = {}
    for batch in range(6):
        events = [
            event(f"b{batch}-{i}", client=("alpha", "beta")[i % 2], quantity=str(i))
            for i in range(97)
        ]
        assert ingest(acme, "acme", events).accepted == 97
        acme.commit()
        sent.update({e["event_id"]: e for e in events})
    ingest(acme, "globex", [event("b0-1")])  # same id, other partner: never listed here
    acme.commit()
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = list_events(acme, "acme", EventFilter(), cursor, 50)
        seen.extend(e.event_id for e in page)
        for stored in page:
            body = sent[stored.event_id]
            assert stored.client_id == body["client"]
            assert stored.quantity == Decimal(body["quantity"])
            assert stored.occurred_at == datetime.fromisoformat(body["occurred_at"])
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(sent) == 582
    assert set(seen) == set(sent)
    streamed = [e.event_id for e in iter_events(acme, "acme", EventFilter())]
    assert streamed == seen  # the export walks the same order


def test_filters_narrow_the_trail(acme: Session) -> None:
    events = [
        event("a-sms", occurred_at="2026-11-02T10:00:00Z"),
        event("b-sms", client="beta", occurred_at="2026-11-03T10:00:00Z"),
        event("a-chat", usage_type="chat_conversations", occurred_at="2026-11-04T10:00:00Z"),
    ]
    ingest(acme, "acme", events, received_at=NOV_5)

    def ids(where: EventFilter) -> list[str]:
        return sorted(e.event_id for e in list_events(acme, "acme", where, None, 100)[0])

    assert ids(EventFilter(client_id="alpha")) == ["a-chat", "a-sms"]
    assert ids(EventFilter(usage_type="sms")) == ["a-sms", "b-sms"]
    start, end = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, 10, tzinfo=UTC)
    assert ids(EventFilter(start=start, end=end)) == ["b-sms"]  # to is exclusive


def test_a_foreign_cursor_is_refused(acme: Session) -> None:
    with pytest.raises(InvalidCursorError):
        list_events(acme, "acme", EventFilter(), "not-a-cursor!", 10)


@pytest.fixture
def new_york(session: Session) -> Session:
    make_partner(session, "acme", clients=("nyc",), client_timezone="America/New_York")
    make_partner(session, "emea", clients=("paris", "london"), client_timezone="UTC")
    return session


# DST ends in New York on 2026-11-01 at 02:00 EDT: that local day lasts 25 hours.
AROUND_FALL_BACK = [
    ("last-of-oct-31", "2026-11-01T03:59:59Z", "1"),  # 23:59:59 EDT on Oct 31
    ("first-of-nov-1", "2026-11-01T04:00:00Z", "2"),  # 00:00 EDT on Nov 1
    ("repeated-1am", "2026-11-01T06:30:00Z", "4"),  # 01:30 EST, the second 1:30 that night
    ("last-of-nov-1", "2026-11-02T04:59:59Z", "8"),  # 23:59:59 EST on Nov 1
    ("first-of-nov-2", "2026-11-02T05:00:00Z", "16"),  # 00:00 EST on Nov 2
]


def test_days_follow_the_clients_time_zone_across_the_fall_back(new_york: Session) -> None:
    events = [
        event(eid, client="nyc", occurred_at=at, quantity=q) for eid, at, q in AROUND_FALL_BACK
    ]
    assert ingest(new_york, "acme", events, received_at=NOV_5).accepted == 5
    new_york.commit()
    days = summarize(new_york, "acme", *month_bounds("2026-11"), client_id="nyc")
    assert [(d.day, d.quantity, d.events) for d in days] == [
        (date(2026, 11, 1), Decimal(14), 3),
        (date(2026, 11, 2), Decimal(16), 1),
    ]
    october = summarize(new_york, "acme", *month_bounds("2026-10"), client_id="nyc")
    assert [(d.day, d.quantity) for d in october] == [(date(2026, 10, 31), Decimal(1))]


def test_the_partner_summary_uses_each_clients_own_zone(new_york: Session) -> None:
    at = "2026-11-02T03:00:00Z"  # Nov 2 in UTC, still Nov 1 in New York
    ingest(new_york, "acme", [event("ny", client="nyc", occurred_at=at)], received_at=NOV_5)
    ingest(new_york, "emea", [event("pa", client="paris", occurred_at=at)], received_at=NOV_5)
    new_york.commit()
    [ny] = summarize(new_york, "acme", date(2026, 11, 1), date(2026, 11, 30))
    [paris] = summarize(new_york, "emea", date(2026, 11, 1), date(2026, 11, 30))
    assert (ny.client_id, ny.day) == ("nyc", date(2026, 11, 1))
    assert (paris.client_id, paris.day) == ("paris", date(2026, 11, 2))
    assert summarize(new_york, "acme", date(2026, 11, 2), date(2026, 11, 2)) == []


def test_spring_forward_day_has_23_hours(new_york: Session) -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT. Late window made wide enough for March.
    march = datetime(2026, 3, 20, tzinfo=UTC)
    events = [
        event("before", client="nyc", occurred_at="2026-03-08T04:59:59Z"),  # Mar 7 23:59:59 EST
        event("start", client="nyc", occurred_at="2026-03-08T05:00:00Z"),  # Mar 8 00:00 EST
        event("end", client="nyc", occurred_at="2026-03-09T03:59:59Z"),  # Mar 8 23:59:59 EDT
        event("next", client="nyc", occurred_at="2026-03-09T04:00:00Z"),  # Mar 9 00:00 EDT
    ]
    assert ingest(new_york, "acme", events, received_at=march).accepted == 4
    days = summarize(new_york, "acme", date(2026, 3, 7), date(2026, 3, 9), client_id="nyc")
    assert [(d.day, d.events) for d in days] == [
        (date(2026, 3, 7), 1),
        (date(2026, 3, 8), 2),
        (date(2026, 3, 9), 1),
    ]


def test_usage_show_prints_the_clients_month(new_york: Session) -> None:
    events = [
        event(eid, client="nyc", occurred_at=at, quantity=q) for eid, at, q in AROUND_FALL_BACK
    ]
    ingest(new_york, "acme", events, received_at=NOV_5)
    new_york.commit()
    args = ["usage", "show", "--partner", "acme", "--client", "nyc", "--period", "2026-11"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2026-11-01  sms" in result.output
    assert "2026-10-31" not in result.output
    total = [line for line in result.output.splitlines() if line.strip().startswith("total")]
    assert total and total[0].split()[2:4] == ["30", "4"]
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert json.loads(as_json.output) == [
        {
            "day": "2026-11-01",
            "usage_type": "sms",
            "quantity": "14",
            "events": 3,
            "wholesale_cost": 11,
            "currency": "USD",
        },
        {
            "day": "2026-11-02",
            "usage_type": "sms",
            "quantity": "16",
            "events": 1,
            "wholesale_cost": 12,
            "currency": "USD",
        },
    ]


def test_usage_show_refuses_a_bad_period_and_an_unknown_client(new_york: Session) -> None:
    bad = CliRunner().invoke(
        app, ["usage", "show", "-p", "acme", "-c", "nyc", "--period", "11/2026"]
    )
    assert bad.exit_code == 1 and "not a month" in bad.output
    unknown = CliRunner().invoke(
        app, ["usage", "show", "-p", "acme", "-c", "paris", "--period", "2026-11"]
    )
    assert unknown.exit_code == 1 and "client 'paris' not found" in unknown.output


def test_month_bounds() -> None:
    assert month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_bounds("2026-12")[1] + timedelta(days=1) == date(2027, 1, 1)
