"""Stripe webhook deliveries: verified, stored once per event id, applied idempotently.

`receive_delivery(payload, header)`:
1. finds the partner's account whose webhook secret verifies the `Stripe-Signature` (each
   partner has its own Stripe account and endpoint secret); none → 400 with the reason;
2. stores the event (`stripe_event`, unique per account and event id): a redelivery of an
   event already applied answers 200 at once;
3. reads what it needs from Stripe (the PaymentIntent, its charge and balance transaction,
   the refunds of a charge), outside any transaction, then applies the effects and marks the
   event processed in one transaction.

Out of order is safe because nothing trusts the event's snapshot for what it depends on: a
refund or a dispute first makes sure the payment it reverses is recorded (fetched from Stripe
and recorded through the same idempotent `record_payment`), and a late
`payment_intent.succeeded` then finds it recorded. Stripe failures while reading answer 503 so
Stripe delivers again; a refusal of our books (e.g. the invoice was voided) marks the event
failed with the reason and answers 200 (a redelivery would be refused the same way).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from billing.invoicing.errors import InvoiceNotFoundError
from billing.invoicing.repository import InvoiceRepository
from billing.payments import record_dispute, record_payout, refund_payment
from billing.payments.errors import PaymentsError
from config.db import SessionSource, session_factory
from config.db_types import utcnow
from config.text import text_problem
from connectors.base import ConnectorError
from connectors.stripe import SignatureError, StripeGateway, verify_signature
from sync.stripe.accounts import GatewayFactory, gateway_for, webhook_secret
from sync.stripe.models import EventStatus, StripeAccount, StripeEvent
from sync.stripe.notify import alert_partner
from sync.stripe.payments import record_stripe_payment
from sync.stripe.repository import accounts as stripe_accounts
from sync.stripe.repository import add_event_once
from sync.stripe.repository import event as stored_event
from sync.stripe.webhook_effects import Effect, gather_effect

__all__ = ["DeliveryResult", "receive_delivery"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    status_code: int
    detail: str
    event_id: str | None = None


def _verified_account(
    sessions: Callable[[], Session], payload: bytes, header: str | None, now: float | None
) -> StripeAccount | str:
    with sessions() as session:
        accounts = stripe_accounts(session)
    if not accounts:
        return "no Stripe account is connected"
    reason = "Stripe-Signature: no v1 signature matches the payload"
    for account in accounts:
        try:
            verify_signature(payload, header, webhook_secret(account), now=now)
        except SignatureError as exc:
            if "matches" not in str(exc):  # the right secret, but stale or malformed
                reason = str(exc)
            continue
        return account
    return reason


def _store(sessions: Callable[[], Session], account: StripeAccount, event: dict[str, Any]) -> bool:
    """True if the event still has to be applied (new, or an earlier try failed)."""
    with sessions() as session:
        new = StripeEvent(
            account_id=account.id,
            event_id=str(event["id"]),
            type=str(event["type"]),
            payload=event,
        )
        if add_event_once(session, new):
            return True
        stored = stored_event(session, account.id, str(event["id"]))
        return stored.status in (EventStatus.RECEIVED, EventStatus.FAILED)


def _mark(
    session: Session, account_id: str, event_id: str, status: EventStatus, error: str | None
) -> None:
    InvoiceRepository(session).claim_sqlite_writer()
    stored = stored_event(session, account_id, event_id)
    stored.status = status
    stored.attempts += 1
    stored.last_error = error
    stored.processed_at = utcnow() if status is not EventStatus.FAILED else None


def _at(stamp: object) -> datetime:
    return datetime.fromtimestamp(int(stamp), UTC) if isinstance(stamp, int) else utcnow()


def _apply(session: Session, account: StripeAccount, effect: Effect) -> str:
    """Write what the event means. Raises PaymentsError for a refusal of the books."""
    partner = account.partner_id
    payment_id: int | None = None
    if effect.payment is not None:
        recorded = record_stripe_payment(session, account.id, partner, effect.payment)
        if recorded.error:
            raise PaymentsError(recorded.error)
        payment_id = recorded.payment_id
    for refund in effect.refunds:
        assert payment_id is not None
        refund_payment(
            session,
            partner_id=partner,
            payment_id=payment_id,
            amount_minor=refund.amount_minor,
            external_id=refund.id,
            refunded_at=_at(refund.created),
            reason=refund.reason or "refunded in Stripe",
        )
    if effect.dispute is not None:
        assert payment_id is not None
        dispute = effect.dispute
        record_dispute(
            session,
            partner_id=partner,
            payment_id=payment_id,
            amount_minor=int(dispute["amount"]),
            fee_minor=sum(int(t.get("fee", 0)) for t in dispute.get("balance_transactions") or []),
            external_id=str(dispute["id"]),
            status=str(dispute["status"]),
            opened_at=_at(dispute.get("created")),
        )
    if effect.payout is not None:
        payout = effect.payout
        record_payout(
            session,
            partner_id=partner,
            amount_minor=int(payout["amount"]),
            currency=str(payout["currency"]).upper(),
            external_id=str(payout["id"]),
            arrived_at=_at(payout.get("arrival_date")),
        )
    if effect.after is not None:
        effect.after(session)
    return effect.summary


def _gateway(account: StripeAccount, factory: GatewayFactory | None) -> StripeGateway:
    return gateway_for(account, factory)


def receive_delivery(
    source: SessionSource,
    payload: bytes,
    header: str | None,
    *,
    now: float | None = None,
    gateway_factory: GatewayFactory | None = None,
) -> DeliveryResult:
    sessions = session_factory(source)
    found = _verified_account(sessions, payload, header, now)
    if isinstance(found, str):
        return DeliveryResult(400, found)
    account = found
    try:
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        if text_problem(event_id) or text_problem(event_type):
            raise ValueError("id and type must be text that can be stored")
        obj = event["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError("data.object is not an object")
    except RecursionError:
        return DeliveryResult(400, "body: nested too deeply to be a Stripe event")
    except (ValueError, KeyError, TypeError) as exc:
        return DeliveryResult(400, f"body: not a Stripe event ({exc})")
    if not _store(sessions, account, event):
        return DeliveryResult(200, "duplicate: already applied", event_id)
    gateway = _gateway(account, gateway_factory)
    try:
        effect = gather_effect(gateway, account, event_type, obj)
    except ConnectorError as exc:
        with sessions() as session, session.begin():
            _mark(session, account.id, event_id, EventStatus.FAILED, exc.message)
        return DeliveryResult(503, f"Stripe could not be read: {exc.message}", event_id)
    finally:
        gateway.close()
    try:
        with sessions() as session, session.begin():
            InvoiceRepository(session).claim_sqlite_writer()
            if effect is None:
                _mark(session, account.id, event_id, EventStatus.IGNORED, None)
                return DeliveryResult(200, f"ignored: {event_type}", event_id)
            summary = _apply(session, account, effect)
            _mark(session, account.id, event_id, EventStatus.PROCESSED, None)
    except (PaymentsError, InvoiceNotFoundError) as exc:
        log.error("stripe event %s (%s) refused by the books: %s", event_id, event_type, exc)
        with sessions() as session, session.begin():
            _mark(session, account.id, event_id, EventStatus.FAILED, str(exc)[:2000])
            alert_partner(
                session,
                account.partner_id,
                f"Stripe event {event_type} was not applied",
                f"Stripe event {event_id} ({event_type}) could not be applied to the books:\n"
                f"{exc}\n\nSee python main.py stripe events --status failed.\n",
                event_id,
            )
        return DeliveryResult(200, f"not applied: {exc}", event_id)
    return DeliveryResult(200, summary, event_id)
