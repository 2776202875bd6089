"""The rules of `billing.idempotency.service`, without HTTP: fingerprints, leases, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from billing.idempotency import service
from billing.idempotency.repository import IdempotencyRepository
from config.db import session_scope
from tests.billing.factories import make_partner

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REQUEST = service.fingerprint("post", "/v1/clients", b'{"id": "zeta"}')

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@given(json_values)
def test_a_body_serialised_any_way_is_the_same_request(value: object) -> None:
    """Key order and white space never make two requests differ; any other change does."""
    compact = json.dumps(value, separators=(",", ":")).encode()
    spaced = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True).encode()
    assert service.fingerprint("POST", "/p", compact) == service.fingerprint("POST", "/p", spaced)
    changed = json.dumps([value]).encode()
    assert service.fingerprint("POST", "/p", compact) != service.fingerprint("POST", "/p", changed)


def _begin(engine: Engine, now: datetime, key: str = "k") -> service.Outcome:
    with session_scope(engine) as session:
        return service.begin(session, "acme", key, REQUEST, now)


def test_a_claim_without_an_answer_is_taken_over_after_the_lease(
    engine: Engine, session: Session
) -> None:
    """A request whose process died holds its key until the lease ends; then a retry runs,
    and the dead request, were it alive after all, could keep neither answer nor work."""
    make_partner(session, "acme")
    session.commit()
    first = _begin(engine, T0)
    assert isinstance(first, service.Claimed)
    assert isinstance(_begin(engine, T0 + service.LEASE - timedelta(seconds=1)), service.InProgress)
    second = _begin(engine, T0 + service.LEASE)
    assert isinstance(second, service.Claimed) and second.claim != first.claim
    with session_scope(engine) as db:
        assert not service.finish(db, "acme", "k", first.claim, 201, "{}")
        service.release(db, "acme", "k", first.claim)  # no effect: not its key any more
        assert service.finish(db, "acme", "k", second.claim, 201, '{"id":"zeta"}')
    replay = _begin(engine, T0 + service.LEASE)
    assert replay == service.Replay(201, '{"id":"zeta"}', False)


def test_keys_are_pruned_after_the_window(engine: Engine, session: Session) -> None:
    make_partner(session, "acme")
    session.commit()
    assert isinstance(_begin(engine, T0, "old"), service.Claimed)
    assert isinstance(_begin(engine, T0 + timedelta(hours=1), "new"), service.Claimed)
    with session_scope(engine) as db:
        assert service.prune(db, T0 + service.WINDOW) == 0
        assert service.prune(db, T0 + service.WINDOW + timedelta(seconds=1)) == 1
    with Session(engine) as db:
        repo = IdempotencyRepository(db)
        assert repo.find("acme", "old") is None and repo.find("acme", "new") is not None


def test_the_scheduler_prunes_old_keys(engine: Engine, session: Session) -> None:
    from sync.scheduler.jobs import JobContext
    from sync.scheduler.service import fire

    make_partner(session, "acme")
    session.commit()
    assert isinstance(_begin(engine, T0, "old"), service.Claimed)
    outcome = fire(JobContext(engine), "idempotency_prune", T0 + timedelta(days=2))
    assert outcome.ran and outcome.message is not None and "pruned 1" in outcome.message
    with Session(engine) as db:
        assert IdempotencyRepository(db).count("acme") == 0
