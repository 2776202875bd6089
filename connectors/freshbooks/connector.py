"""`FreshBooksConnector`: the `connectors.base.PaymentsConnector` for one FreshBooks account.

Every request goes through our `HttpClient` (bearer token, the account's rate budget, retries,
FreshBooks error parsing) to ``/accounting/account/{account_id}/...``.

FreshBooks documents no idempotency key and no batch endpoint, so exactly-once rests on
lookups by our own keys before every create, and again after a create whose outcome is
uncertain (a timeout after sending): clients by the ``[rebill:<id>]`` marker in their note
(then by organization name), items by name, invoices by ``invoice_number`` (ours), credit
notes by ``credit_number``, payments by the marker in their note among the invoice's payments.

Invoices are created as drafts and then marked as sent (``action_mark_as_sent``) unless the
partner keeps drafts; a draft found by number is marked then, so a crash between the two
calls heals on the next push. FreshBooks has no void: voiding deletes (``vis_state`` 1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from connectors.base import Capability, ConnectorError, FieldError, NotFoundError, RejectedError
from connectors.freshbooks import payloads
from connectors.freshbooks.api import MAX_PAGE_SIZE, Element, FreshBooksApi
from connectors.http import HttpClient
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    PaymentSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
    RemoteStatus,
)

__all__ = ["MAX_PAGE_SIZE", "FreshBooksConnector"]

logger = logging.getLogger("connectors.freshbooks")


def _same_length(values: Sequence[object], keys: Sequence[str]) -> None:
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} elements but {len(keys)} idempotency keys")


def _id(element: Element, key: str) -> str:
    return str(element.get(key) or element.get("id"))


class FreshBooksConnector(FreshBooksApi):
    provider = "freshbooks"
    capabilities = frozenset(
        {
            Capability.CUSTOMERS,
            Capability.ITEMS,
            Capability.INVOICES,
            Capability.VOID,
            Capability.CREDIT_NOTES,
            Capability.PAYMENTS,
        }
    )
    max_batch = 1  # FreshBooks has no batch endpoint

    def __init__(
        self,
        client: HttpClient,
        *,
        connection_id: str,
        account_id: str,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        super().__init__(
            client, connection_id=connection_id, account_id=account_id, page_size=page_size
        )
        self._items: dict[str, Element] | None = None  # name (casefolded) → item

    # -- clients ------------------------------------------------------------------------------
    async def _find_client(self, spec: CustomerSpec) -> Element | None:
        """By our marker in the note (among clients with the e-mail or name), then by
        organization name."""
        candidates: list[Element] = []
        if spec.email:
            candidates += await self._pages(
                "users/clients", "clients", {"search[email]": spec.email}
            )
        candidates += await self._pages(
            "users/clients", "clients", {"search[organization_like]": spec.display_name}
        )
        live = [c for c in candidates if int(c.get("vis_state") or 0) != payloads.DELETED]
        for client in live:
            if payloads.reference_in(client.get("note")) == spec.reference:
                return client
        name = spec.display_name.casefold()
        for client in live:
            theirs = payloads.reference_in(client.get("note"))
            if str(client.get("organization") or "").casefold() == name and theirs is None:
                return client
        return None

    async def find_customers(self, references: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        found = [await self._find_client(spec) for spec in references]
        return [None if c is None else RemoteRef(remote_id=_id(c, "id")) for c in found]

    async def upsert_customers(
        self, customers: Sequence[CustomerSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Create the clients not found; a client found by name gets our marker (and a changed
        e-mail or name) with one update."""
        _same_length(customers, idempotency_keys)
        return [await self._settle(self._upsert_client(spec)) for spec in customers]

    async def _upsert_client(self, spec: CustomerSpec) -> RemoteRef:
        wanted = payloads.client_payload(spec)
        existing = await self._find_client(spec)
        if existing is None:

            async def again() -> Element | None:
                return await self._find_client(spec)

            existing = await self._create("users/clients", "client", wanted, again)
        elif any(str(existing.get(k) or "") != str(wanted.get(k) or "") for k in wanted):
            client_id = _id(existing, "id")
            existing = await self._send("PUT", f"users/clients/{client_id}", "client", wanted)
        return RemoteRef(remote_id=_id(existing, "id"))

    # -- items --------------------------------------------------------------------------------
    async def _load_items(self) -> dict[str, Element]:
        items = await self._pages("items/items", "items", {})
        self._items = {
            str(i.get("name") or "").casefold(): i
            for i in items
            if int(i.get("vis_state") or 0) != payloads.DELETED
        }
        return self._items

    async def ensure_items(
        self, items: Sequence[ItemSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Items are few (one per usage type): read them all once, create the missing ones."""
        _same_length(items, idempotency_keys)
        known = await self._load_items()
        results: list[RemoteRef | ConnectorError] = []
        for spec in items:
            name = str(payloads.item_payload(spec)["name"])
            item = known.get(name.casefold())
            if item is None:

                async def again(name: str = name) -> Element | None:
                    return (await self._load_items()).get(name.casefold())

                answer = await self._settle(
                    self._create("items/items", "item", payloads.item_payload(spec), again)
                )
                if isinstance(answer, ConnectorError):
                    results.append(answer)
                    continue
                item = known[name.casefold()] = answer
            results.append(RemoteRef(remote_id=_id(item, "itemid"), number=name))
        return results

    async def _check_items(self, lines: Sequence[LineSpec], what: str) -> None:
        """FreshBooks lines name their item by text and accept any: a name that is not an
        item would silently miss the partner's item reports, so it is refused here."""
        names = {line.item_code for line in lines if line.item_code}
        if not names:
            return
        known = self._items if self._items is not None else await self._load_items()
        if any(n.casefold() not in known for n in names):
            known = await self._load_items()
        errors = [
            FieldError(
                message=f"no item named {line.item_code!r} in FreshBooks",
                field=f"lines[{index}].name",
                code="item",
            )
            for index, line in enumerate(lines)
            if line.item_code and line.item_code.casefold() not in known
        ]
        if errors:
            raise RejectedError(
                f"FreshBooks rejected {what}: {errors[0].message} (field {errors[0].field}); "
                "check item_names in [partner.connections.freshbooks]",
                errors=errors,
                status=None,
            )

    # -- invoices -----------------------------------------------------------------------------
    async def _invoices_numbered(self, number: str, *, deleted: bool = False) -> list[Element]:
        params: dict[str, object] = {"search[invoice_number]": number}
        if deleted:
            params["search[vis_state]"] = payloads.DELETED
        found = await self._pages("invoices/invoices", "invoices", params)
        return [i for i in found if str(i.get("invoice_number")) == number]

    async def _live_invoice(self, number: str) -> Element | None:
        live = await self._invoices_numbered(number)
        return next((i for i in live if int(i.get("vis_state") or 0) != payloads.DELETED), None)

    async def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        """By invoice_number; a live invoice wins over a deleted (voided) one."""
        found: dict[str, RemoteInvoice] = {}
        for number in sorted(set(numbers)):
            live = await self._live_invoice(number)
            if live is not None:
                found[number] = payloads.remote_invoice(live)
                continue
            dead = await self._invoices_numbered(number, deleted=True)
            if dead:
                found[number] = payloads.remote_invoice(dead[0])
        return found

    async def push_invoices(
        self, invoices: Sequence[InvoiceSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        _same_length(invoices, idempotency_keys)
        return [await self._settle(self._push_invoice(spec)) for spec in invoices]

    async def _push_invoice(self, spec: InvoiceSpec) -> RemoteRef:
        await self._check_items(spec.lines, f"the invoice {spec.number}")
        invoice = await self._live_invoice(spec.number)
        if invoice is None:

            async def again() -> Element | None:
                return await self._live_invoice(spec.number)

            body = payloads.invoice_payload(spec)
            invoice = await self._create("invoices/invoices", "invoice", body, again)
        remote = payloads.remote_invoice(invoice)
        if not spec.draft and remote.status is RemoteStatus.DRAFT:
            invoice = await self._send(
                "PUT",
                f"invoices/invoices/{remote.ref.remote_id}",
                "invoice",
                {"action_mark_as_sent": True},
            )
            remote = payloads.remote_invoice(invoice)
        if remote.total_minor != spec.total_minor:
            logger.warning(
                "freshbooks invoice %s: remote total %d != ours %d (%s)",
                spec.number,
                remote.total_minor,
                spec.total_minor,
                spec.currency,
            )
        return remote.ref

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice:
        result = await self._get(f"invoices/invoices/{invoice.remote_id}")
        element = result.get("invoice")
        if not isinstance(element, Mapping):
            raise NotFoundError(f"FreshBooks has no invoice {invoice.remote_id}")
        return payloads.remote_invoice(element)

    async def list_invoices(self, start: date, end: date) -> list[RemoteInvoice]:
        """Every invoice dated in [start, end], deleted (voided) ones included."""
        params: dict[str, object] = {
            "search[date_min]": start.isoformat(),
            "search[date_max]": end.isoformat(),
        }
        live = await self._pages("invoices/invoices", "invoices", params)
        dead = await self._pages(
            "invoices/invoices", "invoices", {**params, "search[vis_state]": payloads.DELETED}
        )
        seen: set[str] = set()
        listed: list[RemoteInvoice] = []
        for element in [*live, *dead]:
            invoice = payloads.remote_invoice(element)
            if invoice.ref.remote_id not in seen:
                seen.add(invoice.ref.remote_id)
                listed.append(invoice)
        return listed

    async def void_invoice(self, invoice: RemoteRef, idempotency_key: str) -> RemoteRef:
        """Delete (``vis_state`` 1): FreshBooks has no void. Already deleted → nothing to do;
        with payments → the partner must remove them in FreshBooks first."""
        current = await self.fetch_invoice(invoice)
        if current.status is RemoteStatus.VOID:
            return current.ref
        if current.amount_paid_minor > 0:
            raise RejectedError(
                f"FreshBooks invoice {current.number} has payments; remove them in FreshBooks "
                "before it can be voided",
                status=None,
            )
        element = await self._send(
            "PUT",
            f"invoices/invoices/{invoice.remote_id}",
            "invoice",
            {"vis_state": payloads.DELETED},
        )
        return payloads.remote_invoice(element).ref

    # -- credit notes -------------------------------------------------------------------------
    async def _credit_note(self, spec: CreditNoteSpec) -> Element | None:
        notes = await self._pages(
            "credit_notes/credit_notes",
            "credit_notes",
            {"search[clientid]": spec.customer.remote_id},
        )
        return next(
            (
                n
                for n in notes
                if str(n.get("credit_number")) == spec.number
                and int(n.get("vis_state") or 0) != payloads.DELETED
            ),
            None,
        )

    async def push_credit_note(
        self, credit_note: CreditNoteSpec, idempotency_key: str
    ) -> RemoteRef:
        """A FreshBooks credit note for the client, found by ``credit_number`` first. It is
        left for the partner to apply in FreshBooks (the API offers no allocation)."""
        await self._check_items(credit_note.lines, f"the credit note {credit_note.number}")
        note = await self._credit_note(credit_note)
        if note is None:

            async def again() -> Element | None:
                return await self._credit_note(credit_note)

            body = payloads.credit_note_payload(credit_note)
            note = await self._create("credit_notes/credit_notes", "credit_note", body, again)
        return RemoteRef(
            remote_id=_id(note, "creditid"), number=str(note.get("credit_number") or "") or None
        )

    # -- payments -----------------------------------------------------------------------------
    async def _payment_for(self, spec: PaymentSpec) -> Element | None:
        payments = await self._pages(
            "payments/payments", "payments", {"search[invoiceid]": spec.invoice.remote_id}
        )
        return next(
            (
                p
                for p in payments
                if payloads.reference_in(p.get("note")) == spec.reference
                and int(p.get("vis_state") or 0) != payloads.DELETED
            ),
            None,
        )

    async def record_payment(self, payment: PaymentSpec, idempotency_key: str) -> RemoteRef:
        """Against the invoice, exactly once: looked up by our marker before creating."""
        if payment.amount_minor <= 0:
            raise RejectedError(
                f"payment {payment.reference}: amount must be positive, got {payment.amount_minor}",
                errors=(FieldError(message="must be positive", field="payment.amount"),),
                status=None,
            )
        found = await self._payment_for(payment)
        if found is None:

            async def again() -> Element | None:
                return await self._payment_for(payment)

            body = payloads.payment_payload(payment)
            found = await self._create("payments/payments", "payment", body, again)
        return RemoteRef(remote_id=_id(found, "paymentid"))

    async def list_payments(self, start: date, end: date) -> list[RemotePayment]:
        params = {"search[date_min]": start.isoformat(), "search[date_max]": end.isoformat()}
        records = await self._pages("payments/payments", "payments", params)
        return [payloads.remote_payment(record) for record in records]

    # -- references and lifetime ----------------------------------------------------
    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        """Item names (``item_names.<usage type>``) must name items; FreshBooks has no
        accounts, tax codes or classes a mapping could name."""
        missing: dict[str, str] = {}
        if not references:
            return missing
        known = await self._load_items()
        for path, name in references.items():
            if path.split(".", 1)[0] not in ("item_names", "items"):
                missing[path] = "not something FreshBooks lets a mapping name"
            elif name.casefold() not in known:
                missing[path] = f"no FreshBooks item named {name!r}"
        return missing

    async def aclose(self) -> None:
        await self.client.aclose()
