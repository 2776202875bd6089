"""An in-memory `Connector`: stateful, exact, and able to fail in every way a remote can.

Holds customers (by our reference), items (by code), invoices (a list, so a duplicate number
is visible rather than refused) and credit notes. Writes replay by idempotency key like remotes
that support keys. Failures:
- `fail_next(method, outcome, count=1)`: the next calls of a method raise that outcome
  (`"retryable"`, `"rate_limited"`, `"auth_expired"`, `"rejected"`, `"not_found"`), or
  `"uncertain"`: the write is committed and then a `RetryableError(uncertain=True)` is raised,
  as a timeout after the remote accepted the request would;
- `failure_rate`: that share of all calls fail at random (half of the failing writes after
  committing), from a seeded generator.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.base import (
    AuthExpiredError,
    Capability,
    ConnectorError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    RemoteInvoice,
    RemoteRef,
    RemoteStatus,
)

__all__ = ["MemoryConnector", "MemoryRemote"]


def _error(outcome: str) -> ConnectorError:
    if outcome == "retryable":
        return RetryableError("remote answered 503", status=503)
    if outcome == "rate_limited":
        return RateLimitedError("too many requests", retry_after=30.0)
    if outcome == "auth_expired":
        return AuthExpiredError("the connection must be authorised again", status=401)
    if outcome == "rejected":
        return RejectedError(
            "validation failed",
            errors=[
                FieldError("Account code 999 is not a valid code", field="Line[0].AccountCode")
            ],
        )
    if outcome == "not_found":
        return NotFoundError("no such object")
    raise ValueError(outcome)


@dataclass
class MemoryRemote:
    """The remote's state, shared by every connector opened on it (like a real company file)."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failure_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _planned: dict[str, list[str]] = field(default_factory=dict)
    _ids: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def fail_next(self, method: str, outcome: str, count: int = 1) -> None:
        self._planned.setdefault(method, []).extend([outcome] * count)

    def invoices_by_number(self, number: str) -> list[dict[str, Any]]:
        return [i for i in self.invoices if i["number"] == number]

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def failure(self, method: str, write: bool) -> str | None:
        planned = self._planned.get(method)
        if planned:
            return planned.pop(0)
        if self.failure_rate and self.rng.random() < self.failure_rate:
            if write and self.rng.random() < 0.5:
                return "uncertain"
            return self.rng.choice(["retryable", "rate_limited", "retryable"])
        return None


