"""What a Stripe event means for us, read from Stripe (never from the event's snapshot alone)
before any transaction opens: `gather_effect` does the I/O, `webhooks._apply` the writes.

Events about objects without our metadata (`rebill_partner_id` of this account and a
`rebill_invoice_id`) are not ours (the partner may use Stripe for other things) and are
ignored; payouts are the account's and always count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from billing.webhooks import EventType, emit
from billing.webhooks.events import payment_failed_data
from config.db_types import utcnow
from connectors.stripe import CardDetails, RefundDetails, StripeGateway
from sync.stripe.customers import record_card
from sync.stripe.models import ChargeStatus, StripeAccount
from sync.stripe.payments import PaymentFacts
from sync.stripe.repository import (
    charge_by_intent,
    charges_waiting_for_retry,
    customer_by_stripe_id,
)
from sync.stripe.repository import invoice as stripe_invoice

__all__ = ["DISPUTE_EVENTS", "Effect", "gather_effect"]

DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)


@dataclass(frozen=True, slots=True)
class Effect:
    summary: str
    payment: PaymentFacts | None = None
    refunds: tuple[RefundDetails, ...] = ()
    dispute: dict[str, Any] | None = None
    payout: dict[str, Any] | None = None
    after: Callable[[Session], None] | None = None


def _payment(gateway: StripeGateway, account: StripeAccount, intent_id: str) -> PaymentFacts | None:
    intent = gateway.retrieve_payment_intent(intent_id)
    invoice = intent.metadata.get("rebill_invoice_id", "")
    if intent.metadata.get("rebill_partner_id") != account.partner_id or not invoice.isdigit():
        return None
    if intent.status != "succeeded" or intent.charge_id is None:
        return None
    return PaymentFacts.from_charge(gateway.retrieve_charge(intent.charge_id), int(invoice))


def _save_card(account_id: str, customer_id: str, card: CardDetails) -> Callable[[Session], None]:
    def apply(session: Session) -> None:
        row = customer_by_stripe_id(session, account_id, customer_id)
        if row is None:
            return
        record_card(row, card)
        # A declined charge waiting for its next dunning day is retried now, on the new card.
        for charge in charges_waiting_for_retry(session, row.partner_id, row.client_id):
            charge.next_attempt_at = utcnow()

    return apply


_ASYNC = (ChargeStatus.AWAITING_STRIPE, ChargeStatus.REQUIRES_ACTION)


def _note_failure(intent: dict[str, Any]) -> Callable[[Session], None]:
    error = intent.get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code")

    def apply(session: Session) -> None:
        row = charge_by_intent(session, intent.get("id"))
        if row is not None and row.status is not ChargeStatus.SUCCEEDED and code:
            row.last_decline_code = str(code)[:64]
        if row is not None and row.status in _ASYNC:
            # A payment that needed the client (3-D Secure) or that Stripe finished later failed:
            # the charging pass never saw a decline, so the partner's webhooks hear it here.
            invoice = stripe_invoice(session, row.invoice_id)
            if invoice is not None:
                data = payment_failed_data(
                    invoice=invoice,
                    amount_minor=row.amount_minor,
                    currency=row.currency,
                    attempt=row.attempts,
                    reason=str(code or error.get("message") or "payment_failed"),
                    external_id=intent.get("id"),
                    next_attempt_at=None,
                )
                key = f"intent:{intent.get('id')}"
                emit(session, row.partner_id, EventType.PAYMENT_FAILED, data, key=key)

    return apply


def _setup(gateway: StripeGateway, account: StripeAccount, obj: dict[str, Any]) -> Effect | None:
    setup_intent, customer = obj.get("setup_intent"), obj.get("customer")
    if not isinstance(setup_intent, str) or not isinstance(customer, str):
        return None
    method = gateway.payment_method_of_setup(setup_intent)
    if method is None:
        return None
    card = gateway.card_of(method)
    gateway.set_default_payment_method(
        customer, method, key=gateway.key("default-card", setup_intent, 1)
    )
    return Effect(
        f"card {card.brand} {card.last4} saved for {customer}",
        after=_save_card(account.id, customer, card),
    )


def gather_effect(
    gateway: StripeGateway, account: StripeAccount, event_type: str, obj: dict[str, Any]
) -> Effect | None:
    """The effect of one event, or None when it is not about anything of ours."""
    if event_type == "payment_intent.succeeded":
        facts = _payment(gateway, account, str(obj["id"]))
        return Effect(f"payment {obj['id']} recorded", payment=facts) if facts else None
    if event_type == "payment_intent.payment_failed":
        return Effect(f"payment {obj.get('id')} failed", after=_note_failure(obj))
    if event_type == "checkout.session.completed":
        if obj.get("mode") == "setup":
            return _setup(gateway, account, obj)
        intent = obj.get("payment_intent")
        facts = _payment(gateway, account, intent) if isinstance(intent, str) else None
        return Effect(f"payment {intent} recorded", payment=facts) if facts else None
    if event_type == "charge.refunded":
        intent = obj.get("payment_intent")
        facts = _payment(gateway, account, intent) if isinstance(intent, str) else None
        if facts is None:
            return None
        refunds = tuple(
            r for r in gateway.refunds_of_charge(str(obj["id"])) if r.status == "succeeded"
        )
        refunds = tuple(sorted(refunds, key=lambda r: (r.created, r.id)))
        return Effect(f"{len(refunds)} refund(s) of {intent}", payment=facts, refunds=refunds)
    if event_type in DISPUTE_EVENTS:
        intent = obj.get("payment_intent")
        if not isinstance(intent, str) and isinstance(obj.get("charge"), str):
            intent = gateway.retrieve_charge(obj["charge"]).payment_intent_id
        facts = _payment(gateway, account, intent) if isinstance(intent, str) else None
        if facts is None:
            return None
        return Effect(f"dispute {obj['id']} {obj.get('status')}", payment=facts, dispute=obj)
    if event_type == "payout.paid":
        return Effect(f"payout {obj['id']} recorded", payout=obj)
    return None
