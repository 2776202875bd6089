"""The `payment.push` op: a payment we recorded (Stripe, by hand, or read back from another
accounting connection) put against the invoice in this connection's tool, exactly once.

Fan-out gives the row its invoice as subject, so it is claimed only after the invoice's push
finished. Exactly once in three layers: a stored payment reference means done; the connector
looks its own payment up by our reference before creating (lost answers); the write carries
a deterministic idempotency key. The reference and the row's completion are one transaction.

When the invoice is not in the remote (pushed under a connection made later, or its push is
still being retried elsewhere), the row is retried with backoff rather than failed at once:
`RetryableError`; after the attempts run out it is dead with that reason. A missing payment
account setting is a `MappingError` naming it (dead: the partner must add it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing.invoicing.models import Invoice
from connectors.base import Capability, PaymentsConnector, RejectedError, RetryableError
from mappings.base import ConnectionMapping
from mappings.references import RefKind, get_ref, put_ref, remote_ref, spec_hash
from remote_specs import PaymentSpec, RemoteRef
from sync import books_repository as books

if TYPE_CHECKING:
    from sync.handlers import Handlers
    from sync.models import OutboxRow

__all__ = ["payment_account", "push_payment"]


def payment_account(mapping: ConnectionMapping) -> str | None:
    """The mapping's payment account (`deposit_account` / `payment_account_code`); raises the
    mapping's `MappingError` when the provider needs one and it is not set. None for remotes
    that take no account (FreshBooks)."""
    account_of = getattr(mapping, "payment_account", None)
    return str(account_of()) if callable(account_of) else None


async def _invoice_ref(handlers: Handlers, invoice: Invoice) -> RemoteRef | None:
    """Our stored reference, else the remote invoice with its number (pushed before a
    reference was kept, e.g. by a backfill on another worker)."""
    connection_id = handlers.connection.id
    with handlers.worker.read() as session:
        stored = get_ref(session, connection_id, RefKind.INVOICE, str(invoice.id))
    if stored is not None and stored.remote_id:
        return remote_ref(stored)
    found = await handlers.connector.find_invoices([invoice.number or ""])
    hit = found.get(invoice.number or "")
    if hit is None:
        return None
    with handlers.worker.write() as session:
        put_ref(session, connection_id, RefKind.INVOICE, str(invoice.id), hit.ref)
    return hit.ref


async def push_payment(handlers: Handlers, row: OutboxRow) -> None:
    worker, connection, connector = handlers.worker, handlers.connection, handlers.connector
    if not isinstance(connector, PaymentsConnector) or (
        Capability.PAYMENTS not in connector.capabilities
    ):
        worker.complete(row, handlers.stats, f"{connection.provider} takes no payments")
        return
    with worker.read() as session:
        payment = books.payment(session, int(row.our_id))
        invoice = books.invoice(session, payment.invoice_id) if payment is not None else None
        stored = get_ref(session, connection.id, RefKind.PAYMENT, row.our_id)
        customer = (
            get_ref(session, connection.id, RefKind.CUSTOMER, invoice.client_id)
            if invoice is not None
            else None
        )
    if payment is None or invoice is None:
        raise RejectedError(f"payment {row.our_id} or its invoice no longer exists")
    if stored is not None:
        worker.complete(row, handlers.stats, "already pushed")
        return
    if payment.connection_id == connection.id:
        worker.complete(row, handlers.stats, "read back from this connection: already there")
        return
    account = payment_account(handlers.remote.mapping)  # MappingError names the setting
    invoice_ref = await _invoice_ref(handlers, invoice)
    if invoice_ref is None or customer is None:
        raise RetryableError(
            f"payment {payment.id}: invoice {invoice.number} is not in {connection.provider} "
            "yet; retrying until its push is done"
        )
    spec = PaymentSpec(
        reference=str(payment.id),
        invoice=invoice_ref,
        invoice_number=invoice.number or "",
        customer=remote_ref(customer),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        paid_on=payment.received_at.date(),
        method=str(payment.method),
        account=account,
    )
    key = f"rebill:{connection.id}:{row.op}:{row.our_id}:1"
    ref = await connector.record_payment(spec, key)
    with worker.write() as session:
        put_ref(session, connection.id, RefKind.PAYMENT, row.our_id, ref, spec_hash(spec))
        worker.complete_in(session, row, handlers.stats)
