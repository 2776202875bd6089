"""Payments we recorded (Stripe, manual, read back) vs what the invoices say was paid, Stripe
charges vs the payments they should have produced, and payouts (what is stored of them).

Stripe balance transactions are not stored by `sync.stripe`, so a payout cannot be matched to
the charges it settles; the tally says so instead of claiming agreement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlmodel import Session

from billing.invoicing.models import Invoice
from billing.payments.models import Payment
from sync.reconcile.books_repository import (
    payments_of_invoices,
    payouts_arrived_between,
    succeeded_charges_of_invoices,
)
from sync.reconcile.differences import Diff, Tally
from sync.reconcile.names import INTERNAL_SYSTEMS, Names, money

__all__ = ["compare_payments"]


def _by_invoice(
    session: Session, ids: list[int]
) -> tuple[dict[int, int], dict[int, list[Payment]]]:
    paid: dict[int, int] = defaultdict(int)
    payments: dict[int, list[Payment]] = defaultdict(list)
    for payment in payments_of_invoices(session, ids):
        paid[payment.invoice_id] += payment.amount_minor - payment.refunded_minor
        payments[payment.invoice_id].append(payment)
    return paid, payments


def compare_payments(
    session: Session,
    partner_id: str,
    invoices: Sequence[Invoice],
    start: date,
    end: date,
    *,
    names: Names | None = None,
    currency: str | None = None,
) -> dict[str, tuple[Tally, list[Diff]]]:
    """`currency`: the partner's (payouts are in it); default the invoices' currency."""
    label = names or Names(currency or (invoices[0].currency if invoices else "USD"))
    ids = [i.invoice_id for i in invoices]
    paid, payments = _by_invoice(session, ids)
    system = INTERNAL_SYSTEMS["payments"]
    tally, diffs = Tally(name=system), []
    for invoice in invoices:
        recorded = paid.get(invoice.invoice_id, 0)
        tally.ours_minor += recorded
        tally.theirs_minor += invoice.amount_paid_minor
        if recorded == invoice.amount_paid_minor:
            tally.matched += 1
            continue
        diffs.append(
            Diff(
                "payments_vs_invoice_paid",
                "error",
                "payments",
                label.subject(invoice),
                f"payments recorded {money(recorded, invoice.currency)}",
                f"invoice says {money(invoice.amount_paid_minor, invoice.currency)} paid",
                abs(recorded - invoice.amount_paid_minor),
                invoice.currency,
                f"Find the payment of {invoice.number} missing on one side and record or reverse "
                "it.",
                system_name=system,
                **label.invoice_facts(invoice),
            )
        )
    stripe_name = INTERNAL_SYSTEMS["stripe"]
    stripe, stripe_diffs = Tally(name=stripe_name), []
    by_id = {i.invoice_id: i for i in invoices}
    for charge in succeeded_charges_of_invoices(session, ids):
        stripe.ours_minor += charge.amount_minor
        linked = [p for p in payments.get(charge.invoice_id, []) if p.id == charge.payment_id]
        if linked and linked[0].amount_minor == charge.amount_minor:
            stripe.matched += 1
            stripe.theirs_minor += charge.amount_minor
            continue
        invoice = by_id[charge.invoice_id]
        reference = charge.payment_intent_id or str(charge.id)
        stripe_diffs.append(
            Diff(
                "stripe_charge_without_payment",
                "error",
                "stripe",
                f"{label.subject(invoice)}, Stripe charge {reference}",
                f"payment {money(linked[0].amount_minor, charge.currency)}"
                if linked
                else "no payment",
                f"charge succeeded, {money(charge.amount_minor, charge.currency)}",
                charge.amount_minor,
                charge.currency,
                f"Replay the webhook of Stripe charge {reference} or record the payment from it.",
                system_name=stripe_name,
                **label.invoice_facts(invoice),
            )
        )
    window = (datetime.combine(start, time.min, UTC), datetime.combine(end, time.min, UTC))
    count, amount = payouts_arrived_between(session, partner_id, *window)
    payouts = (
        "no payouts"
        if not count
        else (
            f"{count} payout{'' if count == 1 else 's'} totalling {money(int(amount), label.currency)}"
        )
    )
    stripe.notes.append(
        f"{payouts} in the period; Stripe balance transactions are not stored, so payouts are "
        "not matched to charges"
    )
    return {"payments": (tally, diffs), "stripe": (stripe, stripe_diffs)}
