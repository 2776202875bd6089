"""What each outbox op does against one connection (used by `sync.worker.Worker`).

Order inside an invoice push, per batch: customers (stored reference? skip : upsert, which
looks them up by our client id and creates the missing) → items (created or updated when what
we would send changed) → look the invoice numbers up remotely when a create may already have
reached the remote (an "attempted" marker, committed before every create, or a later attempt
of the row: a create whose answer was lost is found there, never repeated; a first create
needs no lookup) → push → reference + row completion in one transaction.
An invoice voided before it was pushed is still pushed as issued and then voided by the row
that follows it, so the remote's number sequence has no gaps, as the partner's books don't.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billing.invoicing.models import Invoice
from billing.invoicing.repository import InvoiceRepository
from connectors.base import Capability, Connector, ConnectorError, RejectedError
from connectors.idempotency import idempotency_key
from mappings.base import ConnectionMapping, MappingError
from mappings.customers import customer_spec, item_specs
from mappings.invoices import SpecError, credit_note_spec, invoice_spec
from mappings.references import (
    RefKind,
    attempted,
    get_ref,
    get_refs,
    mark_attempted,
    put_ref,
    remote_ref,
    spec_hash,
)
from remote_specs import InvoiceSpec, RemoteInvoice, RemoteRef
from sync import books_repository as books
from sync.connections import ConnectionSummary
from sync.models import OutboxOp, OutboxRow

if TYPE_CHECKING:
    from sync.worker import RunStats, Worker

__all__ = ["Handlers", "Remote", "describe", "idempotency_key"]


@dataclass
class Remote:
    connector: Connector
    mapping: ConnectionMapping


def describe(connection: ConnectionSummary, error: Exception, what: str = "") -> str:
    """The failure in words a partner can act on, with the remote's field errors."""
    where = f"{connection.provider} ({connection.name})"
    if isinstance(error, ConnectorError | MappingError | SpecError):
        message = getattr(error, "message", None) or str(error)
    else:  # our own failure: name it without dumping SQL or internals on the partner
        first = (str(error).splitlines() or [""])[0][:200]
        message = f"internal error ({type(error).__name__}): {first}"
    text = f"{where} refused {what}: {message}" if what else f"{where}: {message}"
    if isinstance(error, RejectedError) and error.errors:
        details = "; ".join(
            f"{e.field}: {e.message}" if e.field else e.message for e in error.errors
        )
        text = f"{text} ({details})"
    return text