class MemoryConnector:
    provider = "memory"
    capabilities = frozenset(Capability)

    def __init__(self, remote: MemoryRemote, max_batch: int = 10) -> None:
        self.remote = remote
        self.max_batch = max_batch
        self.closed = False

    # plumbing --------------------------------------------------------------------------
    def _before(self, method: str, write: bool = False) -> str | None:
        """Raise a planned failure before the call; answer "uncertain" to fail after it."""
        with self.remote.lock:
            self.remote.calls.append(method)
            outcome = self.remote.failure(method, write)
        if outcome is None or outcome == "uncertain":
            return outcome
        raise _error(outcome)

    @staticmethod
    def _after(outcome: str | None) -> None:
        if outcome == "uncertain":
            raise RetryableError("read timeout after sending", uncertain=True)

    def _replay(self, key: str, make: Any) -> Any:
        with self.remote.lock:
            if key not in self.remote.replies:
                self.remote.replies[key] = make()
            return self.remote.replies[key]

    # Connector -------------------------------------------------------------------------
    async def find_customers(self, references: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        self._before("find_customers")
        found: list[RemoteRef | None] = []
        for spec in references:
            customer = self.remote.customers.get(spec.reference)
            found.append(RemoteRef(customer["id"], str(customer["version"])) if customer else None)
        return found

    async def upsert_customers(
        self, customers: Sequence[CustomerSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        outcome = self._before("upsert_customers", write=True)
        results: list[RemoteRef | ConnectorError] = []
        for spec, key in zip(customers, idempotency_keys, strict=True):
            results.append(self._replay(key, lambda spec=spec: self._upsert_customer(spec)))
        self._after(outcome)
        return results

    def _upsert_customer(self, spec: CustomerSpec) -> RemoteRef:
        existing = self.remote.customers.get(spec.reference)
        if existing is None:
            existing = {"id": self.remote.next_id("C"), "version": 0}
            self.remote.customers[spec.reference] = existing
        existing.update(name=spec.display_name, email=spec.email, version=existing["version"] + 1)
        return RemoteRef(existing["id"], str(existing["version"]))

    async def ensure_items(
        self, items: Sequence[ItemSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        outcome = self._before("ensure_items", write=True)
        results: list[RemoteRef | ConnectorError] = []
        for spec in items:
            with self.remote.lock:
                item = self.remote.items.setdefault(
                    spec.code, {"id": self.remote.next_id("I"), "name": spec.name}
                )
            results.append(RemoteRef(item["id"], "0"))
        self._after(outcome)
        return results

    async def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        self._before("find_invoices")
        found: dict[str, RemoteInvoice] = {}
        for number in numbers:
            for invoice in self.remote.invoices_by_number(number):
                found[number] = self._read(invoice)
        return found

    def _read(self, invoice: dict[str, Any]) -> RemoteInvoice:
        status = RemoteStatus.VOID if invoice["void"] else RemoteStatus.OPEN
        return RemoteInvoice(
            ref=RemoteRef(invoice["id"], str(invoice["version"]), invoice["number"]),
            number=invoice["number"],
            customer_id=invoice["customer"],
            currency=invoice["currency"],
            issue_date=invoice["issue_date"],
            status=status,
            total_minor=invoice["total"],
            amount_due_minor=0 if invoice["void"] else invoice["total"],
            amount_paid_minor=0,
        )

    async def push_invoices(
        self, invoices: Sequence[InvoiceSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        outcome = self._before("push_invoices", write=True)
        results: list[RemoteRef | ConnectorError] = []
        for spec, key in zip(invoices, idempotency_keys, strict=True):
            results.append(self._replay(key, lambda spec=spec: self._create_invoice(spec)))
        self._after(outcome)
        return results

    def _create_invoice(self, spec: InvoiceSpec) -> RemoteRef | ConnectorError:
        known = {c["id"] for c in self.remote.customers.values()}
        if spec.customer.remote_id not in known:
            return RejectedError(
                "customer unknown", errors=[FieldError("no such customer", "CustomerRef")]
            )
        for line in spec.lines:
            if line.item_code not in self.remote.items:
                return RejectedError(
                    "item unknown", errors=[FieldError(f"no item {line.item_code}", "ItemRef")]
                )
        exponent = {"JPY": 0, "BHD": 3}.get(spec.currency, 2)
        # Recompute as a remote does: quantity x unit price per line, plus the tax amount.
        total = sum(int((ln.quantity * ln.unit_price).scaleb(exponent)) for ln in spec.lines)
        invoice = {
            "id": self.remote.next_id("INV"),
            "number": spec.number,
            "version": 0,
            "customer": spec.customer.remote_id,
            "currency": spec.currency,
            "issue_date": spec.issue_date,
            "total": total + spec.tax_minor,
            "void": False,
            "lines": len(spec.lines),
        }
        self.remote.invoices.append(invoice)
        return RemoteRef(invoice["id"], "0", spec.number)

    async def void_invoice(self, invoice: RemoteRef, idempotency_key: str) -> RemoteRef:
        outcome = self._before("void_invoice", write=True)
        matches = [i for i in self.remote.invoices if i["id"] == invoice.remote_id]
        if not matches:
            raise NotFoundError(f"invoice {invoice.remote_id} does not exist")
        target = matches[0]
        if not target["void"]:
            target.update(void=True, version=target["version"] + 1)
        self._after(outcome)
        return RemoteRef(target["id"], str(target["version"]), target["number"])

    async def push_credit_note(
        self, credit_note: CreditNoteSpec, idempotency_key: str
    ) -> RemoteRef:
        outcome = self._before("push_credit_note", write=True)

        def make() -> RemoteRef:
            note = {
                "id": self.remote.next_id("CN"),
                "number": credit_note.number,
                "invoice": credit_note.invoice.remote_id,
                "total": credit_note.total_minor,
            }
            self.remote.credit_notes.append(note)
            return RemoteRef(note["id"], "0", credit_note.number)

        ref: RemoteRef = self._replay(idempotency_key, make)
        self._after(outcome)
        return ref

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice:
        self._before("fetch_invoice")
        for candidate in self.remote.invoices:
            if candidate["id"] == invoice.remote_id:
                return self._read(candidate)
        raise NotFoundError(f"invoice {invoice.remote_id} does not exist")

    async def list_invoices(self, start: date, end: date) -> list[RemoteInvoice]:
        self._before("list_invoices")
        return [self._read(i) for i in self.remote.invoices if start <= i["issue_date"] <= end]

    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        self.closed = True
