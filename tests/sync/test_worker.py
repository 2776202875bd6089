"""The outbox and the worker against the in-memory connector: order, retries, dead letters,
paused connections, uncertain outcomes, racing workers and random failures."""

from __future__ import annotations

import random
import threading

from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.credits import create_credit_note
from billing.invoicing.service import void_invoice
from mappings.references import RefKind, get_ref
from sync.handlers import Remote
from sync.models import OutboxOp, OutboxStatus
from sync.repository import retry_rows
from sync.service import fan_out
from tests.fakes.memory_connector import MemoryRemote
from tests.sync.helpers import CONNECTION, Clock, issue, make_worker, rows, set_connection


def test_an_issued_invoice_reaches_the_remote_with_customer_and_items_first(
    engine: Engine, session: Session
) -> None:
    [c1, c2] = sorted(issue(session), key=lambda i: i.client_id)
    remote = MemoryRemote()
    stats = make_worker(engine, remote).run_once()
    assert stats.done == 2 and stats.dead == 0
    assert remote.calls[:3] == ["upsert_customers", "ensure_items", "push_invoices"]
    assert "find_invoices" not in remote.calls  # a first create needs no lookup
    for ours in (c1, c2):
        [theirs] = remote.invoices_by_number(str(ours.number))
        assert theirs["total"] == ours.total_minor
    assert c1.total_minor == 2000 + 1235 + 324  # base + 123.45 min x 0.10 + VAT 10%
    assert set(remote.customers) == {"c1", "c2"}
    ref = get_ref(session, CONNECTION, RefKind.INVOICE, str(c1.id))
    assert ref is not None and ref.remote_number == c1.number and ref.sent_hash
    assert all(r.status is OutboxStatus.DONE for r in rows(session))
    # Nothing more to do, and a second fan-out adds nothing.
    assert make_worker(engine, remote).run_once().claimed == 0


def test_a_void_after_the_issue_follows_in_order(engine: Engine, session: Session) -> None:
    [invoice, _] = issue(session)
    void_invoice(session, "acme", str(invoice.number), "wrong client")
    session.commit()
    remote = MemoryRemote()
    make_worker(engine, remote).run_once()
    [theirs] = remote.invoices_by_number(str(invoice.number))
    assert theirs["void"] is True
    ops = [(r.op, r.status) for r in rows(session) if r.our_id == str(invoice.id)]
    assert ops == [
        (OutboxOp.INVOICE_PUSH, OutboxStatus.DONE),
        (OutboxOp.INVOICE_VOID, OutboxStatus.DONE),
    ]
    assert remote.calls.index("void_invoice") > remote.calls.index("push_invoices")


def test_a_credit_note_follows_its_invoice(engine: Engine, session: Session) -> None:
    [invoice, _] = sorted(issue(session), key=lambda i: i.client_id)
    credit = create_credit_note(session, "acme", str(invoice.number), "goodwill", documents=False)
    session.commit()
    remote = MemoryRemote()
    make_worker(engine, remote).run_once()
    [note] = remote.credit_notes
    assert note["total"] == credit.note.total_minor == invoice.total_minor
    assert all(r.status is OutboxStatus.DONE for r in rows(session))


def test_a_client_change_upserts_the_customer(engine: Engine, session: Session) -> None:
    from billing.tenants import ClientUpdate, update_client

    issue(session)
    remote = MemoryRemote()
    make_worker(engine, remote).run_once()
    update_client(session, "acme", "c1", ClientUpdate(name="Client One Ltd"))
    session.commit()
    make_worker(engine, remote).run_once()
    assert remote.customers["c1"]["name"] == "Client One Ltd"
    [upsert] = [r for r in rows(session) if r.op is OutboxOp.CUSTOMER_UPSERT]
    assert upsert.status is OutboxStatus.DONE


def test_retry_with_backoff_then_success(engine: Engine, session: Session) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "retryable")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    worker.run_once()
    pushed = [r for r in rows(session) if r.op is OutboxOp.INVOICE_PUSH]
    assert {r.status for r in pushed} == {OutboxStatus.PENDING}
    assert all(r.attempts == 1 and r.next_attempt_at > clock.now for r in pushed)
    assert all("503" in (r.last_error or "") and r.last_outcome == "retryable" for r in pushed)
    assert worker.run_once().claimed == 0  # not before the backoff
    clock.advance(3)
    assert worker.run_once().done == 2
    assert len(remote.invoices) == 2


