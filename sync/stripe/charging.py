"""Charging auto-charge invoices and dunning: `charge_due_invoices` is the one entry point
(the sync worker calls it on `invoice.issued`; the scheduler and `python main.py stripe
charge-due` call it periodically: it finds its own work, so a missed event is never lost).

Why an off-session PaymentIntent and not a Stripe Invoice: our invoice is the legal document
(numbered, taxed, frozen, in the books and in the accounting tools); a Stripe Invoice would be
a second invoice with its own numbering, tax and rounding that must agree to the cent and be
kept from e-mailing the client twice. A PaymentIntent charges exactly our amount due, carries
our invoice id in its metadata, and leaves retries (the partner's schedule) to us.

Charge rows are items of the work queue (`workqueue`, docs/work-queue.md): each goes through
three short steps so that no database lock is held while Stripe is called (on SQLite that lock
would stop every writer):
1. claim (the queue leases it: `processing` until `next_attempt_at`, committed);
2. call Stripe (`attempt.attempt_charge`), outside any transaction;
3. record the outcome, the payment (ledger, invoice) and the e-mails in one transaction.
A worker that dies between 1 and 3 leaves the row claimed until the lease lapses; the next
run repeats the same attempt with the same idempotency key, so Stripe replays its answer.
A decline waits for the partner's dunning schedule (days after the first failure, a business
rule, not a backoff); after the last one the charge is `failed`, the queue's dead state.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.tenants.repository import TenantRepository
from billing.webhooks import EventType, emit
from billing.webhooks.events import payment_failed_data
from config.db import SessionSource, session_factory
from config.db_types import utcnow
from connectors.stripe import StripeGateway
from sync.stripe import repository as stripe_repo
from sync.stripe.accounts import GatewayFactory, dunning_days, gateway_for
from sync.stripe.attempt import Attempt, ChargeRequest, attempt_charge
from sync.stripe.models import ChargeStatus, StripeAccount, StripeCharge
from sync.stripe.notify import (
    alert_partner,
    client_notice,
    partner_notice,
    partner_recipients,
    queue_notice,
)
from sync.stripe.payments import PaymentFacts, record_stripe_payment
from workqueue import QueueTable, RetryPolicy, table_of
from workqueue import repository as queue

__all__ = [
    "CHARGE_QUEUE",
    "CLAIM_LEASE",
    "ChargeReport",
    "SessionSource",
    "charge_due_invoices",
    "enqueue_charges",
]

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)
REPEAT_AFTER = timedelta(minutes=5)
AUTH_RETRY = timedelta(hours=1)
_CHARGEABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
CHARGE_QUEUE = QueueTable(
    kind="stripe_charge",
    table=table_of(StripeCharge),
    waiting=(ChargeStatus.PENDING, ChargeStatus.RETRY_SCHEDULED),
    leased=ChargeStatus.PROCESSING,
    dead=ChargeStatus.FAILED,
    lease=CLAIM_LEASE,
    updated_column="updated_at",
)
"""The lease ends at `next_attempt_at`; attempts count outcomes Stripe gave (see StripeCharge),
so the claim does not count one."""
_REPEAT = {
    "repeat": RetryPolicy(steps=(REPEAT_AFTER,), jitter_low=1.0, jitter_high=1.0),
    "auth": RetryPolicy(steps=(AUTH_RETRY,), jitter_low=1.0, jitter_high=1.0),
}
"""The same attempt again after an unknown outcome or a key Stripe refused: a fixed wait (the
idempotency key makes a repeat harmless), never sooner than Stripe's Retry-After."""


@dataclass(slots=True)
class ChargeReport:
    queued: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = [f"queued {self.queued}"] + [f"{k} {v}" for k, v in sorted(self.outcomes.items())]
        return ", ".join(parts)


def enqueue_charges(session: Session, now: datetime) -> int:
    """One charge row per issued, unpaid auto-charge invoice of a partner with a Stripe
    account, issued since the account was connected (older invoices were never promised to
    be charged), unless the client's auto-charge is paused. Caller commits."""
    InvoiceRepository(session).claim_sqlite_writer()  # read-then-write: lock first on SQLite
    added = 0
    for invoice, account_id in stripe_repo.invoices_to_charge(session, _CHARGEABLE):
        if invoice.amount_due_minor <= 0:
            continue
        charge = StripeCharge(
            partner_id=invoice.partner_id,
            invoice_id=invoice.invoice_id,
            account_id=account_id,
            currency=invoice.currency,
            amount_minor=invoice.amount_due_minor,
            next_attempt_at=now,
        )
        if queue.enqueue(session, charge):  # False: another scheduler queued it first
            added += 1
    return added