class Handlers:
    def __init__(
        self, worker: Worker, connection: ConnectionSummary, remote: Remote, stats: RunStats
    ) -> None:
        self.worker = worker
        self.connection = connection
        self.remote = remote
        self.connector = remote.connector
        self.stats = stats

    def _fail(self, row: OutboxRow, error: Exception, what: str = "") -> None:
        self.worker.fail(row, error, describe(self.connection, error, what), self.stats)

    async def run(self, rows: list[OutboxRow]) -> None:
        by_op: dict[OutboxOp, list[OutboxRow]] = {}
        for row in rows:
            by_op.setdefault(row.op, []).append(row)
        for row in by_op.get(OutboxOp.CUSTOMER_UPSERT, []):
            await self._guard([row], self.upsert_customer(row))
        pushes = by_op.get(OutboxOp.INVOICE_PUSH, [])
        size = max(1, self.connector.max_batch)
        for start in range(0, len(pushes), size):
            chunk = pushes[start : start + size]
            await self._guard(chunk, self.push_invoices(chunk))
        for row in by_op.get(OutboxOp.INVOICE_VOID, []):
            await self._guard([row], self.void_invoice(row))
        for row in by_op.get(OutboxOp.CREDIT_NOTE_PUSH, []):
            await self._guard([row], self.push_credit_note(row))
        if by_op.get(OutboxOp.PAYMENT_PUSH):
            from sync.payments import push_payment  # payments module: issue 7

            for row in by_op[OutboxOp.PAYMENT_PUSH]:
                await self._guard([row], push_payment(self, row))

    async def _guard(self, rows: list[OutboxRow], work: Any) -> None:
        """A failure of a whole call fails every row it was for (those not already settled).
        The rows' attempt is counted before the first remote call for them."""
        self.worker.start(rows)
        try:
            await work
        except Exception as exc:  # every failure becomes a row outcome, never a dead worker
            for row in rows:
                self._fail(row, exc)

    # customers -------------------------------------------------------------------------
    async def upsert_customer(self, row: OutboxRow) -> None:
        with self.worker.read() as session:
            client = books.client(session, row.partner_id, row.our_id)
            if client is None:
                raise RejectedError(f"client {row.our_id} no longer exists")
            spec = customer_spec(client)
            stored = get_ref(session, self.connection.id, RefKind.CUSTOMER, row.our_id)
        digest = spec_hash(spec)
        if stored is not None and stored.sent_hash == digest:
            self.worker.complete(row, self.stats, "unchanged since last sent")
            return
        key = idempotency_key(self.connection.id, row.op, row.our_id, digest[:16])
        [result] = await self.connector.upsert_customers([spec], [key])
        if isinstance(result, ConnectorError):
            self._fail(row, result, f"customer {client.name}")
            return
        with self.worker.write() as session:
            put_ref(session, self.connection.id, RefKind.CUSTOMER, row.our_id, result, digest)
            self.worker.complete_in(session, row, self.stats)

    async def ensure_customers(
        self, partner_id: str, client_ids: set[str]
    ) -> dict[str, RemoteRef | Exception]:
        with self.worker.read() as session:
            stored = get_refs(session, self.connection.id, RefKind.CUSTOMER, client_ids)
            clients = {
                cid: books.client(session, partner_id, cid) for cid in client_ids - set(stored)
            }
        found: dict[str, RemoteRef | Exception] = {k: remote_ref(v) for k, v in stored.items()}
        specs = []
        for cid, client in clients.items():
            if client is None:
                found[cid] = RejectedError(f"client {cid} no longer exists")
            else:
                specs.append(customer_spec(client))
        if not specs:
            return found
        # `upsert_customers` looks the customers up itself (by our client id, adopting the
        # partner's own) before creating the missing ones: no separate `find_customers`
        # round, which cost one more rate-limited call per batch.
        digests = [spec_hash(s) for s in specs]
        keys = [
            idempotency_key(self.connection.id, "customer.upsert", s.reference, d[:16])
            for s, d in zip(specs, digests, strict=True)
        ]
        results = await self.connector.upsert_customers(specs, keys)
        with self.worker.write() as session:
            for spec, digest, result in zip(specs, digests, results, strict=True):
                found[spec.reference] = result
                if not isinstance(result, ConnectorError):
                    put_ref(
                        session,
                        self.connection.id,
                        RefKind.CUSTOMER,
                        spec.reference,
                        result,
                        digest,
                    )
        return found

    async def ensure_items(self, partner_id: str) -> None:
        """Every item the connection's invoices may name exists remotely (raises otherwise)."""
        with self.worker.read() as session:
            specs = item_specs(books.usage_types(session, partner_id), self.remote.mapping)
            stored = get_refs(session, self.connection.id, RefKind.ITEM, [s.code for s in specs])
        wanted = [
            (s, spec_hash(s))
            for s in specs
            if s.code not in stored or stored[s.code].sent_hash != spec_hash(s)
        ]
        if not wanted:
            return
        keys = [
            idempotency_key(self.connection.id, "item.ensure", s.code, d[:16]) for s, d in wanted
        ]
        results = await self.connector.ensure_items([s for s, _ in wanted], keys)
        failures = []
        with self.worker.write() as session:
            for (spec, digest), result in zip(wanted, results, strict=True):
                if isinstance(result, ConnectorError):
                    failures.append((spec, result))
                else:
                    put_ref(session, self.connection.id, RefKind.ITEM, spec.code, result, digest)
        if failures:
            spec, error = failures[0]
            raise _with_context(error, f"item {spec.code} ({spec.name})")

    # invoices --------------------------------------------------------------------------
    async def push_invoices(self, rows: Sequence[OutboxRow]) -> None:
        partner_id = rows[0].partner_id
        with self.worker.read() as session:
            stored = get_refs(
                session, self.connection.id, RefKind.INVOICE, [r.our_id for r in rows]
            )
            invoices = {r.id: books.invoice(session, int(r.our_id)) for r in rows}
            units = {u.code: u.unit for u in books.usage_types(session, partner_id)}
            ids = [i.id for i in invoices.values() if i is not None and i.id is not None]
            lines = InvoiceRepository(session).lines(ids)
        todo: list[tuple[OutboxRow, Invoice]] = []
        for row in rows:
            invoice = invoices[row.id]
            if row.our_id in stored:
                self.worker.complete(row, self.stats, "already pushed")
            elif invoice is None or invoice.number is None:
                self._fail(row, RejectedError(f"invoice {row.our_id} is not an issued invoice"))
            else:
                todo.append((row, invoice))
        if not todo:
            return
        customers = await self.ensure_customers(partner_id, {inv.client_id for _, inv in todo})
        await self.ensure_items(partner_id)
        remote_found = await self._find_attempted(todo)
        specs: list[tuple[OutboxRow, InvoiceSpec]] = []
        for row, invoice in todo:
            number = invoice.number or ""
            customer = customers.get(invoice.client_id)
            if number in remote_found:
                self._record(row, RefKind.INVOICE, remote_found[number].ref, None, "found remotely")
            elif not isinstance(customer, RemoteRef):
                error = customer or RejectedError(f"client {invoice.client_id} not synced")
                self._fail(row, _with_context(error, f"customer {invoice.client_id}"))
            else:
                try:
                    spec = invoice_spec(
                        invoice, lines[invoice.id or 0], self.remote.mapping, customer, units=units
                    )
                except Exception as exc:
                    self._fail(row, exc, f"invoice {number}")
                    continue
                specs.append((row, spec))
        if not specs:
            return
        keys = [
            idempotency_key(self.connection.id, row.op, row.our_id, str(row.billing_event_id))
            for row, _ in specs
        ]
        with self.worker.write() as session:  # committed before the create is sent
            mark_attempted(session, self.connection.id, [row.our_id for row, _ in specs])
        results = await self.connector.push_invoices([s for _, s in specs], keys)
        for (row, spec), result in zip(specs, results, strict=True):
            if isinstance(result, ConnectorError):
                self._fail(row, result, f"invoice {spec.number}")
            else:
                self._record(row, RefKind.INVOICE, result, spec_hash(spec))

    async def _find_attempted(
        self, todo: Sequence[tuple[OutboxRow, Invoice]]
    ) -> dict[str, RemoteInvoice]:
        """Look up remotely only the invoices whose create may already have reached the
        remote: those marked attempted on this connection (by any row, backfill included),
        and rows on a later attempt (a safety net for creates sent before markers existed).
        A first create sends nothing extra: under Xero's 60 calls a minute the lookup was a
        quarter of the calls."""
        with self.worker.read() as session:
            marked = attempted(session, self.connection.id, [r.our_id for r, _ in todo])
        numbers = [
            inv.number or "" for row, inv in todo if row.our_id in marked or row.attempts > 1
        ]
        if not numbers:
            return {}
        return await self.connector.find_invoices(numbers)

    def _record(
        self,
        row: OutboxRow,
        kind: RefKind,
        ref: RemoteRef,
        digest: str | None,
        note: str | None = None,
    ) -> None:
        """The reference and the row's completion, in one transaction."""
        with self.worker.write() as session:
            put_ref(session, self.connection.id, kind, row.our_id, ref, digest)
            self.worker.complete_in(session, row, self.stats, note)

    async def _invoice_ref(self, invoice: Invoice) -> RemoteRef | None:
        with self.worker.read() as session:
            stored = get_ref(session, self.connection.id, RefKind.INVOICE, str(invoice.id))
        if stored is not None:
            return remote_ref(stored)
        found = await self.connector.find_invoices([invoice.number or ""])
        hit = found.get(invoice.number or "")
        if hit is None:
            return None
        with self.worker.write() as session:
            put_ref(session, self.connection.id, RefKind.INVOICE, str(invoice.id), hit.ref)
        return hit.ref

    async def void_invoice(self, row: OutboxRow) -> None:
        with self.worker.read() as session:
            invoice = books.invoice(session, int(row.our_id))
        if invoice is None:
            raise RejectedError(f"invoice {row.our_id} no longer exists")
        ref = await self._invoice_ref(invoice)
        if ref is None:
            self.worker.complete(row, self.stats, "never reached the remote: nothing to void")
            return
        key = idempotency_key(self.connection.id, row.op, row.our_id, str(row.billing_event_id))
        voided = await self.connector.void_invoice(ref, key)
        self._record(row, RefKind.INVOICE, voided, None)

    async def push_credit_note(self, row: OutboxRow) -> None:
        if Capability.CREDIT_NOTES not in self.connector.capabilities:
            self.worker.complete(row, self.stats, f"{self.connection.provider} has no credit notes")
            return
        with self.worker.read() as session:
            note = books.credit_note(session, int(row.our_id))
            if note is None:
                raise RejectedError(f"credit note {row.our_id} no longer exists")
            invoice = books.invoice(session, note.invoice_id)
            assert note.id is not None
            note_lines = books.credit_note_lines(session, note.id)
            stored = get_ref(session, self.connection.id, RefKind.CREDIT_NOTE, row.our_id)
            customer = get_ref(session, self.connection.id, RefKind.CUSTOMER, note.client_id)
        if stored is not None:
            self.worker.complete(row, self.stats, "already pushed")
            return
        assert invoice is not None
        invoice_ref = await self._invoice_ref(invoice)
        if invoice_ref is None or customer is None:
            raise RejectedError(
                f"credit note {note.number}: invoice {invoice.number} is not in the remote yet; "
                "retry this row once the invoice is there"
            )
        spec = credit_note_spec(
            note,
            note_lines,
            self.remote.mapping,
            invoice_ref=invoice_ref,
            invoice_number=invoice.number or "",
            customer_ref=remote_ref(customer),
        )
        key = idempotency_key(self.connection.id, row.op, row.our_id, "1")
        ref = await self.connector.push_credit_note(spec, key)
        self._record(row, RefKind.CREDIT_NOTE, ref, spec_hash(spec))


def _with_context(error: Exception, what: str) -> Exception:
    """The same outcome, its message saying which object it was about."""
    if isinstance(error, RejectedError):
        return RejectedError(f"{what}: {error.message}", errors=error.errors, status=error.status)
    if isinstance(error, ConnectorError):
        named = copy.copy(error)  # the same error may stand for several rows
        named.message = f"{what}: {error.message}"
        return named
    return error