def test_rate_limited_waits_for_retry_after(engine: Engine, session: Session) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "rate_limited")
    clock = Clock()
    make_worker(engine, remote, clock).run_once()
    for row in rows(session):
        if row.op is OutboxOp.INVOICE_PUSH:
            assert (row.next_attempt_at - clock.now).total_seconds() >= 30


def test_rejected_goes_dead_with_the_remote_words_and_can_be_retried(
    engine: Engine, session: Session
) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "rejected")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    stats = worker.run_once()
    assert stats.dead == 2
    dead = [r for r in rows(session) if r.status is OutboxStatus.DEAD]
    assert len(dead) == 2
    assert "Line[0].AccountCode: Account code 999 is not a valid code" in (dead[0].last_error or "")
    assert "memory (conn-1)" in (dead[0].last_error or "")
    assert retry_rows(session, clock.now, row_ids=[dead[0].id or 0]) == 1
    session.commit()
    assert worker.run_once().done == 1
    assert retry_rows(session, clock.now, connection_id=CONNECTION) == 1
    session.commit()
    worker.run_once()
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        r.last_error for r in rows(session)
    ]
    assert len(remote.invoices) == 2


def test_auth_expired_pauses_without_counting_then_resumes(
    engine: Engine, session: Session
) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("upsert_customers", "auth_expired")
    worker = make_worker(engine, remote)
    stats = worker.run_once()
    assert stats.paused == 2 and not remote.invoices
    assert all(r.status is OutboxStatus.PAUSED and r.attempts == 0 for r in rows(session))
    assert worker.run_once().claimed == 0  # stays paused until re-authorised
    set_connection(session, "needs_reauth")
    assert worker.run_once().claimed == 0
    set_connection(session, "active", later=2)
    assert worker.run_once().done == 2
    assert len(remote.invoices) == 2


def test_a_connection_needing_reauth_pauses_new_rows(engine: Engine, session: Session) -> None:
    issue(session)
    set_connection(session, "needs_reauth")
    remote = MemoryRemote()
    make_worker(engine, remote).run_once()
    assert {r.status for r in rows(session)} == {OutboxStatus.PAUSED} and not remote.calls


def test_an_uncertain_timeout_after_the_remote_committed_makes_no_duplicate(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "uncertain")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    worker.run_once()
    assert len(remote.invoices) == 2  # the remote has them, we did not hear back
    assert all(
        r.status is OutboxStatus.PENDING for r in rows(session) if r.op is OutboxOp.INVOICE_PUSH
    )
    clock.advance(10)
    assert worker.run_once().done == 2
    for invoice in invoices:
        assert len(remote.invoices_by_number(str(invoice.number))) == 1
    assert remote.calls.count("push_invoices") == 1  # found by number, never pushed again


def test_after_the_last_attempt_the_row_is_dead(engine: Engine, session: Session) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("upsert_customers", "retryable", count=3)
    clock = Clock()
    worker = make_worker(engine, remote, clock, max_attempts=3)
    for _ in range(3):
        worker.run_once()
        clock.advance(3600)
    assert {r.status for r in rows(session)} == {OutboxStatus.DEAD}
    assert all(r.attempts == 3 for r in rows(session))


def test_fan_out_is_idempotent_and_ignores_events_before_the_connection(
    engine: Engine, session: Session
) -> None:
    issue(session)
    fan_out(session)
    fan_out(session)
    session.commit()
    ops = sorted(r.op for r in rows(session))
    # Clients were created before the connection: no customer.upsert rows for them.
    assert ops == [OutboxOp.INVOICE_PUSH, OutboxOp.INVOICE_PUSH]


