"""Numbers: the partner's prefix and a zero-padded counter, no gaps, no duplicates, also when two
processes issue at the same moment (on PostgreSQL their transactions really overlap and queue on
the sequence row; on SQLite the writers take turns)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import format_number
from billing.invoicing.models import Invoice
from billing.invoicing.service import approve_invoices
from tests.billing.invoicing.builders import SIMPLE, last_month, month_text, setup_partner

CLIENTS = 30


def test_number_format() -> None:
    assert format_number("ACME-", 42) == "ACME-000042"
    assert format_number("ACME", 7) == "ACME-000007"
    assert format_number("", 1_234_567) == "1234567"


def _issue_each(ids: list[int], start: Barrier, results: Any) -> None:
    """In a fresh process: one transaction per invoice, as concurrent API calls would."""
    from billing.invoicing.issuing import issue_invoice
    from config.db import session_scope

    start.wait(timeout=300)
    numbers = []
    for invoice_id in ids:
        with session_scope() as session:
            numbers.append(issue_invoice(session, "acme", invoice_id, documents=False).number)
    results.put(numbers)


@pytest.mark.slow
def test_two_processes_issuing_at_once_get_contiguous_unique_numbers(session: Session) -> None:
    extra = "".join(
        f'\n[clients.k{i:02d}]\nname = "K{i}"\nemail = "k{i}@example.com"\nplan = "std"\n'
        for i in range(CLIENTS - 2)
    )
    setup_partner(session, SIMPLE + extra)
    created = close_cycles(session, "acme", period=month_text(last_month())).created
    approve_invoices(session, "acme", by="test")
    session.commit()
    assert len(created) == CLIENTS
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_issue_each, args=(created[offset::2], start, results))
        for offset in (0, 1)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    issued = sorted(n for numbers in outcomes for n in numbers)
    assert issued == [format_number("ACME-", n) for n in range(1, CLIENTS + 1)]
    session.expire_all()
    stored = session.scalars(select(col(Invoice.number)).order_by(col(Invoice.number))).all()
    assert list(stored) == issued


def _close(month: str, start: Barrier, results: Any) -> None:
    from billing.invoicing.closing import close_cycles
    from config.db import session_scope

    start.wait(timeout=300)
    with session_scope() as session:
        results.put(len(close_cycles(session, "acme", period=month).created))


@pytest.mark.slow
def test_two_processes_closing_the_same_cycle_create_each_draft_once(session: Session) -> None:
    extra = "".join(
        f'\n[clients.k{i:02d}]\nname = "K{i}"\nemail = "k{i}@example.com"\nplan = "std"\n'
        for i in range(CLIENTS - 2)
    )
    setup_partner(session, SIMPLE + extra)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    month = month_text(last_month())
    workers = [context.Process(target=_close, args=(month, start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    created = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    assert sum(created) == CLIENTS
    session.expire_all()
    assert len(session.scalars(select(Invoice)).all()) == CLIENTS