def _due_ids(sessions: Callable[[], Session], now: datetime, limit: int) -> list[int]:
    with sessions() as session:
        return queue.due_ids(session, CHARGE_QUEUE, now, limit=limit)


def _claim(
    sessions: Callable[[], Session], row_id: int, now: datetime
) -> tuple[ChargeRequest, StripeAccount] | None:
    with sessions() as session, session.begin():
        if not queue.claim(session, CHARGE_QUEUE, now, ids=[row_id], limit=1):
            return None
        row = stripe_repo.charge(session, row_id)
        assert row is not None
        invoice = stripe_repo.invoice(session, row.invoice_id)
        account = stripe_repo.account(session, row.account_id)
        assert invoice is not None and account is not None
        if invoice.status not in _CHARGEABLE or invoice.amount_due_minor <= 0:
            row.status = ChargeStatus.SETTLED_ELSEWHERE
            row.next_attempt_at = None
            row.updated_at = now  # the session writes the changed row at commit
            return None
        if not row.uncertain:
            row.amount_minor = invoice.amount_due_minor
        customer = stripe_repo.customer_for_client(session, invoice.partner_id, invoice.client_id)
        request = ChargeRequest(
            row_id=row_id,
            partner_id=row.partner_id,
            client_id=invoice.client_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.number or str(invoice.id),
            attempt=row.attempts + 1,
            amount_minor=row.amount_minor,
            currency=invoice.currency,
            customer_id=customer.customer_id if customer else None,
            payment_method_id=customer.payment_method_id if customer else None,
        )
        return request, account


def _notify(
    session: Session,
    kind: str,
    request: ChargeRequest,
    outcome: Attempt,
    next_attempt: datetime | None,
) -> None:
    tenants = TenantRepository(session)
    partner = tenants.partner(request.partner_id)
    client = tenants.client(request.partner_id, request.client_id)
    invoice = stripe_repo.invoice(session, request.invoice_id)
    if partner is None or client is None or invoice is None:
        return
    day = next_attempt.date() if next_attempt else None
    link = outcome.link.url if outcome.link else None
    queue_notice(
        session,
        partner,
        [client.billing_email],
        client_notice(
            kind,
            partner=partner,
            client=client,
            invoice=invoice,
            amount_minor=request.amount_minor,
            reason=outcome.reason,
            next_attempt=day,
            link=link,
        ),
        kind=f"stripe_{kind}_client",
        related_id=invoice.number,
    )
    queue_notice(
        session,
        partner,
        partner_recipients(partner),
        partner_notice(
            kind,
            client=client,
            invoice=invoice,
            amount_minor=request.amount_minor,
            attempt=request.attempt,
            reason=outcome.reason,
            next_attempt=day,
        ),
        kind=f"stripe_{kind}_partner",
        related_id=invoice.number,
    )


def _decline(
    session: Session, row: StripeCharge, request: ChargeRequest, outcome: Attempt, now: datetime
) -> str:
    partner = TenantRepository(session).partner(row.partner_id)
    account = stripe_repo.account(session, row.account_id)
    assert partner is not None and account is not None
    days = dunning_days(account, partner)
    row.attempts = request.attempt
    row.first_failed_at = row.first_failed_at or now
    if row.attempts <= len(days):
        at = row.first_failed_at + timedelta(days=days[row.attempts - 1])
        _apply(row, queue.waiting_values(CHARGE_QUEUE, outcome.message, at, now))
        _notify(session, "declined", request, outcome, row.next_attempt_at)
        _emit_failed(session, row, request, outcome, now)
        return "declined"
    _apply(row, queue.dead_values(CHARGE_QUEUE, outcome.message, now))
    _notify(session, "failed", request, outcome, None)
    _emit_failed(session, row, request, outcome, now)
    return "failed"