def test_two_workers_never_process_the_same_row_twice(engine: Engine, session: Session) -> None:
    invoices = issue(session, clients=24)
    remote = MemoryRemote()
    with engine.begin():
        pass
    fan_out(session)
    session.commit()
    workers = [
        make_worker(engine, remote, batch_size=3, max_batch=2, fan_out_first=False)
        for _ in range(2)
    ]
    stats = [None, None]

    def run(index: int) -> None:
        stats[index] = workers[index].run_once()  # type: ignore[call-overload]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(s.done for s in stats if s) == len(invoices), [  # type: ignore[attr-defined]
        (r.status, r.last_error) for r in rows(session) if r.status is not OutboxStatus.DONE
    ]
    assert all(s and s.claimed > 0 for s in stats)  # type: ignore[attr-defined]
    for invoice in invoices:
        [theirs] = remote.invoices_by_number(str(invoice.number))
        assert theirs["total"] == invoice.total_minor
    assert sum(len(k) for k in remote.replies if "invoice.push" in k) >= 0
    pushed_keys = [k for k in remote.replies if "invoice.push" in k]
    assert len(pushed_keys) == len(invoices)  # each row pushed by one worker, once


def test_with_30_percent_of_calls_failing_the_sync_converges(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session, clients=20)
    remote = MemoryRemote(failure_rate=0.3, rng=random.Random(2026))
    clock = Clock()
    worker = make_worker(engine, remote, clock, max_attempts=100, rng=random.Random(1), max_batch=4)
    for _ in range(200):
        worker.run_once()
        if all(r.status is OutboxStatus.DONE for r in rows(session)):
            break
        clock.advance(3600)
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        (r.op, r.status, r.attempts, r.last_error)
        for r in rows(session)
        if r.status is not OutboxStatus.DONE
    ]
    for invoice in invoices:
        [theirs] = remote.invoices_by_number(str(invoice.number))
        assert theirs["total"] == invoice.total_minor
    assert len(remote.invoices) == len(invoices)


def test_a_mapping_mistake_is_dead_with_the_setting_named(engine: Engine, session: Session) -> None:
    from mappings.base import MappingError
    from sync.worker import Worker

    issue(session)

    def open_remote(connection: object) -> Remote:
        raise MappingError("default_income_account", "required")

    stats = Worker(engine, open_remote).run_once()
    assert stats.dead == 2
    assert all("default_income_account: required" in (r.last_error or "") for r in rows(session))


def test_a_row_whose_workers_keep_dying_goes_dead(engine: Engine, session: Session) -> None:
    from sync.repository import claim_due, start_rows

    issue(session)
    clock = Clock()
    fan_out(session, now=clock.now)
    session.commit()
    for _ in range(3):  # three workers start on the rows and die (their leases run out)
        claimed = claim_due(session, "doomed", now=clock.now, max_attempts=3)
        assert claimed
        start_rows(session, [r.id or 0 for r in claimed], "doomed", clock.now)
        session.commit()
        clock.advance(600)
    assert claim_due(session, "next", now=clock.now, max_attempts=3) == []
    session.commit()
    assert {r.status for r in rows(session)} == {OutboxStatus.DEAD}
    assert "worker stopped" in (rows(session)[0].last_error or "")


def test_a_worker_dying_before_it_starts_on_a_row_does_not_charge_it(
    engine: Engine, session: Session
) -> None:
    from sync.repository import claim_due

    issue(session)
    clock = Clock()
    fan_out(session, now=clock.now)
    session.commit()
    for _ in range(5):  # claimed and lost five times, never sent anywhere
        assert claim_due(session, "doomed", now=clock.now, max_attempts=3)
        session.commit()
        clock.advance(600)
    assert claim_due(session, "next", now=clock.now, max_attempts=3)
    session.commit()
    assert {r.attempts for r in rows(session)} == {0}


def test_a_void_waits_behind_a_dead_push_until_it_is_retried(
    engine: Engine, session: Session
) -> None:
    [invoice, _] = issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "rejected")
    clock = Clock()
    worker = make_worker(engine, remote, clock)
    worker.run_once()
    void_invoice(session, "acme", str(invoice.number), "wrong client")
    session.commit()
    worker.run_once()
    mine = [r for r in rows(session) if r.our_id == str(invoice.id)]
    assert [(r.op, r.status) for r in mine] == [
        (OutboxOp.INVOICE_PUSH, OutboxStatus.DEAD),
        (OutboxOp.INVOICE_VOID, OutboxStatus.PENDING),
    ]
    retry_rows(session, clock.now, row_ids=[mine[0].id or 0])
    session.commit()
    worker.run_once()
    [theirs] = remote.invoices_by_number(str(invoice.number))
    assert theirs["void"] is True
    assert {r.status for r in rows(session) if r.our_id == str(invoice.id)} == {OutboxStatus.DONE}
