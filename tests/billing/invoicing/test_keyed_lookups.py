"""Invoicing's reads keyed by lists of client or invoice ids (array joins on PostgreSQL, IN
lists on SQLite) find exactly the rows asked for, across chunk boundaries and with repeats."""

from __future__ import annotations

from sqlmodel import Session

from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.rows import ARRAY_CHUNK, CHUNK
from tests.billing.invoicing.builders import SIMPLE, close_and_issue, last_month, setup_partner


def test_lookups_by_long_lists_of_ids_return_each_row_once(session: Session) -> None:
    setup_partner(session, SIMPLE)
    issued = close_and_issue(session, last_month())
    assert sorted(i.client_id for i in issued) == ["c1", "c2"]
    ids = sorted(i.invoice_id for i in issued)
    # Unknown ids either side of every chunk boundary (CHUNK on SQLite, ARRAY_CHUNK on
    # PostgreSQL), the real ones at both ends and repeated: a join on an array would
    # otherwise return a row once per copy.
    padding = list(range(10**9, 10**9 + ARRAY_CHUNK + CHUNK + 1))
    invoice_ids = [ids[0], *padding, ids[1], ids[0], ids[1]]
    client_ids = ["c1", *(f"x{n}" for n in padding), "c2", "c1"]
    repo = InvoiceRepository(session)

    assert [i.invoice_id for i in repo.invoices_by_id("acme", invoice_ids)] == ids
    assert repo.invoices_by_id("globex", invoice_ids) == []
    lines = repo.line_figures(invoice_ids)
    assert {i: v for i, v in lines.items() if v} == {i: repo.line_figures([i])[i] for i in ids}
    assert all(lines[i] for i in ids)
    usage = repo.usage_figures(invoice_ids)
    assert sum(len(rows) for rows in usage.values()) == sum(
        len(repo.usage_figures([i])[i]) for i in ids
    )
    periods = repo.closed_periods("acme", client_ids)
    assert periods == {"c1": {last_month()}, "c2": {last_month()}}
    billed = repo.billed_fixed("acme", client_ids)
    assert billed == repo.billed_fixed("acme", ["c1", "c2"])
    assert billed  # the base fees
    assert len(repo.issued_since("acme", client_ids, issued[0].period_start_at)) == 2
