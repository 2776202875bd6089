"""Fan-out and the cursor: nothing is lost to a transaction that commits late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlmodel import Session

from billing.invoicing.events import event_row
from billing.invoicing.models import BillingEvent, BillingEventKind
from sync.models import SyncCursor
from sync.service import fan_out
from tests.billing.invoicing.builders import SIMPLE
from tests.conftest import ON_POSTGRES
from tests.sync.helpers import CONNECTION, connect, rows, setup_partner


def _event(client: str) -> dict[str, Any]:
    return event_row("acme", BillingEventKind.CLIENT_CHANGED, "client", client, {"client": client})


@pytest.mark.skipif(not ON_POSTGRES, reason="ids commit out of order only on PostgreSQL")
def test_an_event_committed_after_a_newer_one_is_not_skipped(
    engine: Engine, session: Session
) -> None:
    setup_partner(session, SIMPLE)
    connect(session)
    table: Any = BillingEvent.__table__  # type: ignore[attr-defined]
    late = engine.connect()
    late_tx = late.begin()
    late.execute(insert(table).values(_event("c1")))  # smaller id, not committed yet
    with engine.begin() as conn:
        conn.execute(insert(table).values(_event("c2")))  # larger id, committed
    fan_out(session, settle=timedelta(0))
    session.commit()
    assert [r.our_id for r in rows(session)] == ["c2"]
    late_tx.commit()
    late.close()
    fan_out(session, settle=timedelta(0))
    session.commit()
    assert sorted(r.our_id for r in rows(session)) == ["c1", "c2"]


def test_the_cursor_follows_settled_events(engine: Engine, session: Session) -> None:
    setup_partner(session, SIMPLE)
    connect(session)
    table: Any = BillingEvent.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(insert(table).values(_event("c1")))
    fan_out(session, settle=timedelta(0))
    session.commit()
    cursor = session.get(SyncCursor, CONNECTION)
    assert cursor is not None and cursor.last_event_id > 0
    assert [r.our_id for r in rows(session)] == ["c1"]
