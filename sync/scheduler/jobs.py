"""What each scheduled job does, as plain functions of (context, scheduled time).

Every job receives the occurrence's scheduled time as `now`, so a catch-up run after
downtime acts as of the moment it was due, and tests can call a job at any instant. The
work itself lives in the owning packages; `JobContext` holds the callables so tests can
inject fakes and check each is called with the right arguments. Per-partner jobs give every
partner its own transaction and keep going when one partner fails; the run is then recorded
as an error naming the partners that failed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.db import read_scope, session_scope
from sync.readback import pull_payments
from sync.reconcile.service import run_due_reconciliations
from sync.scheduler.repository import auto_approved_invoice_ids

__all__ = [
    "JOB_FUNCTIONS",
    "JobContext",
    "JobError",
    "accrual_job",
    "cycle_close_job",
    "idempotency_prune_job",
    "mail_job",
    "margin_alerts_job",
    "outbox_job",
    "payments_readback_job",
    "reconcile_job",
    "stripe_charges_job",
    "token_refresh_job",
    "webhooks_job",
]

log = logging.getLogger(__name__)

PartnerJob = Callable[[Session, str, datetime], object]
EngineJob = Callable[[Engine, datetime], object]


class JobError(RuntimeError):
    """Some partners (or parts) of a job failed; the others were done."""


def _maybe_await(value: object) -> object:
    if inspect.isawaitable(value):

        async def wait() -> object:
            return await value

        return asyncio.run(wait())
    return value


# default implementations --------------------------------------------------------------------
def _accrue(session: Session, partner_id: str, now: datetime) -> object:
    from billing.pricing.accrual import accrue

    return accrue(session, partner_id, now).entries


def _close(session: Session, partner_id: str, now: datetime) -> int:
    """Drafts every cycle due at `now` (each client's time zone, after the partner's grace
    period: `close_cycles` decides); the number of drafts created."""
    from billing.invoicing.closing import close_cycles

    return len(close_cycles(session, partner_id, now).created)


def _issue_auto_approved(session: Session, partner_id: str, now: datetime) -> int:
    """Issues the drafts closing approved automatically (`approved_by == "auto"`); invoices a
    person approved are left for that person to issue."""
    from billing.invoicing.issuing import issue_invoices

    ids = auto_approved_invoice_ids(session, partner_id)
    if not ids:
        return 0
    return len(issue_invoices(session, partner_id, ids, now=now).invoices)


def _drain_outbox(engine: Engine, now: datetime) -> object:
    from sync.remotes import registry_remote
    from sync.worker import Worker

    return Worker(engine, registry_remote(engine)).run_once()


def _pull_payments(engine: Engine, now: datetime) -> object:
    """`sync.readback.pull_payments(engine, connection_id)` for every active connection;
    one connection failing never stops the others (the run is then an error naming it)."""
    from sync.connections import connection_summaries

    with read_scope(engine) as session:
        found = connection_summaries(session, statuses=("active",))
    # Stripe's payments arrive by webhook and charge; read-back is for accounting tools.
    active = [c.id for c in found if c.provider != "stripe"]
    recorded: dict[str, object] = {}
    failed: dict[str, str] = {}
    for connection_id in active:
        try:
            report = _maybe_await(pull_payments(engine, connection_id))
            recorded[connection_id] = getattr(report, "recorded", report)
        except Exception as exc:
            log.exception("payment read-back failed for connection %s", connection_id)
            failed[connection_id] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise JobError(f"payment read-back failed for {failed}; recorded {recorded}")
    return {"recorded": recorded}


def _refresh_tokens(engine: Engine, now: datetime) -> object:
    from connectors.connections.maintenance import refresh_due_connections

    report = asyncio.run(refresh_due_connections(engine))
    if report.failed:
        raise JobError(f"token refresh failed for {sorted(report.failed)}")
    return f"refreshed {len(report.refreshed)}"


def _charge(engine: Engine, now: datetime) -> object:
    from sync.stripe.charging import charge_due_invoices

    return charge_due_invoices(engine, now=now)


def _margin_alerts(session: Session, partner_id: str, now: datetime) -> object:
    """One e-mail a day at most to the partner's operators about clients whose margin
    eroded, each client and period once (`billing.margins.alerts`)."""
    from billing.margins.alerts import send_alerts
    from config.settings import get_settings

    run = send_alerts(session, partner_id, now, base_url=get_settings().public_url)
    return run.skipped or f"{run.sent} alerted"


def _send_mail(engine: Engine, now: datetime) -> object:
    from billing.documents.backends import mail_backend_from_settings
    from billing.documents.outbox import send_due_emails

    report = send_due_emails(engine, mail_backend_from_settings())
    return f"sent {report.sent}, retrying {report.retrying}, dead {report.dead}"


def _deliver_webhooks(engine: Engine, now: datetime) -> object:
    from billing.webhooks.delivery import deliver_due
    from connectors.connections.crypto import cipher_from_settings

    report = deliver_due(engine, cipher_from_settings())
    return f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}"


def _prune_idempotency(engine: Engine, now: datetime) -> object:
    """Forget `Idempotency-Key` answers older than their 24-hour window (one transaction)."""
    from billing.idempotency.service import prune

    with session_scope(engine) as session:
        return f"pruned {prune(session, now)}"


def _reconcile(engine: Engine, now: datetime) -> object:
    return _maybe_await(run_due_reconciliations(engine, now))


@dataclass
class JobContext:
    """The engine and the work each job does (real by default; tests pass fakes)."""

    engine: Engine
    accrue: PartnerJob = _accrue
    close: PartnerJob = _close
    issue: PartnerJob = _issue_auto_approved
    drain_outbox: EngineJob = _drain_outbox
    pull_payments: EngineJob = _pull_payments
    refresh_tokens: EngineJob = _refresh_tokens
    charge: EngineJob = _charge
    send_mail: EngineJob = _send_mail
    reconcile: EngineJob = _reconcile
    margin_alerts: PartnerJob = _margin_alerts
    prune_idempotency: EngineJob = _prune_idempotency
    deliver_webhooks: EngineJob = _deliver_webhooks

    def partners(self) -> list[Partner]:
        with read_scope(self.engine) as session:
            return TenantRepository(session).partners()


def _each_partner(ctx: JobContext, work: PartnerJob, now: datetime, what: str) -> dict[str, object]:
    results: dict[str, object] = {}
    failed: dict[str, str] = {}
    for partner in ctx.partners():
        try:
            with session_scope(ctx.engine) as session:
                results[partner.id] = work(session, partner.id, now)
        except Exception as exc:  # one partner never stops the others
            log.exception("%s failed for partner %s", what, partner.id)
            failed[partner.id] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise JobError(f"{what} failed for partners {failed}; done for {sorted(results)}")
    return results


# the jobs -----------------------------------------------------------------------------------
def accrual_job(ctx: JobContext, now: datetime) -> object:
    return {"entries": _each_partner(ctx, ctx.accrue, now, "accrual")}


def cycle_close_job(ctx: JobContext, now: datetime) -> object:
    """Close due cycles, issue the auto-approved drafts, then reconcile the partners whose
    cycles closed (the "after each cycle" reconciliation)."""
    created = _each_partner(ctx, ctx.close, now, "cycle close")
    issued = _each_partner(ctx, ctx.issue, now, "issue auto-approved")
    closed = sorted(p for p, n in created.items() if isinstance(n, int) and n > 0)
    reconciled = ctx.reconcile(ctx.engine, now) if closed else None
    return {"drafts": created, "issued": issued, "reconciled": closed, "reconcile": reconciled}


def outbox_job(ctx: JobContext, now: datetime) -> object:
    return ctx.drain_outbox(ctx.engine, now)


def payments_readback_job(ctx: JobContext, now: datetime) -> object:
    return ctx.pull_payments(ctx.engine, now)


def token_refresh_job(ctx: JobContext, now: datetime) -> object:
    return ctx.refresh_tokens(ctx.engine, now)


def stripe_charges_job(ctx: JobContext, now: datetime) -> object:
    return ctx.charge(ctx.engine, now)


def mail_job(ctx: JobContext, now: datetime) -> object:
    return ctx.send_mail(ctx.engine, now)


def margin_alerts_job(ctx: JobContext, now: datetime) -> object:
    """Hourly: each partner from its `margin_alert_hour` (its time zone) on, once a day."""
    return _each_partner(ctx, ctx.margin_alerts, now, "margin alerts")


def webhooks_job(ctx: JobContext, now: datetime) -> object:
    """Every minute: partner webhooks due now (docs/webhooks.md)."""
    return ctx.deliver_webhooks(ctx.engine, now)


def idempotency_prune_job(ctx: JobContext, now: datetime) -> object:
    return ctx.prune_idempotency(ctx.engine, now)


def reconcile_job(ctx: JobContext, now: datetime) -> object:
    """Runs hourly: `run_due_reconciliations` reconciles each partner once a day, from its
    `reconcile_hour` (default 6) in its time zone on, so an hour missed while the scheduler
    was down is made up at the next run."""
    return ctx.reconcile(ctx.engine, now)


JOB_FUNCTIONS: dict[str, Callable[[JobContext, datetime], object]] = {
    "accrual": accrual_job,
    "cycle_close": cycle_close_job,
    "outbox": outbox_job,
    "payments_readback": payments_readback_job,
    "token_refresh": token_refresh_job,
    "stripe_charges": stripe_charges_job,
    "mail": mail_job,
    "reconcile": reconcile_job,
    "margin_alerts": margin_alerts_job,
    "idempotency_prune": idempotency_prune_job,
    "webhooks": webhooks_job,
}
