"""Ingestion through the service: stored once, exactly as sent, replays and conflicts told apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from billing.metering import EventSource, IngestResult, UsageEvent, ingest
from tests.billing.factories import event, make_partner
from tests.conftest import ON_POSTGRES


@pytest.fixture
def tenants(session: Session) -> Session:
    make_partner(session, "acme")
    make_partner(session, "globex", clients=("gamma",))
    return session


def send(
    session: Session, events: Sequence[object], partner: str = "acme", **kw: Any
) -> IngestResult:
    result = ingest(session, partner, events, **kw)
    session.commit()
    return result


def stored(session: Session, partner: str = "acme") -> list[UsageEvent]:
    session.expire_all()
    query = (
        select(UsageEvent).where(col(UsageEvent.partner_id) == partner).order_by(col(UsageEvent.id))
    )
    return list(session.scalars(query))


def test_an_event_is_stored_exactly_as_sent(tenants: Session) -> None:
    body = event(
        "call-1",
        usage_type="voice_minutes",
        quantity=Decimal("12.25"),
        occurred_at="2026-11-20T09:30:00.250000-05:00",
        properties={"from": "+15550100", "duration_s": 735, "score": Decimal("0.875")},
    )
    before = datetime.now(UTC)
    result = send(tenants, [body], received_at=datetime(2026, 11, 21, tzinfo=UTC))
    assert (result.accepted, result.duplicates, result.rejected) == (1, 0, 0)
    [row] = stored(tenants)
    assert row.event_id == "call-1"
    assert (row.partner_id, row.client_id, row.usage_type) == ("acme", "alpha", "voice_minutes")
    assert row.quantity == Decimal("12.25")
    assert row.occurred_at == datetime(2026, 11, 20, 14, 30, 0, 250000, tzinfo=UTC)
    assert row.received_at == datetime(2026, 11, 21, tzinfo=UTC)
    assert row.properties == {"from": "+15550100", "duration_s": 735, "score": 0.875}
    assert row.source == EventSource.API
    assert row.wholesale_cost == 16  # 12.25 x 0.0130 = 0.15925 -> 16 cents
    assert row.currency == "USD"
    assert row.adjusts_id is None
    assert row.id.version == 7
    assert abs((row.id.int >> 80) / 1000 - before.timestamp()) < 60  # ms timestamp of arrival


def test_stored_values_match_what_sqlalchemy_binds(tenants: Session) -> None:
    """The SQLite fast path writes the same text SQLAlchemy's types would, so filters match."""
    when = datetime(2026, 11, 20, 9, 30, 0, 1, tzinfo=UTC)
    send(tenants, [event("e-1", occurred_at=when.isoformat(), quantity="3")], received_at=when)
    [row] = stored(tenants)
    found = tenants.scalars(
        select(UsageEvent).where(
            col(UsageEvent.id) == row.id,
            col(UsageEvent.occurred_at) == when,
            col(UsageEvent.received_at) == when,
            col(UsageEvent.quantity) == Decimal(3),
        )
    ).all()
    assert len(found) == 1
    total = tenants.scalar(select(func.sum(col(UsageEvent.quantity))))
    assert total == Decimal(3)  # summed exactly in SQL (scaled integers)


def test_a_replay_is_a_duplicate_and_changes_nothing(tenants: Session) -> None:
    batch = [event(f"e-{i}", quantity=str(i)) for i in range(5)]
    first = send(tenants, batch)
    before = [(r.id, r.received_at) for r in stored(tenants)]
    again = send(tenants, batch)
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, 0)
    assert [(r.id, r.received_at) for r in stored(tenants)] == before


def test_a_replay_with_another_body_is_a_conflict(tenants: Session) -> None:
    original = event("e-1", quantity="5")
    send(tenants, [original])
    changed = {**original, "quantity": "6"}
    result = send(tenants, [event("e-2"), changed])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 0, 1)
    [conflict] = result.rejections
    assert (conflict.index, conflict.field, conflict.event_id) == (1, "event_id", "e-1")
    assert conflict.reason == "conflict: event_id 'e-1' was already received with a different body"
    assert {r.event_id: r.quantity for r in stored(tenants)} == {"e-1": 5, "e-2": 1}


