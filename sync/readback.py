"""Read-back of payments entered in an accounting tool (a bank transfer the partner recorded in
QuickBooks or Xero): each lands once in our ledger and on the invoice.

`pull_payments` lists the connection's payments dated from `since`, and for each one:
- ours (we pushed it: its remote id is a stored payment reference on this connection, or its
  reference is the id of one of our payments on that invoice) → skipped, never echoed back;
- applied to an invoice we do not know (no stored invoice reference for the remote id) →
  reported, not recorded: it is the partner's own invoice, or one pushed before references
  were kept (`sync backfill` fixes the latter);
- otherwise recorded with `record_payment(source=ACCOUNTING, connection_id=..., external_id=
  remote id, method=BANK_TRANSFER)`, which is idempotent on (partner, source, connection,
  external id): running twice records nothing more. A partial payment is a partial payment;
  the invoice becomes partially paid. Payments our books refuse (overpayment, void invoice,
  other currency) are reported with the reason.

The recorded payment's `payment.recorded` event fans out to the partner's *other* connections
(`payment.push`), never back to this one. The scheduler and the webhooks (`api.webhooks`) call
this; `python main.py sync pull-payments` runs it by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from billing.payments import PaymentMethod, PaymentSource, record_payment
from billing.payments.errors import PaymentsError
from config.db import read_scope, write_scope
from config.db_types import utcnow
from connectors.base import PaymentsConnector
from mappings.models import RefKind
from remote_specs import RemotePayment
from sync import books_repository as books
from sync.connections import ConnectionSummary, connection_summaries
from sync.handlers import Remote

__all__ = ["ReadbackReport", "pull_payments"]

log = logging.getLogger("rebill.sync.readback")

DEFAULT_LOOKBACK = timedelta(days=35)


@dataclass
class ReadbackReport:
    connection_id: str
    listed: int = 0
    recorded: int = 0
    already: int = 0  # recorded by an earlier run
    ours: int = 0  # pushed by us: not echoed back
    unknown: list[str] = field(default_factory=list)  # invoice not ours: reported only
    refused: list[str] = field(default_factory=list)  # our books said no, with the reason


def _our_id(
    session: Session, connection_id: str, kind: RefKind, remote_id: str | None
) -> str | None:
    """Our id of the remote object, from the external-ref table (the reverse lookup)."""
    if not remote_id:
        return None
    return books.our_id_of_remote(session, connection_id, kind, remote_id)


def _is_ours(session: Session, partner_id: str, payment: RemotePayment, invoice_id: int) -> bool:
    """Its reference is one of our payments on that invoice (a push whose answer was lost,
    before its reference was stored)."""
    if not payment.reference or not payment.reference.isdigit():
        return False
    ours = books.payment(session, int(payment.reference))
    return ours is not None and ours.partner_id == partner_id and ours.invoice_id == invoice_id


def _record(
    session: Session, connection: ConnectionSummary, payment: RemotePayment, report: ReadbackReport
) -> None:
    if _our_id(session, connection.id, RefKind.PAYMENT, payment.remote_id) is not None:
        report.ours += 1
        return
    our_invoice = _our_id(session, connection.id, RefKind.INVOICE, payment.invoice_id)
    invoice = books.invoice(session, int(our_invoice)) if our_invoice else None
    if invoice is None or invoice.partner_id != connection.partner_id:
        report.unknown.append(
            f"payment {payment.remote_id} of {payment.amount_minor} {payment.currency} "
            f"applies to invoice {payment.invoice_number or payment.invoice_id or '?'}, "
            "which is not one of ours on this connection"
        )
        return
    if _is_ours(session, connection.partner_id, payment, invoice.id or 0):
        report.ours += 1
        return
    recorded = record_payment(
        session,
        partner_id=connection.partner_id,
        invoice_id=invoice.id or 0,
        amount_minor=payment.amount_minor,
        currency=payment.currency.upper(),
        source=PaymentSource.ACCOUNTING,
        external_id=payment.remote_id,
        received_at=datetime.combine(payment.paid_on, time(12), tzinfo=UTC),
        method=PaymentMethod.BANK_TRANSFER,
        connection_id=connection.id,
        reference=payment.reference,
    )
    if recorded.created:
        report.recorded += 1
    else:
        report.already += 1


async def _list(remote: Remote, start: date, end: date) -> list[RemotePayment]:
    connector = remote.connector
    try:
        if not isinstance(connector, PaymentsConnector):
            raise ValueError(f"{connector.provider} cannot read payments back")
        return await connector.list_payments(start, end)
    finally:
        await connector.aclose()


def pull_payments(
    engine: Engine,
    connection_id: str,
    since: date | None = None,
    *,
    until: date | None = None,
    open_remote: Callable[[ConnectionSummary], Remote] | None = None,
) -> ReadbackReport:
    """Record the connection's payments dated in [since, until] that are not ours yet (see
    the module doc). `since` defaults to 35 days ago. Connector errors propagate (nothing is
    recorded then); each payment is its own transaction, so one refusal stops nothing."""
    with read_scope(engine) as session:
        found = connection_summaries(session, connection_ids=[connection_id])
    if not found:
        raise ValueError(f"connection: no connection {connection_id!r}")
    connection = found[0]
    if not connection.active:
        raise ValueError(f"connection: {connection.name} is {connection.status}; re-authorise it")
    if open_remote is None:
        from sync.remotes import registry_remote

        open_remote = registry_remote(engine)
    end = until or utcnow().date()
    start = since or end - DEFAULT_LOOKBACK
    payments = asyncio.run(_list(open_remote(connection), start, end))
    report = ReadbackReport(connection.id, listed=len(payments))
    for payment in payments:
        if payment.voided or payment.amount_minor <= 0:
            continue
        try:
            with write_scope(engine) as session:
                _record(session, connection, payment, report)
        except PaymentsError as exc:
            report.refused.append(f"payment {payment.remote_id}: {exc}")
    for line in report.unknown + report.refused:
        log.warning("read-back %s: %s", connection.id, line)
    return report