def _emit_failed(
    session: Session, row: StripeCharge, request: ChargeRequest, outcome: Attempt, now: datetime
) -> None:
    """`payment.failed` to the partner's webhooks, with the decline it reports (one per
    attempt: the key is the charge and its attempt number)."""
    invoice = stripe_repo.invoice(session, request.invoice_id)
    if invoice is None:
        return
    data = payment_failed_data(
        invoice=invoice,
        amount_minor=request.amount_minor,
        currency=request.currency,
        attempt=request.attempt,
        reason=outcome.reason or outcome.message,
        external_id=outcome.intent_id or row.payment_intent_id,
        next_attempt_at=row.next_attempt_at,
    )
    key = f"charge:{row.id}:{request.attempt}"
    emit(session, row.partner_id, EventType.PAYMENT_FAILED, data, key=key, now=now)


def _apply(row: StripeCharge, values: dict[str, object]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _record(
    sessions: Callable[[], Session], request: ChargeRequest, outcome: Attempt, now: datetime
) -> str:
    with sessions() as session, session.begin():
        InvoiceRepository(session).claim_sqlite_writer()
        row = stripe_repo.charge(session, request.row_id, lock=True)
        assert row is not None
        if row.status is not ChargeStatus.PROCESSING or row.attempts != request.attempt - 1:
            return "superseded"  # a webhook or another worker settled it meanwhile
        row.updated_at = now
        row.payment_intent_id = outcome.intent_id or row.payment_intent_id
        row.last_decline_code = outcome.reason
        row.last_error = outcome.message
        result = outcome.kind
        if outcome.kind in ("repeat", "auth"):
            row.status = ChargeStatus.PENDING
            row.uncertain = True  # same attempt number, same key, same amount
            wait = _REPEAT[outcome.kind].delay(1, outcome.retry_after or None)
            row.next_attempt_at = now + wait
        else:
            row.uncertain = False
        if outcome.kind == "succeeded" and outcome.charge is not None:
            row.attempts = request.attempt
            row.status = ChargeStatus.SUCCEEDED
            row.next_attempt_at = None
            row.last_decline_code = None
            facts = PaymentFacts.from_charge(outcome.charge, request.invoice_id)
            recorded = record_stripe_payment(session, row.account_id, request.partner_id, facts)
            row.payment_id, row.last_error = recorded.payment_id, recorded.error
            if recorded.error:
                alert_partner(
                    session,
                    row.partner_id,
                    f"Stripe charge for invoice {request.invoice_number} needs attention",
                    f"{recorded.error}\n\nRefund it in Stripe, or correct "
                    "the invoice and record the payment by hand.\n",
                    request.invoice_number,
                )
        elif outcome.kind == "awaiting":
            row.attempts = request.attempt
            row.status = ChargeStatus.AWAITING_STRIPE
            row.next_attempt_at = None
        elif outcome.kind == "action":
            row.attempts = request.attempt
            row.status = ChargeStatus.REQUIRES_ACTION
            row.next_attempt_at = None
            row.action_url = outcome.link.url if outcome.link else None
            _notify(session, "action", request, outcome, None)
        elif outcome.kind == "declined":
            result = _decline(session, row, request, outcome, now)
        return result


def charge_due_invoices(
    source: SessionSource,
    *,
    now: datetime | None = None,
    gateway_factory: GatewayFactory | None = None,
    limit: int = 100,
) -> ChargeReport:
    """Queue newly issued auto-charge invoices, then make every attempt that is due (first
    charges, dunning retries, repeats after an unknown outcome). Never raises for one
    invoice's Stripe failure; database errors propagate."""
    sessions = session_factory(source)
    moment = (now or utcnow()).astimezone(UTC)
    report = ChargeReport()
    with sessions() as session, session.begin():
        report.queued = enqueue_charges(session, moment)
    gateways: dict[str, StripeGateway] = {}
    try:
        for row_id in _due_ids(sessions, moment, limit):
            claimed = _claim(sessions, row_id, moment)
            if claimed is None:
                continue
            request, account = claimed
            gateway = gateways.get(account.id)
            if gateway is None:
                gateway = gateways[account.id] = gateway_for(account, gateway_factory)
            outcome = attempt_charge(gateway, request)
            report.outcomes[_record(sessions, request, outcome, moment)] += 1
    finally:
        for gateway in gateways.values():
            gateway.close()
    return report
