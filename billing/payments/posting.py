"""The journal entries payments post, as pure functions (docs/payments.md).

Payment (key `payment:{partner}:{payment id}`), cash = Stripe clearing for Stripe payments,
Bank for payments recorded in an accounting tool or by hand:
    Dr Cash / Cr Accounts receivable       the amount
    Dr Payment fees / Cr Cash              the fee (when there is one; a fee reported only
                                           later posts alone, key `payment:...:fee`)
Refund (`refund:{partner}:{refund id}`):
    Dr Accounts receivable / Cr Cash       the amount (the credit note that goes with it
                                           posts Dr Credit notes / Cr Accounts receivable)
Payout (`payout:{partner}:{payout id}`):
    Dr Bank / Cr Stripe clearing
Dispute, funds withdrawn (`dispute:{partner}:{dispute id}:withdrawn`):
    Dr Accounts receivable / Cr Cash       the disputed amount (the client owes it again)
    Dr Payment fees / Cr Cash              the dispute fee
A dispute won reverses the withdrawal entry (`reverse_entry`).
Every leg carries the client, so receivables and fees read per client.
"""

from __future__ import annotations

from datetime import datetime

from billing.invoicing.posting import AccountCodes
from billing.payments.models import Payment, PaymentSource
from ledger import AccountRole, EntrySpec, PostingSpec

__all__ = [
    "cash_role",
    "dispute_entry",
    "fee_entry",
    "payment_entry",
    "payout_entry",
    "refund_entry",
]


def cash_role(source: PaymentSource) -> AccountRole:
    return AccountRole.STRIPE_CLEARING if source is PaymentSource.STRIPE else AccountRole.BANK


def _pair(
    codes: AccountCodes,
    debit: AccountRole,
    credit: AccountRole,
    amount: int,
    currency: str,
    client_id: str | None,
) -> list[PostingSpec]:
    if amount == 0:
        return []
    return [
        PostingSpec(codes(debit, currency), amount, currency, client_id),
        PostingSpec(codes(credit, currency), -amount, currency, client_id),
    ]


def payment_entry(codes: AccountCodes, payment: Payment, invoice_number: str | None) -> EntrySpec:
    cash = cash_role(payment.source)
    cur, client = payment.currency, payment.client_id
    legs = _pair(codes, cash, AccountRole.ACCOUNTS_RECEIVABLE, payment.amount_minor, cur, client)
    legs += _pair(codes, AccountRole.PAYMENT_FEES, cash, payment.fee_minor, cur, client)
    return EntrySpec(
        idempotency_key=f"payment:{payment.partner_id}:{payment.payment_id}",
        effective_at=payment.received_at,
        postings=tuple(legs),
        memo=(
            f"Payment {payment.external_id} ({payment.source}, {payment.method}) on invoice "
            f"{invoice_number}"
        )[:500],
        source_type="payment",
        source_id=str(payment.payment_id),
    )


def fee_entry(codes: AccountCodes, payment: Payment, invoice_number: str | None) -> EntrySpec:
    """The fee of a payment recorded first without one."""
    cash = cash_role(payment.source)
    cur, client = payment.currency, payment.client_id
    return EntrySpec(
        idempotency_key=f"payment:{payment.partner_id}:{payment.payment_id}:fee",
        effective_at=payment.received_at,
        postings=tuple(
            _pair(codes, AccountRole.PAYMENT_FEES, cash, payment.fee_minor, cur, client)
        ),
        memo=f"Fee of payment {payment.external_id} on invoice {invoice_number}"[:500],
        source_type="payment",
        source_id=str(payment.payment_id),
    )


def refund_entry(
    codes: AccountCodes,
    payment: Payment,
    refund_id: int,
    amount: int,
    refunded_at: datetime,
    reason: str,
) -> EntrySpec:
    legs = _pair(
        codes,
        AccountRole.ACCOUNTS_RECEIVABLE,
        cash_role(payment.source),
        amount,
        payment.currency,
        payment.client_id,
    )
    return EntrySpec(
        idempotency_key=f"refund:{payment.partner_id}:{refund_id}",
        effective_at=refunded_at,
        postings=tuple(legs),
        memo=f"Refund of payment {payment.external_id}: {reason}"[:500],
        source_type="refund",
        source_id=str(refund_id),
    )


def payout_entry(
    codes: AccountCodes,
    partner_id: str,
    payout_id: int,
    amount: int,
    currency: str,
    arrived_at: datetime,
    external_id: str,
) -> EntrySpec:
    legs = _pair(codes, AccountRole.BANK, AccountRole.STRIPE_CLEARING, amount, currency, None)
    return EntrySpec(
        idempotency_key=f"payout:{partner_id}:{payout_id}",
        effective_at=arrived_at,
        postings=tuple(legs),
        memo=f"Stripe payout {external_id}"[:500],
        source_type="payout",
        source_id=str(payout_id),
    )


def dispute_entry(
    codes: AccountCodes,
    payment: Payment,
    dispute_id: int,
    amount: int,
    fee: int,
    effective_at: datetime,
    external_id: str,
) -> EntrySpec:
    cash = cash_role(payment.source)
    cur, client = payment.currency, payment.client_id
    legs = _pair(codes, AccountRole.ACCOUNTS_RECEIVABLE, cash, amount, cur, client)
    legs += _pair(codes, AccountRole.PAYMENT_FEES, cash, fee, cur, client)
    return EntrySpec(
        idempotency_key=f"dispute:{payment.partner_id}:{dispute_id}:withdrawn",
        effective_at=effective_at,
        postings=tuple(legs),
        memo=f"Dispute {external_id} on payment {payment.external_id}: funds withdrawn"[:500],
        source_type="dispute",
        source_id=str(dispute_id),
    )