def test_repeats_inside_one_batch(tenants: Session) -> None:
    same = event("e-1")
    result = send(tenants, [same, dict(same), {**same, "quantity": "2"}])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, 1)
    assert result.rejections[0].index == 2
    assert len(stored(tenants)) == 1


def test_a_batch_mixing_new_replayed_and_conflicting_events(tenants: Session) -> None:
    old = [event(f"old-{i}") for i in range(3)]
    send(tenants, old)
    batch = [event("new-0"), old[0], {**old[1], "quantity": "9"}, event("new-1"), old[2]]
    result = send(tenants, batch)
    assert (result.accepted, result.duplicates, result.rejected) == (2, 2, 1)
    assert [r.index for r in result.rejections] == [2]
    assert len(stored(tenants)) == 5


def test_valid_events_are_kept_when_others_are_rejected(tenants: Session) -> None:
    batch = [
        event("ok-1"),
        event("bad-1", client="nobody"),
        event("ok-2", usage_type="voice_minutes", quantity="1.5"),
        event("bad-2", quantity="-1"),
        event("bad-3", occurred_at="2026-01-01T00:00:00"),
    ]
    result = send(tenants, batch)
    assert (result.accepted, result.rejected) == (2, 3)
    assert [(r.index, r.field) for r in result.rejections] == [
        (1, "client"),
        (3, "quantity"),
        (4, "occurred_at"),
    ]
    assert sorted(r.event_id for r in stored(tenants)) == ["ok-1", "ok-2"]


def test_another_partners_client_is_unknown(tenants: Session) -> None:
    result = send(tenants, [event("e-1", client="gamma")])
    assert result.rejections[0].reason == "unknown client 'gamma'"
    assert stored(tenants) == [] and stored(tenants, "globex") == []


def test_event_ids_are_unique_per_partner_not_globally(tenants: Session) -> None:
    send(tenants, [event("shared")])
    result = send(tenants, [event("shared", client="gamma", quantity="7")], partner="globex")
    assert result.accepted == 1
    assert len(stored(tenants)) == 1 and len(stored(tenants, "globex")) == 1


def test_cost_is_rounded_in_the_partners_currency(session: Session) -> None:
    make_partner(session, "tokyo", currency="JPY")
    result = send(session, [event("e-1", quantity="1000")], partner="tokyo")  # 7.5 JPY
    assert result.accepted == 1
    [row] = stored(session, "tokyo")
    assert (row.wholesale_cost, row.currency) == (8, "JPY")


def test_adjustments_correct_an_original(tenants: Session) -> None:
    send(tenants, [event("call-1", usage_type="voice_minutes", quantity="10")])
    fix = event("call-1-fix", usage_type="voice_minutes", quantity="-2.5", adjusts="call-1")
    result = send(tenants, [fix])
    assert result.accepted == 1
    original, adjustment = stored(tenants)
    assert adjustment.adjusts_id == original.id
    assert adjustment.source == EventSource.ADJUSTMENT
    assert adjustment.quantity == Decimal("-2.5")
    assert adjustment.wholesale_cost == -3
    assert send(tenants, [fix]).duplicates == 1


def test_an_adjustment_may_follow_its_original_in_the_same_batch(tenants: Session) -> None:
    batch = [
        event("e-1", quantity="4", adjusts=None),
        event("e-1-fix", quantity="-1", adjusts="e-1"),
    ]
    result = send(tenants, batch)
    assert (result.accepted, result.rejected) == (2, 0)


