"""`XeroConnector`: the `connectors.base.Connector` for one Xero organisation (tenant).

Every request goes through our `HttpClient` (bearer token, the tenant's shared rate budget,
retries, Xero error parsing) with ``xero-tenant-id`` set, by way of the base class
`transport.XeroTransport` (requests, batches, pages). Writes carry an ``Idempotency-Key``
(see `queries.request_key`) and send many elements per request with ``summarizeErrors=false``,
so Xero answers 200 with each element marked ``OK`` or ``ERROR``: one bad invoice is one
`RejectedError` in the result list, never a failed batch of 50.

Before creating, lookups use our keys: contacts by ContactNumber (our client id) then Name,
items by Code, invoices by InvoiceNumber, credit notes by CreditNoteNumber.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date

from connectors.base import Capability, ConnectorError, RejectedError, RetryableError
from connectors.xero import payloads, payments
from connectors.xero.credit_notes import push_credit_note
from connectors.xero.queries import chunks, date_where, equals_any, request_key
from connectors.xero.references import check_references
from connectors.xero.results import (
    check_total,
    contact_differs,
    contact_ref,
    invoice_ref,
    is_dead,
    is_duplicate_number,
    is_ours,
    item_ref,
    same_length,
    settled,
)
from connectors.xero.transport import MAX_BATCH, Element, XeroTransport
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    PaymentSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
    RemoteStatus,
)

__all__ = ["XeroConnector"]

LOOKUP_CHUNK = 50  # values per `where`/`InvoiceNumbers` lookup: one batch, one lookup


class XeroConnector(XeroTransport):
    provider = "xero"
    capabilities = frozenset(
        {
            Capability.CUSTOMERS,
            Capability.ITEMS,
            Capability.INVOICES,
            Capability.BATCH,
            Capability.VOID,
            Capability.CREDIT_NOTES,
            Capability.PAYMENTS,
            Capability.IDEMPOTENCY_KEYS,
        }
    )
    max_batch = MAX_BATCH

    # -- contacts -------------------------------------------------------------------------------
    async def _find_contacts(
        self, specs: Sequence[CustomerSpec]
    ) -> tuple[list[Element | None], set[int]]:
        """Each spec's contact (by ContactNumber, else by Name when that contact has no
        number of its own), and the specs whose Name belongs to another numbered contact.
        One ``ContactNumber==... OR Name==...`` read per `LOOKUP_CHUNK` specs: under Xero's
        60 calls a minute, a second read per batch would cost a quarter of the throughput."""
        found: list[Element | None] = [None] * len(specs)
        numbers = [str(payloads.contact_payload(spec)["ContactNumber"]) for spec in specs]
        by_number: dict[str, Element] = {}
        by_name: dict[str, Element] = {}
        for part in chunks(range(len(specs)), LOOKUP_CHUNK):
            wanted_numbers = sorted({numbers[i] for i in part})
            wanted_names = sorted({specs[i].display_name for i in part})
            where = (
                f"{equals_any('ContactNumber', wanted_numbers)} OR "
                f"{equals_any('Name', wanted_names)}"
            )
            data = await self.read("Contacts", {"where": where})
            for contact in data.get("Contacts") or ():
                number = str(contact.get("ContactNumber") or "")
                if number in wanted_numbers:
                    by_number.setdefault(number, contact)
                by_name.setdefault(str(contact.get("Name", "")).casefold(), contact)
        taken: set[int] = set()
        for index, spec in enumerate(specs):
            found[index] = by_number.get(numbers[index])
            if found[index] is not None:
                continue
            named = by_name.get(spec.display_name.casefold())
            if named is None:
                continue
            if named.get("ContactNumber") in (None, "", numbers[index]):
                found[index] = named  # the partner's own contact for this client: adopt it
            else:
                taken.add(index)  # another client's: ours needs a distinct name
        return found, taken

    async def find_customers(self, references: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        found, _ = await self._find_contacts(references)
        return [None if contact is None else contact_ref(contact) for contact in found]

    async def upsert_customers(
        self, customers: Sequence[CustomerSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Create the contacts not found (PUT); bring found ones up to date (POST) when their
        name, number or e-mail differ: a contact found by Name gets our ContactNumber. Xero
        names are unique, so a client whose name another client's contact holds is created
        as ``Name [client id]`` (and kept so)."""
        same_length(customers, idempotency_keys)
        results: list[RemoteRef | ConnectorError | None] = [None] * len(customers)
        creates: list[int] = []
        updates: dict[int, str] = {}  # index -> ContactID
        wanted = list(customers)
        found, taken = await self._find_contacts(customers)
        for index, existing in enumerate(found):
            spec = customers[index]
            distinct = f"{spec.display_name} [{spec.reference}]"
            if index in taken or (existing is not None and existing.get("Name") == distinct):
                wanted[index] = dataclasses.replace(spec, display_name=distinct)
            if existing is None:
                creates.append(index)
            elif contact_differs(existing, payloads.contact_payload(wanted[index])):
                updates[index] = str(existing["ContactID"])
            else:
                results[index] = contact_ref(existing)
        for method, indexes in (("PUT", creates), ("POST", list(updates))):
            if not indexes:
                continue
            bodies = [payloads.contact_payload(wanted[i], updates.get(i)) for i in indexes]
            answers = await self._batch(
                method,
                "Contacts",
                bodies,
                [idempotency_keys[i] for i in indexes],
                noun="the contact",
                label="Name",
            )
            for i, answer in zip(indexes, answers, strict=True):
                results[i] = answer if isinstance(answer, ConnectorError) else contact_ref(answer)
        return [settled(result) for result in results]

    # -- items ----------------------------------------------------------------------------------
    async def ensure_items(
        self, items: Sequence[ItemSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Items are few (one per usage type): read them all once, create the missing ones."""
        same_length(items, idempotency_keys)
        data = await self.read("Items")
        by_code = {str(i.get("Code", "")).casefold(): i for i in data.get("Items") or ()}
        results: list[RemoteRef | ConnectorError | None] = [None] * len(items)
        missing: list[int] = []
        for index, spec in enumerate(items):
            existing = by_code.get(spec.code.casefold())
            if existing is None:
                missing.append(index)
            else:
                results[index] = item_ref(existing)
        answers = await self._batch(
            "PUT",
            "Items",
            [payloads.item_payload(items[i]) for i in missing],
            [idempotency_keys[i] for i in missing],
            noun="the item",
            label="Code",
        )
        for i, answer in zip(missing, answers, strict=True):
            results[i] = answer if isinstance(answer, ConnectorError) else item_ref(answer)
        return [settled(result) for result in results]

    # -- invoices -------------------------------------------------------------------------------
    async def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        """By InvoiceNumber, all statuses; a live invoice wins over a voided/deleted one with
        the same number."""
        found: dict[str, RemoteInvoice] = {}
        wanted = sorted(set(numbers))
        plain = [n for n in wanted if "," not in n]
        for part in chunks(plain, LOOKUP_CHUNK):
            await self._collect(found, {"InvoiceNumbers": ",".join(part)}, set(part))
        for part in chunks([n for n in wanted if "," in n], LOOKUP_CHUNK):
            await self._collect(found, {"where": equals_any("InvoiceNumber", part)}, set(part))
        return found

    async def _collect(
        self, found: dict[str, RemoteInvoice], params: Mapping[str, object], numbers: set[str]
    ) -> None:
        for element in await self._pages("Invoices", params):
            if element.get("Type", "ACCREC") != "ACCREC":
                continue
            invoice = payloads.remote_invoice(element)
            if invoice.number not in numbers:
                continue
            current = found.get(invoice.number)
            if current is None or (is_dead(current) and not is_dead(invoice)):
                found[invoice.number] = invoice

    async def push_invoices(
        self, invoices: Sequence[InvoiceSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Create invoices, 50 a request. An element refused because its number exists is
        looked up: when that invoice is ours (same contact, same total, not voided) its
        reference is the answer (the create happened earlier, under another key); otherwise
        the refusal stands."""
        same_length(invoices, idempotency_keys)
        results: list[RemoteRef | ConnectorError | None] = [None] * len(invoices)
        bodies: list[Mapping[str, object]] = []
        sent: list[int] = []
        unitdp = False
        for index, spec in enumerate(invoices):
            try:
                body, needs = payloads.invoice_payload(spec)
            except ValueError as exc:
                results[index] = RejectedError(
                    f"invoice {spec.number} cannot be sent to Xero: {exc}", status=None
                )
                continue
            bodies.append(body)
            sent.append(index)
            unitdp = unitdp or needs
        answers = await self._batch(
            "PUT",
            "Invoices",
            bodies,
            [idempotency_keys[i] for i in sent],
            noun="the invoice",
            label="InvoiceNumber",
            unitdp=unitdp,
        )
        duplicates: list[int] = []
        for index, answer in zip(sent, answers, strict=True):
            if isinstance(answer, ConnectorError):
                results[index] = answer
                if isinstance(answer, RejectedError) and is_duplicate_number(answer):
                    duplicates.append(index)
                continue
            check_total(invoices[index], answer)
            results[index] = invoice_ref(answer)
        if duplicates:
            found = await self.find_invoices([invoices[i].number for i in duplicates])
            for index in duplicates:
                spec = invoices[index]
                existing = found.get(spec.number)
                if existing is not None and is_ours(existing, spec):
                    results[index] = existing.ref
        return [settled(result) for result in results]

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice:
        data = await self.read(f"Invoices/{invoice.remote_id}", {"unitdp": 4})
        elements = data.get("Invoices") or ()
        if not elements:
            raise RetryableError(f"Xero answered no invoice for {invoice.remote_id}")
        return payloads.remote_invoice(elements[0])

    async def list_invoices(self, start: date, end: date) -> list[RemoteInvoice]:
        elements = await self._pages("Invoices", {"where": date_where(start, end)})
        return [payloads.remote_invoice(element) for element in elements]

    async def record_payment(self, payment: PaymentSpec, idempotency_key: str) -> RemoteRef:
        """A Payment against the invoice (`connectors.xero.payments`)."""
        return await payments.record_payment(self, payment, idempotency_key)

    async def list_payments(self, start: date, end: date) -> list[RemotePayment]:
        return await payments.list_payments(self._pages, start, end)

    async def void_invoice(self, invoice: RemoteRef, idempotency_key: str) -> RemoteRef:
        """AUTHORISED → VOIDED; DRAFT/SUBMITTED → DELETED (Xero voids only approved
        invoices); already voided/deleted → nothing to do; paid → the partner must remove the
        payment in Xero first."""
        current = await self.fetch_invoice(invoice)
        if current.status in (RemoteStatus.VOID, RemoteStatus.DELETED):
            return current.ref
        if current.amount_paid_minor > 0 or current.status is RemoteStatus.PAID:
            raise RejectedError(
                f"Xero invoice {current.number} has payments or allocated credit; remove "
                "them in Xero before it can be voided",
                status=None,
            )
        status = "DELETED" if current.status is RemoteStatus.DRAFT else "VOIDED"
        data = await self.send(
            "POST",
            f"Invoices/{invoice.remote_id}",
            {"Invoices": [{"InvoiceID": invoice.remote_id, "Status": status}]},
            request_key([idempotency_key], op="void"),
        )
        return invoice_ref(data["Invoices"][0])

    # -- credit notes ---------------------------------------------------------------------------
    async def push_credit_note(
        self, credit_note: CreditNoteSpec, idempotency_key: str
    ) -> RemoteRef:
        return await push_credit_note(self, credit_note, idempotency_key)

    # -- references and lifetime ------------------------------------------------------------
    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        return await check_references(self.read, references)

    async def aclose(self) -> None:
        await self.client.aclose()
