"""Every query of the Stripe package: accounts, customers, charges (the claiming itself is the
work queue's, `workqueue.repository`) and webhook events. Functions take the caller's session
and never commit.

Changing a row read through the session needs no call here (the session tracks it); only new
rows are added, by the `add_*` functions."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from billing.invoicing.models import Invoice, InvoiceStatus
from sync.stripe.models import (
    ChargeStatus,
    EventStatus,
    StripeAccount,
    StripeCharge,
    StripeCustomer,
    StripeEvent,
)

__all__ = [
    "account",
    "account_for_partner",
    "accounts",
    "add_account",
    "add_customer",
    "add_event_once",
    "charge",
    "charge_by_intent",
    "charge_of_invoice",
    "charges_of_partner",
    "charges_waiting_for_retry",
    "clients_with_card",
    "customer_by_stripe_id",
    "customer_for_client",
    "event",
    "invoice",
    "invoices_to_charge",
    "recent_events",
]


# accounts ---------------------------------------------------------------------
def account_for_partner(session: Session, partner_id: str) -> StripeAccount | None:
    return session.execute(
        select(StripeAccount).where(col(StripeAccount.partner_id) == partner_id)
    ).scalar_one_or_none()


def account(session: Session, account_id: str) -> StripeAccount | None:
    return session.get(StripeAccount, account_id)


def accounts(session: Session) -> list[StripeAccount]:
    """Every partner's account (a webhook delivery is matched to one by its signature)."""
    return list(session.execute(select(StripeAccount)).scalars())


def add_account(session: Session, account: StripeAccount) -> StripeAccount:
    session.add(account)
    session.flush()
    return account


# customers --------------------------------------------------------------------
def customer_for_client(session: Session, partner_id: str, client_id: str) -> StripeCustomer | None:
    return session.execute(
        select(StripeCustomer).where(
            col(StripeCustomer.partner_id) == partner_id,
            col(StripeCustomer.client_id) == client_id,
        )
    ).scalar_one_or_none()


def clients_with_card(
    session: Session, partner_id: str, client_ids: Collection[str]
) -> frozenset[str]:
    """The clients among `client_ids` whose auto-charge invoices a saved card will pay: a
    Stripe customer of the partner's connected account with a default payment method, and
    automatic charges not paused. What invoice documents call "card on file"."""
    query = (
        select(col(StripeCustomer.client_id))
        .join(StripeAccount, col(StripeAccount.id) == col(StripeCustomer.account_id))
        .where(
            col(StripeCustomer.partner_id) == partner_id,
            col(StripeAccount.partner_id) == partner_id,
            col(StripeCustomer.client_id).in_(sorted(client_ids)),
            col(StripeCustomer.payment_method_id).is_not(None),
            col(StripeCustomer.auto_charge).is_(True),
        )
    )
    return frozenset(str(c) for c in session.execute(query).scalars())


def customer_by_stripe_id(
    session: Session, account_id: str, customer_id: str
) -> StripeCustomer | None:
    """Our row for a Stripe customer (`cus_...`) of the account."""
    return session.execute(
        select(StripeCustomer).where(
            col(StripeCustomer.account_id) == account_id,
            col(StripeCustomer.customer_id) == customer_id,
        )
    ).scalar_one_or_none()


def add_customer(session: Session, customer: StripeCustomer) -> StripeCustomer:
    session.add(customer)
    session.flush()
    return customer


# charges ----------------------------------------------------------------------
def charge(session: Session, charge_id: int, *, lock: bool = False) -> StripeCharge | None:
    """A charge row by id; `lock` reads it FOR UPDATE (on PostgreSQL), so recording an
    outcome waits for a webhook that is settling the same row."""
    return session.get(StripeCharge, charge_id, with_for_update=lock or None)


def invoices_to_charge(
    session: Session, chargeable: Sequence[InvoiceStatus]
) -> list[tuple[Invoice, str]]:
    """Invoices (in `chargeable` statuses, auto-charge) with no charge row yet, each with its
    partner's Stripe account id: issued since the account was connected (older invoices were
    never promised to be charged), unless the client's auto-charge is paused."""
    query = (
        select(Invoice, col(StripeAccount.id))
        .join(StripeAccount, col(StripeAccount.partner_id) == col(Invoice.partner_id))
        .outerjoin(StripeCharge, col(StripeCharge.invoice_id) == col(Invoice.id))
        .outerjoin(
            StripeCustomer,
            (col(StripeCustomer.partner_id) == col(Invoice.partner_id))
            & (col(StripeCustomer.client_id) == col(Invoice.client_id)),
        )
        .where(
            col(Invoice.auto_charge).is_(True),
            col(Invoice.status).in_(chargeable),
            col(Invoice.issued_at) >= col(StripeAccount.created_at),
            col(StripeCharge.id).is_(None),
            or_(col(StripeCustomer.id).is_(None), col(StripeCustomer.auto_charge).is_(True)),
        )
        .order_by(col(Invoice.id))
    )
    return [(invoice, str(account_id)) for invoice, account_id in session.execute(query).all()]


def charge_of_invoice(session: Session, invoice_id: int) -> StripeCharge | None:
    return session.execute(
        select(StripeCharge).where(col(StripeCharge.invoice_id) == invoice_id)
    ).scalar_one_or_none()


def charge_by_intent(session: Session, intent_id: object) -> StripeCharge | None:
    return session.execute(
        select(StripeCharge).where(col(StripeCharge.payment_intent_id) == intent_id)
    ).scalar_one_or_none()


def charges_waiting_for_retry(
    session: Session, partner_id: str, client_id: str
) -> list[StripeCharge]:
    """The client's declined charges waiting for their next dunning day."""
    query = (
        select(StripeCharge)
        .join(Invoice, col(Invoice.id) == col(StripeCharge.invoice_id))
        .where(
            col(StripeCharge.partner_id) == partner_id,
            col(StripeCharge.status) == ChargeStatus.RETRY_SCHEDULED,
            col(Invoice.client_id) == client_id,
        )
    )
    return list(session.execute(query).scalars())


def charges_of_partner(
    session: Session, partner_id: str, status: ChargeStatus | None = None
) -> list[StripeCharge]:
    """The partner's charge series (one per invoice), oldest first."""
    query = select(StripeCharge).where(col(StripeCharge.partner_id) == partner_id)
    if status is not None:
        query = query.where(col(StripeCharge.status) == status)
    return list(session.execute(query.order_by(col(StripeCharge.id))).scalars())


# invoices ---------------------------------------------------------------------
def invoice(session: Session, invoice_id: int) -> Invoice | None:
    """An invoice by its id (a charge row names it; the charge's partner owns it)."""
    return session.get(Invoice, invoice_id)


# webhook events ---------------------------------------------------------------
def add_event_once(session: Session, stored: StripeEvent) -> bool:
    """Store a delivered event in its own transaction; False if the account already has an
    event with this id (a redelivery: the unique key refuses it)."""
    try:
        with session.begin():
            session.add(stored)
    except IntegrityError:
        return False
    return True


def event(session: Session, account_id: str, event_id: str) -> StripeEvent:
    """A stored event (it must exist)."""
    stored: StripeEvent = session.execute(
        select(StripeEvent).where(
            col(StripeEvent.account_id) == account_id, col(StripeEvent.event_id) == event_id
        )
    ).scalar_one()
    return stored


def recent_events(session: Session, status: EventStatus | None, limit: int) -> list[StripeEvent]:
    """Stored webhook events, newest first."""
    query = select(StripeEvent).order_by(col(StripeEvent.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(StripeEvent.status) == status)
    return list(session.execute(query).scalars())