@pytest.mark.parametrize(
    ("fix", "reason"),
    [
        (event("f", adjusts="missing", quantity="-1"), "adjusts unknown event 'missing'"),
        (
            event("f", adjusts="e-1", quantity="-1", client="beta"),
            "'e-1' belongs to another client or usage type",
        ),
        (
            event("f", adjusts="e-1", quantity="-1", usage_type="chat_conversations"),
            "'e-1' belongs to another client or usage type",
        ),
        (
            event("f", adjusts="e-1-fix", quantity="-1"),
            "'e-1-fix' is itself an adjustment; adjust the original event",
        ),
    ],
)
def test_an_adjustment_must_reference_an_original_of_the_same_client_and_type(
    tenants: Session, fix: dict[str, Any], reason: str
) -> None:
    send(tenants, [event("e-1", quantity="5")])
    send(tenants, [event("e-1-fix", quantity="-1", adjusts="e-1")])
    result = send(tenants, [event("ok"), fix])
    assert result.accepted == 1
    [problem] = result.rejections
    assert (problem.index, problem.field, problem.reason) == (1, "adjusts", reason)


def test_another_partners_event_cannot_be_adjusted(tenants: Session) -> None:
    send(tenants, [event("theirs", client="gamma")], partner="globex")
    result = send(tenants, [event("mine", quantity="-1", adjusts="theirs")])
    assert result.rejections[0].reason == "adjusts unknown event 'theirs'"


def test_events_cannot_be_updated_or_deleted(tenants: Session, engine: Engine) -> None:
    send(tenants, [event("e-1")])
    for statement in ("UPDATE usage_event SET quantity = 0", "DELETE FROM usage_event"):
        with pytest.raises((IntegrityError, DBAPIError), match="immutable"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(stored(tenants)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="the database re-checks adjustments on PostgreSQL")
def test_postgres_refuses_an_adjustment_of_another_client(tenants: Session, engine: Engine) -> None:
    send(tenants, [event("e-1")])
    [original] = stored(tenants)
    row = {
        "id": "01890000-0000-7000-8000-000000000001",
        "adjusts": str(original.id),
        "at": datetime.now(UTC),
    }
    with pytest.raises(DBAPIError, match="adjustment must correct"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO usage_event (id, partner_id, client_id, usage_type, event_id, quantity,"
                " occurred_at, received_at, source, wholesale_cost, currency, adjusts_id, body_hash)"
                " VALUES (:id, 'acme', 'beta', 'sms', 'x', -1, :at, :at, 'adjustment', 0, 'USD',"
                " :adjusts, 'h')"
            ),
            row,
        )


def test_a_non_adjustment_cannot_be_negative_even_bypassing_the_service(
    tenants: Session, engine: Engine
) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO usage_event (id, partner_id, client_id, usage_type, event_id, quantity,"
                " occurred_at, received_at, source, wholesale_cost, currency, body_hash)"
                " VALUES ('0189000000007000800000000000000a', 'acme', 'alpha', 'sms', 'x', -1,"
                " '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 'api', 0, 'USD', 'h')"
            )
        )


def test_a_reused_catalog_sees_clients_created_later(tenants: Session) -> None:
    from billing.metering import load_catalog
    from billing.tenants import ClientCreate, create_client

    catalog = load_catalog(tenants, "acme")
    assert send(tenants, [event("e-1", client="delta")], catalog=catalog).rejected == 1
    create_client(tenants, "acme", ClientCreate(id="delta", name="Delta"))
    tenants.commit()
    assert send(tenants, [event("e-2", client="delta")], catalog=catalog).accepted == 1


def test_an_archived_client_is_refused_once_its_cached_status_expires(
    tenants: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.metering import ingestion
    from billing.tenants import ClientStatus, ClientUpdate, update_client

    assert send(tenants, [event("e-1")]).accepted == 1
    update_client(tenants, "acme", "alpha", ClientUpdate(status=ClientStatus.ARCHIVED))
    tenants.commit()
    monkeypatch.setattr(ingestion, "_CLIENT_STATUS_TTL_NS", 0)
    result = send(tenants, [event("e-2")])
    assert result.rejections[0].reason == "client 'alpha' is archived"
