"""Invoice lookups before a create happen only when an earlier create may have reached the
remote: a first create sends no lookup, and an uncertain one (whatever row sent it, whatever
became of that row's attempt count) is looked up before anything is sent again."""

from __future__ import annotations

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from mappings.references import RefKind, attempted, get_ref
from sync.models import OutboxOp, OutboxRow, OutboxStatus
from sync.repository import retry_rows
from tests.fakes.memory_connector import MemoryRemote
from tests.sync.helpers import CONNECTION, Clock, issue, make_worker, rows


def test_a_first_create_makes_no_lookup_and_leaves_a_marker(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session)
    remote = MemoryRemote()
    assert make_worker(engine, remote).run_once().done == 2
    assert "find_invoices" not in remote.calls
    ids = [str(i.id) for i in invoices]
    assert attempted(session, CONNECTION, ids) == set(ids)
    for invoice in invoices:  # the real reference is separate from the marker
        ref = get_ref(session, CONNECTION, RefKind.INVOICE, str(invoice.id))
        assert ref is not None and ref.remote_id


def test_after_an_uncertain_create_the_next_attempt_looks_up_and_does_not_resend(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "uncertain")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    worker.run_once()
    assert remote.calls.count("find_invoices") == 0
    clock.advance(3600)
    assert worker.run_once().done == 2
    assert remote.calls.count("find_invoices") == 1
    assert remote.calls.count("push_invoices") == 1
    for invoice in invoices:
        assert len(remote.invoices_by_number(str(invoice.number))) == 1


def test_the_marker_protects_even_when_the_attempts_were_reset(
    engine: Engine, session: Session
) -> None:
    """A row given up on and re-queued by an operator starts again at attempt 1: only the
    marker tells that its earlier create may have reached the remote."""
    invoices = issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "uncertain")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    worker.run_once()
    session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.op) == OutboxOp.INVOICE_PUSH)
        .values(status=OutboxStatus.DEAD)
    )
    session.commit()
    assert retry_rows(session, clock.now, connection_id=CONNECTION) == 2
    session.commit()
    assert all(r.attempts == 0 for r in rows(session) if r.op is OutboxOp.INVOICE_PUSH)
    assert worker.run_once().done == 2
    assert remote.calls.count("find_invoices") == 1
    assert remote.calls.count("push_invoices") == 1
    for invoice in invoices:
        assert len(remote.invoices_by_number(str(invoice.number))) == 1
