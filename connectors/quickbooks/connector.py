"""`QuickBooksConnector`: the `connectors.base.Connector` of one QuickBooks Online company.

Exactly once, in three layers: every write carries a `requestid` derived from our idempotency
key (QuickBooks answers a replay with the first result); before creating an invoice or credit
memo we look its DocNumber up (a write that timed out after QuickBooks committed it is found,
not repeated); and a duplicate-number rejection (6140) is read as "it exists" and answered with
the existing object. Customers and items are found by name first for the same reason.

Many invoices or customers go through `/batch` (30 per request, each element answered on its
own); a single one goes alone. A stale SyncToken on void is re-read and retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import (
    Capability,
    ConnectorError,
    FieldError,
    NotFoundError,
    RejectedError,
    RetryableError,
)
from connectors.quickbooks import payments
from connectors.quickbooks.api import BATCH_MAX, QuickBooksApi
from connectors.quickbooks.customers import Customers
from connectors.quickbooks.errors import DUPLICATE_NAME, DUPLICATE_NUMBER, has_code
from connectors.quickbooks.payloads import (
    DOC_NUMBER_MAX,
    credit_application_payload,
    credit_memo_payload,
    invoice_payload,
    is_voided,
    item_payload,
    payment_ids,
    remote_invoice,
    remote_payments,
    remote_ref,
)
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    PaymentSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
)

__all__ = ["QuickBooksConnector"]

logger = logging.getLogger("rebill.connectors.quickbooks")

Result = RemoteRef | ConnectorError
_STALE_RETRIES = 3
_REFERENCE_ENTITIES = (("tax_code", "TaxCode"), ("account", "Account"), ("class", "Class"))


class QuickBooksConnector:
    provider = "quickbooks"
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
    max_batch = BATCH_MAX

    def __init__(self, api: QuickBooksApi) -> None:
        self.api = api
        self._customers = Customers(api)
        self._items: dict[str, str] = {}  # our item code (QuickBooks Name) → Item Id
        self._home_currency: str | None = None
        self._home_known = False

    async def aclose(self) -> None:
        await self.api.client.aclose()

    async def home_currency(self) -> str | None:
        """The company's home currency (Preferences), read once; None when unreadable, and
        then CurrencyRef is always sent."""
        if not self._home_known:
            rows = await self.api.query("Preferences", order_by=None)
            prefs = rows[0] if rows else {}
            home = ((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value")
            self._home_currency = str(home) if home else None
            self._home_known = True
        return self._home_currency

    # ---- customers (see `connectors.quickbooks.customers`) -------------------------------
    async def find_customers(self, references: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        return await self._customers.find(references)

    async def upsert_customers(
        self, customers: Sequence[CustomerSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        _same_length(customers, idempotency_keys)
        return await self._customers.upsert(customers, idempotency_keys)

    # ---- items ----------------------------------------------------------------------------
    async def _known_items(self, codes: Sequence[str]) -> None:
        missing = [c for c in codes if c not in self._items]
        if missing:
            for row in await self.api.query_in("Item", "Name", missing):
                self._items[str(row["Name"])] = str(row["Id"])

    async def ensure_items(
        self, items: Sequence[ItemSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        _same_length(items, idempotency_keys)
        await self._known_items([i.code for i in items])
        todo = [
            (i, item_payload(spec)) for i, spec in enumerate(items) if spec.code not in self._items
        ]
        created = await self._create_many("Item", todo, idempotency_keys)
        results: list[Result] = []
        for i, spec in enumerate(items):
            outcome = created.get(i)
            if isinstance(outcome, RemoteRef):
                self._items[spec.code] = outcome.remote_id
            elif isinstance(outcome, ConnectorError) and has_code(outcome, DUPLICATE_NAME):
                outcome = await self._revive_item(spec.code, idempotency_keys[i], outcome)
            if spec.code in self._items:
                results.append(RemoteRef(remote_id=self._items[spec.code]))
            else:
                results.append(
                    outcome if outcome is not None else NotFoundError(f"item {spec.code}")
                )
        return results

    async def _revive_item(self, code: str, key: str, error: ConnectorError) -> ConnectorError:
        """6240 on create: the name exists, created meanwhile (active) or made inactive by the
        partner (QuickBooks hides inactive items from queries): reactivate it."""
        await self._known_items([code])
        if code in self._items:
            return error
        rows = await self.api.query_in("Item", "Name", [code], include_inactive=True)
        if not rows:
            return error
        try:
            revived = await self.api.reactivate("Item", rows[0], key)
        except ConnectorError as failure:
            return failure
        self._items[code] = str(revived["Id"])
        return error

    async def _create_many(
        self, entity: str, todo: Sequence[tuple[int, dict[str, Any]]], keys: Sequence[str]
    ) -> dict[int, Result]:
        """Create each body (alone, or through /batch when several); index → outcome."""
        raw = await self._create_many_raw(entity, todo, keys)
        return {i: o if isinstance(o, ConnectorError) else remote_ref(o) for i, o in raw.items()}

    # ---- invoices -------------------------------------------------------------------------
    async def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        if not numbers:
            return {}
        home = await self.home_currency()
        found: dict[str, RemoteInvoice] = {}
        for row in await self.api.query_in("Invoice", "DocNumber", numbers):
            invoice = remote_invoice(row, home_currency=home)
            kept = found.get(invoice.number)
            if kept is None or (kept.status.value == "void" and not is_voided(row)):
                found[invoice.number] = invoice  # a live invoice wins over a voided twin
        return found

    async def push_invoices(
        self, invoices: Sequence[InvoiceSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        _same_length(invoices, idempotency_keys)
        if not invoices:
            return []
        existing = await self.find_invoices([s.number for s in invoices if _fits(s.number)])
        home = await self.home_currency()
        await self._known_items([ln.item_code for s in invoices for ln in s.lines if ln.item_code])
        todo = [
            (i, invoice_payload(spec, self._items, home_currency=home))
            for i, spec in enumerate(invoices)
            if spec.number not in existing and _fits(spec.number)
        ]
        created = await self._create_many_raw("Invoice", todo, idempotency_keys)
        results: list[Result] = []
        for i, spec in enumerate(invoices):
            if spec.number in existing:
                results.append(existing[spec.number].ref)
                continue
            if not _fits(spec.number):
                results.append(_too_long(spec.number))
                continue
            outcome = created[i]
            if isinstance(outcome, ConnectorError):
                results.append(await self._existing_on_duplicate(outcome, spec.number))
                continue
            total = remote_invoice(outcome, home_currency=home).total_minor
            if total != spec.total_minor:
                logger.warning(
                    "QuickBooks computed %s for invoice %s, ours is %s (tax code mapping?)",
                    total,
                    spec.number,
                    spec.total_minor,
                )
            results.append(remote_ref(outcome))
        return results

    async def _create_many_raw(
        self, entity: str, todo: Sequence[tuple[int, dict[str, Any]]], keys: Sequence[str]
    ) -> dict[int, dict[str, Any] | ConnectorError]:
        out: dict[int, dict[str, Any] | ConnectorError] = {}
        if len(todo) == 1:
            i, body = todo[0]
            try:
                out[i] = await self.api.write(entity, body, keys[i])
            except ConnectorError as error:
                out[i] = error
            return out
        for start in range(0, len(todo), BATCH_MAX):
            chunk = todo[start : start + BATCH_MAX]
            answers = await self.api.batch(
                entity, [b for _, b in chunk], [keys[i] for i, _ in chunk]
            )
            out.update({i: a for (i, _), a in zip(chunk, answers, strict=True)})
        return out

    async def _existing_on_duplicate(
        self, error: ConnectorError, number: str, entity: str = "Invoice"
    ) -> Result:
        """6140: the number is taken, most likely by our own earlier attempt: answer it."""
        if not has_code(error, DUPLICATE_NUMBER):
            return error
        rows = await self.api.query_in(entity, "DocNumber", [number])
        return remote_ref(rows[0]) if rows else error

    async def void_invoice(self, invoice: RemoteRef, idempotency_key: str) -> RemoteRef:
        """Void with the current SyncToken; already void is done; a stale token is re-read."""
        for attempt in range(_STALE_RETRIES):
            current = await self.api.get("Invoice", invoice.remote_id)
            if is_voided(current):
                return remote_ref(current)
            body = {"Id": current["Id"], "SyncToken": current["SyncToken"]}
            key = f"{idempotency_key}:{current['SyncToken']}"
            try:
                return remote_ref(await self.api.write("Invoice", body, key, operation="void"))
            except RetryableError as error:
                if error.status != 409 or attempt == _STALE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def push_credit_note(
        self, credit_note: CreditNoteSpec, idempotency_key: str
    ) -> RemoteRef:
        """Create the CreditMemo (found by DocNumber first), then apply it to the invoice it
        credits with a zero-amount Payment linking both, so the invoice's Balance drops. The
        application is repeated safely: it only happens while the memo has credit left."""
        if not _fits(credit_note.number):
            raise _too_long(credit_note.number)
        rows = await self.api.query_in("CreditMemo", "DocNumber", [credit_note.number])
        home = await self.home_currency()
        if rows:
            memo = rows[0]
        else:
            await self._known_items([ln.item_code for ln in credit_note.lines if ln.item_code])
            body = credit_memo_payload(credit_note, self._items, home_currency=home)
            try:
                memo = await self.api.write("CreditMemo", body, idempotency_key)
            except ConnectorError as error:
                if not has_code(error, DUPLICATE_NUMBER):
                    raise
                found = await self.api.query_in("CreditMemo", "DocNumber", [credit_note.number])
                if not found:
                    raise
                memo = found[0]
        await self._apply_credit(memo, credit_note, f"{idempotency_key}:apply", home)
        return remote_ref(memo)

    async def _apply_credit(
        self, memo: dict[str, Any], spec: CreditNoteSpec, key: str, home: str | None
    ) -> None:
        left = Decimal(str(memo.get("RemainingCredit", memo.get("Balance", 0)) or 0))
        if left <= 0 or not spec.invoice.remote_id:
            return
        invoice = await self.api.get("Invoice", spec.invoice.remote_id)
        balance = Decimal(str(invoice.get("Balance") or 0))
        if is_voided(invoice) or balance <= 0:
            return
        body = credit_application_payload(
            memo, invoice, min(left, balance), spec, home_currency=home
        )
        await self.api.write("Payment", body, key)

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice:
        row = await self.api.get("Invoice", invoice.remote_id)
        home = await self.home_currency()
        currency = str((row.get("CurrencyRef") or {}).get("value") or home or "USD")
        ids = payment_ids(row)
        payments = await self.api.query_in("Payment", "Id", ids) if ids else []
        return remote_invoice(
            row, home_currency=home, payments=remote_payments(str(row["Id"]), payments, currency)
        )

    async def list_invoices(self, start: date, end: date) -> list[RemoteInvoice]:
        home = await self.home_currency()
        where = f"TxnDate >= '{start.isoformat()}' AND TxnDate <= '{end.isoformat()}'"
        return [
            remote_invoice(row, home_currency=home)
            for row in await self.api.query("Invoice", where)
        ]

    async def record_payment(self, payment: PaymentSpec, idempotency_key: str) -> RemoteRef:
        """A Payment linked to the invoice (`connectors.quickbooks.payments`)."""
        home = await self.home_currency()
        return await payments.record_payment(self.api, payment, idempotency_key, home_currency=home)

    async def list_payments(self, start: date, end: date) -> list[RemotePayment]:
        home = await self.home_currency()
        return await payments.list_payments(self.api, start, end, home_currency=home)

    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        problems: dict[str, str] = {}
        wanted: dict[str, dict[str, list[str]]] = {}
        for path, remote_id in references.items():
            entity = next((e for word, e in _REFERENCE_ENTITIES if word in path.lower()), None)
            if entity is None:
                problems[path] = "not a QuickBooks reference this connector knows how to check"
                continue
            wanted.setdefault(entity, {}).setdefault(remote_id, []).append(path)
        for entity, ids in wanted.items():
            found = await self.api.query_in(entity, "Id", list(ids), include_inactive=True)
            rows = {str(r["Id"]): r for r in found}
            for remote_id, paths in ids.items():
                row = rows.get(remote_id)
                reason = None
                if row is None:
                    reason = f"no {entity} with Id {remote_id} in this QuickBooks company"
                elif row.get("Active") is False:
                    reason = f"{entity} {remote_id} ({row.get('Name', '')}) is inactive"
                elif entity == "Account" and row.get("AccountType") not in (
                    None,
                    "Income",
                    "Other Income",
                ):
                    reason = f"Account {remote_id} ({row.get('Name', '')}) is not an income account"
                if reason:
                    problems.update(dict.fromkeys(paths, reason))
        return problems


def _fits(number: str) -> bool:
    return 0 < len(number) <= DOC_NUMBER_MAX


def _too_long(number: str) -> RejectedError:
    reason = (
        f"QuickBooks allows 1 to {DOC_NUMBER_MAX} characters in a document number; "
        f"{number!r} has {len(number)}: shorten the partner's invoice number prefix"
    )
    return RejectedError(reason, errors=[FieldError(reason, field="DocNumber")], status=None)


def _same_length(objects: Sequence[object], keys: Sequence[str]) -> None:
    if len(objects) != len(keys):
        raise ValueError("idempotency_keys: one key per object, in order")
