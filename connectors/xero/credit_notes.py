"""Credit notes in Xero: an ACCRECCREDIT note per our credit note, allocated to the invoice it
credits.

Found by CreditNoteNumber before creating (a retried outbox row, or a create whose answer was
lost, never makes a second note). The allocation takes at most the invoice's amount due and
only on an approved invoice: a paid or draft invoice leaves the credit unallocated, as credit
on the contact the partner can refund or apply in Xero. A note with nothing left to allocate
is not allocated again. Both writes carry keys derived from the worker's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from connectors.base import RejectedError
from connectors.xero import payloads
from connectors.xero.queries import quote, request_key
from remote_specs import CreditNoteSpec, RemoteInvoice, RemoteRef, RemoteStatus

__all__ = ["push_credit_note"]


class XeroApi(Protocol):
    async def read(self, resource: str, params: Mapping[str, object] | None = None) -> Any: ...

    async def send(
        self,
        method: str,
        resource: str,
        body: Mapping[str, object],
        key: str,
        params: Mapping[str, object] | None = None,
    ) -> Any: ...

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice: ...


async def push_credit_note(api: XeroApi, spec: CreditNoteSpec, idempotency_key: str) -> RemoteRef:
    where = f"CreditNoteNumber=={quote(spec.number)}"
    existing = [
        note
        for note in (await api.read("CreditNotes", {"where": where})).get("CreditNotes") or ()
        if note.get("Status") not in ("DELETED", "VOIDED")
    ]
    if existing:
        note: Mapping[str, Any] = existing[0]
    else:
        try:
            body, unitdp = payloads.credit_note_payload(spec)
        except ValueError as exc:
            raise RejectedError(
                f"credit note {spec.number} cannot be sent to Xero: {exc}", status=None
            ) from None
        data = await api.send(
            "PUT",
            "CreditNotes",
            {"CreditNotes": [body]},
            request_key([idempotency_key], op="credit", suffix="create"),
            {"unitdp": 4} if unitdp else None,
        )
        note = data["CreditNotes"][0]
    ref = RemoteRef(
        remote_id=str(note["CreditNoteID"]),
        version=payloads.version_of(note),
        number=note.get("CreditNoteNumber"),
    )
    remaining = payloads.to_cents(note.get("RemainingCredit", note.get("Total")), spec.currency)
    if remaining <= 0:
        return ref
    invoice = await api.fetch_invoice(spec.invoice)
    amount = min(remaining, invoice.amount_due_minor)
    if invoice.status not in (RemoteStatus.OPEN, RemoteStatus.PARTIALLY_PAID) or amount <= 0:
        return ref
    await api.send(
        "PUT",
        f"CreditNotes/{ref.remote_id}/Allocations",
        payloads.allocation_payload(spec.invoice.remote_id, amount, spec.currency, spec.issue_date),
        request_key([idempotency_key], op="credit", suffix="allocate"),
    )
    return ref
