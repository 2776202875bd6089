"""Safe fixes of a stored run, dry run by default.

- `repush`: the invoice is missing in the accounting system. Its stale external reference is
  dropped and its `invoice.push` outbox row goes back to pending (the worker pushes it, looking
  it up by number first, so a copy that reappeared is adopted rather than duplicated); with no
  row at all, `sync.service.backfill` creates one.
- `pull_payment`: a payment recorded only there: `sync.readback.pull_payments` since the
  invoice's issue date.
A connection that is no longer connected (disconnected, or waiting for consent) is not acted
on: the fix says to connect it again first. Systems are named as people call them.
Nothing that changes an issued invoice or the books is ever done here."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from config.db import read_scope, session_scope
from config.db_types import utcnow
from sync.connections import FANNED_OUT_STATUSES, ConnectionSummary, connection_summaries
from sync.handlers import Remote
from sync.readback import pull_payments
from sync.reconcile.books_repository import invoice_by_id
from sync.reconcile.repository import (
    differences_of,
    forget_invoice_ref,
    get_run,
    mark_difference_fixed,
)
from sync.repository import requeue_invoice_push

__all__ = ["FixOutcome", "apply_fixes"]

OpenRemote = Callable[[ConnectionSummary], Remote]


@dataclass(frozen=True, slots=True)
class FixOutcome:
    difference_id: int
    action: str
    message: str
    applied: bool


def _connection(session: Session, connection_id: str) -> tuple[str, str | None]:
    """The connection's name for people, and why it cannot be acted on (None: it can)."""
    found = connection_summaries(session, connection_ids=[connection_id])
    if not found:
        return f"connection {connection_id}", "it no longer exists: skipped"
    connection = found[0]
    if connection.status not in FANNED_OUT_STATUSES:
        status = connection.status.replace("_", " ")
        return connection.display_name, (
            f"it is {status}: connect it again first (python main.py connections connect "
            f"{connection.provider} --partner {connection.partner_id} --name {connection.name})"
        )
    return connection.display_name, None


def _repush(session: Session, fix: dict[str, Any], *, apply: bool) -> tuple[str, bool]:
    connection_id, invoice_id = str(fix["connection_id"]), int(fix["invoice_id"])
    invoice = invoice_by_id(session, invoice_id)
    if invoice is None:
        return f"invoice {invoice_id} no longer exists: skipped", False
    name, refused = _connection(session, connection_id)
    label = f"re-push invoice {invoice.number} to {name}"
    if refused is not None:
        return f"cannot {label}: {refused}", False
    if not apply:
        return f"would {label}", False
    now = utcnow()
    forget_invoice_ref(session, connection_id, invoice_id)
    if requeue_invoice_push(session, connection_id, str(invoice_id), now):
        return f"{label}: queued", True
    from sync.service import backfill

    [connection] = connection_summaries(session, connection_ids=[connection_id])
    issued = invoice.issue_date or invoice.period_start
    added = backfill(session, connection, issued, now=now)
    return f"{label}: {added} outbox row(s) added by backfill", added > 0


def _pull_payment(
    engine: Engine, fix: dict[str, Any], *, apply: bool, open_remote: OpenRemote | None
) -> tuple[str, bool]:
    connection_id = str(fix["connection_id"])
    with read_scope(engine) as session:
        name, refused = _connection(session, connection_id)
    if refused is not None:
        return f"cannot pull payments from {name}: {refused}", False
    if not apply:
        return f"would pull payments from {name}", False
    with read_scope(engine) as session:
        invoice = invoice_by_id(session, int(fix["invoice_id"]))
        since = invoice.issue_date if invoice is not None else None
    try:
        report = pull_payments(engine, connection_id, since, open_remote=open_remote)
    except Exception as exc:  # the remote or the read-back refused: say so, fix nothing
        return f"pulling payments from {name} failed: {exc}", False
    recorded = report.recorded
    if not recorded:
        return f"pulled payments from {name}: nothing new to record ({report})", False
    return f"pulled payments from {name}: {recorded} recorded", True


def apply_fixes(
    engine: Engine,
    run_id: int,
    *,
    apply: bool = False,
    open_remote: OpenRemote | None = None,
    only: Collection[int] | None = None,
) -> list[FixOutcome]:
    """Each fixable, not yet fixed difference of the run (or of `only` those differences):
    what would be (or was) done."""
    outcomes: list[FixOutcome] = []
    with read_scope(engine) as session:
        if get_run(session, run_id) is None:
            raise ValueError(f"run: reconciliation {run_id} does not exist")
        stored = differences_of(session, run_id)
        if only is not None:
            unknown = sorted(set(only) - {d.id for d in stored})
            if unknown:
                raise ValueError(
                    f"difference: {', '.join(map(str, unknown))} not in reconciliation {run_id}"
                )
        todo = [
            d for d in stored if d.fixable and d.fixed_at is None and (only is None or d.id in only)
        ]
    pulled: set[str] = set()
    for diff in todo:
        fix = dict(diff.fix or {})
        action = str(fix.get("action"))
        with session_scope(engine) as session:
            if action == "repush":
                message, done = _repush(session, fix, apply=apply)
            elif action == "pull_payment":
                if fix.get("connection_id") in pulled:
                    message, done = "payments of this connection already pulled", True
                else:
                    message, done = _pull_payment(engine, fix, apply=apply, open_remote=open_remote)
                    if done:
                        pulled.add(str(fix.get("connection_id")))
            else:
                message, done = f"unknown fix {action!r}: skipped", False
            if done:
                assert diff.id is not None
                mark_difference_fixed(session, diff.id, utcnow())
        assert diff.id is not None
        outcomes.append(FixOutcome(diff.id, action, message, done))
    return outcomes
