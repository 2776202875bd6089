"""Running a reconciliation: load our side once, compare with every system, store the run.

Remote listings run one connection at a time (each connector has its own rate budget); a
connection that cannot be read is reported as an error difference instead of failing the run,
so the other systems are still reconciled."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from billing.webhooks import EventType, emit
from config.db import read_scope, write_scope
from config.db_types import utcnow
from connectors.base import AuthExpiredError, ConnectorError, RateLimitedError, RetryableError
from sync.connections import ConnectionSummary, connection_summaries
from sync.handlers import Remote
from sync.reconcile.books_repository import standing_invoices
from sync.reconcile.compare_accounting import (
    compare_accounting,
    list_remote,
    load_side,
    other_numbers,
)
from sync.reconcile.compare_books import (
    compare_ledger,
    compare_usage,
    compare_wholesale,
)
from sync.reconcile.compare_payments import compare_payments
from sync.reconcile.differences import Diff, Tally
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from sync.reconcile.names import load_names
from sync.reconcile.repository import add_differences, add_run, run_started_since

__all__ = ["parse_period", "reconcile", "run_due_reconciliations"]

log = logging.getLogger(__name__)
OpenRemote = Callable[[ConnectionSummary], Remote]
DEFAULT_HOUR = 6


def parse_period(text: str) -> tuple[date, date]:
    """'2026-10' -> (2026-10-01, 2026-11-01)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"period: {text!r} is not YYYY-MM") from exc
    end = date(year + month // 12, month % 12 + 1, 1)
    return start, end


def _unreadable(
    exc: Exception, connection: ConnectionSummary, partner: Partner, period: str
) -> Diff:
    """A system that could not be listed, in words: why, and what the partner can do."""
    name = connection.display_name
    detail = str(exc).replace(f"{connection.provider}:{connection.id}", name)
    detail = detail.replace(connection.id, name)[:300]
    again = f"python main.py reconcile --partner {partner.id} --period {period}"
    if isinstance(exc, AuthExpiredError):
        reason = f"{name} refused Rebill's access (the authorisation expired or was revoked)"
        action = (
            f"Connect it again: python main.py connections connect {connection.provider} "
            f"--partner {partner.id} --name {connection.name}; then run {again}"
        )
    elif isinstance(exc, RateLimitedError):
        reason = f"{name} asked Rebill to slow down (rate limit)"
        action = f"Run the reconciliation again later: {again}"
    elif isinstance(exc, RetryableError | OSError):
        reason = f"{name} could not be reached"
        action = f"Check that {name} is up and reachable, then run {again}"
    elif isinstance(exc, ConnectorError):
        reason = f"{name} refused the request"
        action = f"Check the connection's settings, then run {again}"
    else:
        reason = f"reading {name} failed"
        action = f"Run {again} again; if it keeps failing, report it with the detail shown"
    return Diff(
        "system_unreadable",
        "error",
        f"{connection.provider}:{connection.name}",
        name,
        "invoices to compare",
        f"could not read: {reason} ({detail})",
        0,
        partner.currency,
        action,
        system_name=name,
    )


def reconcile(
    engine: Engine,
    partner_id: str,
    period: str,
    *,
    open_remote: OpenRemote | None = None,
    now: datetime | None = None,
    timings: dict[str, float] | None = None,
) -> int:
    """Reconcile `partner_id`'s `period` and store the run; returns its id."""
    start, end = parse_period(period)
    moment = now or utcnow()
    clock = timings if timings is not None else {}
    tick = time.perf_counter()
    tallies: dict[str, Tally] = {}
    diffs: list[Diff] = []
    with read_scope(engine) as session:
        partner = TenantRepository(session).partner(partner_id)
        if partner is None:
            raise ValueError(f"partner: {partner_id!r} does not exist")
        invoices = standing_invoices(session, partner_id, start, end)
        connections = [
            c
            for c in connection_summaries(session, partner_id=partner_id)
            if c.provider != "stripe" and c.status in ("active", "needs_reauth")
        ]
        names = load_names(session, partner_id, partner.currency)
        sides = {c.id: load_side(session, c.id, invoices) for c in connections}
        others = other_numbers(session, invoices) if connections else frozenset()
        clock["load"] = time.perf_counter() - tick
        tick = time.perf_counter()
        for name, (tally, found) in (
            ("usage", compare_usage(session, invoices, names=names)),
            ("ledger", compare_ledger(session, invoices, names=names)),
            (
                "wholesale",
                compare_wholesale(
                    session, partner_id, period, partner.currency, moment, names=names
                ),
            ),
        ):
            tallies[name] = tally
            diffs.extend(found)
        for name, (tally, found) in compare_payments(
            session, partner_id, invoices, start, end, names=names, currency=partner.currency
        ).items():
            tallies[name] = tally
            diffs.extend(found)
        clock["compare_books"] = time.perf_counter() - tick
    if connections:
        opener = open_remote
        if opener is None:
            from sync.remotes import registry_remote

            opener = registry_remote(engine)
        for connection in connections:
            system = f"{connection.provider}:{connection.name}"
            tick = time.perf_counter()
            try:
                remote = asyncio.run(list_remote(opener(connection).connector, invoices))
            except Exception as exc:  # one system's failure (auth, mapping, HTTP) is reported
                log.warning("reconcile %s: %s unreadable: %s", partner_id, system, exc)
                unreadable = _unreadable(exc, connection, partner, period)
                tallies[system] = Tally(
                    name=connection.display_name, notes=["could not read: nothing compared"]
                )
                diffs.append(unreadable)
                continue
            finally:
                clock["remote_listing"] = (
                    clock.get("remote_listing", 0.0) + time.perf_counter() - tick
                )
            tick = time.perf_counter()
            tallies[system], found = compare_accounting(
                system,
                sides[connection.id],
                invoices,
                remote,
                others,
                system_name=connection.display_name,
                names=names,
            )
            diffs.extend(found)
            clock["compare"] = clock.get("compare", 0.0) + time.perf_counter() - tick
    tick = time.perf_counter()
    run_id = _store(engine, partner_id, period, start, end, tallies, diffs, moment)
    clock["store"] = time.perf_counter() - tick
    return run_id


def _store(
    engine: Engine,
    partner_id: str,
    period: str,
    start: date,
    end: date,
    tallies: dict[str, Tally],
    diffs: list[Diff],
    started: datetime,
) -> int:
    finished = utcnow()
    with write_scope(engine) as session:
        run_id = add_run(
            session,
            ReconcileRun(
                partner_id=partner_id,
                period=period,
                period_start=start,
                period_end=end,
                started_at=started,
                finished_at=finished,
                differences=len(diffs),
                summary={name: tally.as_json() for name, tally in tallies.items()},
            ),
        )
        add_differences(
            session,
            (
                ReconcileDifference(
                    run_id=run_id,
                    kind=d.kind,
                    severity=d.severity,
                    system=d.system[:80],
                    subject=d.subject[:200],
                    ours=d.ours[:500],
                    theirs=d.theirs[:500],
                    amount_minor=d.amount_minor,
                    currency=d.currency,
                    action=d.action[:500],
                    fixable=d.fixable,
                    fix=d.fix,
                    system_name=(d.system_name or d.system)[:200],
                    invoice_id=d.invoice_id,
                    invoice_number=d.invoice_number,
                    client_id=d.client_id,
                    client_name=d.client_name[:200] if d.client_name else None,
                    usage_type=d.usage_type,
                    issue_date=d.issue_date,
                )
                for d in diffs
            ),
        )
        data = {
            "reconciliation_id": str(run_id),
            "period": period,
            "differences": len(diffs),
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
        }
        emit(
            session,
            partner_id,
            EventType.RECONCILIATION_COMPLETED,
            data,
            key=str(run_id),
            now=finished,
        )
    return run_id


def _last_closed_period(local: datetime) -> str:
    first = local.date().replace(day=1)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return f"{previous:%Y-%m}"


def run_due_reconciliations(
    engine: Engine, now: datetime, *, open_remote: OpenRemote | None = None
) -> list[int]:
    """For each partner whose `reconcile_hour` (settings, default 6, partner time zone) has
    come today and that has no run started today (its time zone), reconcile the last closed
    period. Returns the new run ids; one partner's failure is logged, not raised."""
    done: list[int] = []
    with read_scope(engine) as session:
        partners = TenantRepository(session).partners()
    for partner in partners:
        local = now.astimezone(ZoneInfo(partner.timezone))
        hour = int(partner.settings.get("reconcile_hour", DEFAULT_HOUR))
        if local.hour < hour:
            continue
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        with read_scope(engine) as session:
            ran = run_started_since(session, partner.id, midnight)
        if ran is not None:
            continue
        try:
            done.append(
                reconcile(
                    engine, partner.id, _last_closed_period(local), open_remote=open_remote, now=now
                )
            )
        except Exception:
            log.exception("reconciliation of %s failed", partner.id)
    return done
