"""Stripe state: each partner's Stripe account, a Stripe customer per client, one charge per
auto-charge invoice (with its dunning state), and every webhook event received.

What the database enforces:
- one Stripe account per partner, one Stripe customer per client (and a customer id is never
  linked to two clients of the same account);
- one charge row per invoice (`invoice_id` unique): charging is keyed on our invoice, so two
  schedulers can never start two charge series for it;
- one row per Stripe event id and account: a redelivered event is recognised, never applied
  twice.
Secrets are stored only encrypted (`secrets.py`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow, uuid7

__all__ = [
    "ChargeStatus",
    "EventStatus",
    "StripeAccount",
    "StripeCharge",
    "StripeCustomer",
    "StripeEvent",
]


def _new_id() -> str:
    return uuid7().hex


class ChargeStatus(enum.StrEnum):
    PENDING = "pending"  # due now (first attempt, or a retry after an uncertain outcome)
    PROCESSING = "processing"  # claimed by a worker; the claim lapses at next_attempt_at
    RETRY_SCHEDULED = "retry_scheduled"  # declined; next attempt on the dunning schedule
    REQUIRES_ACTION = "requires_action"  # the bank wants the client to authenticate
    AWAITING_STRIPE = "awaiting_stripe"  # Stripe is still processing; a webhook will tell
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the last retry failed: the partner was told
    SETTLED_ELSEWHERE = "settled_elsewhere"  # paid, voided or written off before we charged


OPEN_CHARGE_STATES = (
    ChargeStatus.PENDING,
    ChargeStatus.PROCESSING,
    ChargeStatus.RETRY_SCHEDULED,
    ChargeStatus.REQUIRES_ACTION,
    ChargeStatus.AWAITING_STRIPE,
)


class EventStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # not about anything of ours (no Rebill metadata), or an unused type
    FAILED = "failed"  # applying it raised; `last_error` says why; a redelivery tries again


def _now_column() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class StripeAccount(SQLModel, table=True):
    """A partner's own Stripe account (its clients pay the partner, not us). `id` is the
    connection id used in idempotency keys and on recorded payments."""

    __tablename__ = "stripe_account"

    id: str = Field(default_factory=_new_id, sa_column=Column(String(32), primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False, unique=True)
    )
    secret_key_enc: str = Field(sa_column=Column(Text, nullable=False))
    webhook_secret_enc: str = Field(sa_column=Column(Text, nullable=False))
    api_base: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    dunning_days: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class StripeCustomer(SQLModel, table=True):
    __tablename__ = "stripe_customer"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        UniqueConstraint("partner_id", "client_id", name="uq_stripe_customer_client"),
        UniqueConstraint("account_id", "customer_id", name="uq_stripe_customer_remote"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(sa_column=Column(String(64), nullable=False))
    client_id: str = Field(sa_column=Column(String(64), nullable=False))
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("stripe_account.id"), nullable=False)
    )
    customer_id: str = Field(sa_column=Column(String(255), nullable=False))
    payment_method_id: str | None = Field(
        default=None, sa_column=Column(String(255), nullable=True)
    )
    card_brand: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    card_last4: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    card_exp_month: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    card_exp_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    auto_charge: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class StripeCharge(SQLModel, table=True):
    """The charge series of one invoice. `attempts` counts attempts with a known outcome; the
    attempt in flight uses `attempts + 1` in its idempotency key, so repeating it after an
    uncertain outcome (`uncertain`) replays at Stripe instead of charging twice, and
    `amount_minor` is kept for that repeat."""

    __tablename__ = "stripe_charge"
    __table_args__ = (Index("ix_stripe_charge_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    invoice_id: int = Field(
        sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False, unique=True)
    )
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("stripe_account.id"), nullable=False)
    )
    status: ChargeStatus = Field(
        default=ChargeStatus.PENDING,
        sa_column=Column(StrEnumType(ChargeStatus, 24), nullable=False),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    uncertain: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    payment_intent_id: str | None = Field(
        default=None, sa_column=Column(String(255), nullable=True, index=True)
    )
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    first_failed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_decline_code: str | None = Field(default=None, sa_column=Column(String(64)))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    action_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payment_id: int | None = Field(default=None, sa_column=Column(BigId, nullable=True))
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class StripeEvent(SQLModel, table=True):
    __tablename__ = "stripe_event"
    __table_args__ = (
        UniqueConstraint("account_id", "event_id", name="uq_stripe_event_id"),
        Index("ix_stripe_event_status", "status", "received_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("stripe_account.id"), nullable=False)
    )
    event_id: str = Field(sa_column=Column(String(255), nullable=False))
    type: str = Field(sa_column=Column(String(100), nullable=False))
    status: EventStatus = Field(
        default=EventStatus.RECEIVED,
        sa_column=Column(StrEnumType(EventStatus, 16), nullable=False),
    )
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = _now_column()
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
