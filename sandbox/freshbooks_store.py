"""The FreshBooks fake's records and how a create or an update changes them: clients, items,
invoices (numbered, totals recomputed by `freshbooks_rules`, marked sent, settled by payments),
payments and credit notes. Mixed into `FakeFreshBooks`, which routes requests here; apart from it
so routing, paging and webhooks read separately from what a write does.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.freshbooks_rules import (
    CURRENCIES,
    ERRNO_DUPLICATE,
    ERRNO_REQUIRED,
    InvalidError,
    invoice_totals,
    money,
    parse_amount,
)

__all__ = ["RESOURCES", "FreshBooksStore", "Record"]

Record = dict[str, Any]
# resource path → (collection key, single key, object name, id field)
RESOURCES = {
    "users/clients": ("clients", "client", "client", "id"),
    "items/items": ("items", "item", "item", "itemid"),
    "invoices/invoices": ("invoices", "invoice", "invoice", "invoiceid"),
    "payments/payments": ("payments", "payment", "payment", "paymentid"),
    # FreshBooks wraps a credit note as "credit_note" (freshbooks.com/api/credits; the SDK's
    # single name), and lists them under "credit_notes"
    "credit_notes/credit_notes": ("credit_notes", "credit_note", "credit_note", "creditid"),
}


class FreshBooksStore:
    records: dict[str, dict[int, Record]]
    _ids: itertools.count[int]
    _numbers: itertools.count[int]

    def _new_id(self) -> int:
        return next(self._ids)

    def _stamp(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def _create(self, resource: str, body: Record) -> Record:
        id_field = RESOURCES[resource][3]
        record_id = self._new_id()
        record: Record = {"id": record_id, id_field: record_id, "vis_state": 0}
        if resource == "users/clients":
            record |= self._client(body)
        elif resource == "items/items":
            if not str(body.get("name") or "").strip():
                raise InvalidError("item", "name", "is required", errno=ERRNO_REQUIRED)
            record |= {**body}
        elif resource == "invoices/invoices":
            record |= self._invoice(body, None)
        elif resource == "payments/payments":
            record |= self._payment(body)
        else:
            record |= self._credit_note(body)
        record["updated"] = self._stamp()
        self.records[resource][record_id] = record
        return record

    def _update(self, resource: str, record: Record, body: Record) -> Record:
        if resource == "invoices/invoices":
            if body.pop("action_mark_as_sent", False) and record["v3_status"] == "draft":
                record |= {"status": 2, "v3_status": "sent", "display_status": "sent"}
            if "lines" in body or "customerid" in body or "invoice_number" in body:
                record |= self._invoice({**record, **body}, record["id"])
                self._settle(record)
        elif resource == "payments/payments" and int(body.get("vis_state", 0)) == 1:
            record["vis_state"] = 1
            invoice = self.records["invoices/invoices"][record["invoiceid"]]
            invoice["paid_total"] -= Decimal(record["amount"]["amount"])
            self._settle(invoice)
            return record
        elif resource == "users/clients":
            record |= self._client({**record, **body})
        record |= {k: v for k, v in body.items() if k in ("vis_state", "notes", "note")}
        record["updated"] = self._stamp()
        return record

    def _client(self, body: Record) -> Record:
        if not any(body.get(k) for k in ("organization", "fname", "lname", "email")):
            raise InvalidError(
                "client", "organization", "a name or e-mail is required", errno=ERRNO_REQUIRED
            )
        email = body.get("email")
        if email and "@" not in str(email):
            raise InvalidError("client", "email", "is not a valid e-mail address", email)
        currency = str(body.get("currency_code") or "USD")
        if currency not in CURRENCIES:
            raise InvalidError("client", "currency_code", "is not a supported currency", currency)
        return {**body, "currency_code": currency}

    def _invoice(self, body: Record, own_id: int | None) -> Record:
        customer = body.get("customerid")
        if customer is None:
            raise InvalidError("invoice", "customerid", "is required", errno=ERRNO_REQUIRED)
        client = self.records["users/clients"].get(int(customer))
        if client is None or client.get("vis_state") == 1:
            raise InvalidError("invoice", "customerid", "Client not found", customer)
        try:
            created = date.fromisoformat(str(body.get("create_date")))
        except ValueError:
            raise InvalidError(
                "invoice",
                "create_date",
                "is required as YYYY-MM-DD",
                body.get("create_date"),
                errno=ERRNO_REQUIRED,
            ) from None
        currency = str(body.get("currency_code") or client["currency_code"])
        if currency not in CURRENCIES:
            raise InvalidError("invoice", "currency_code", "is not a supported currency", currency)
        number = str(body.get("invoice_number") or f"{next(self._numbers):07d}")
        for other in self.records["invoices/invoices"].values():
            if (
                other["id"] != own_id
                and other["vis_state"] != 1
                and other["invoice_number"] == number
            ):
                raise InvalidError(
                    "invoice",
                    "invoice_number",
                    "Invoice number already exists",
                    number,
                    errno=ERRNO_DUPLICATE,
                )
        lines, total = invoice_totals(list(body.get("lines") or []), currency)
        offset = int(body.get("due_offset_days") or 0)
        record: Record = {
            **body,
            "customerid": int(customer),
            "invoice_number": number,
            "create_date": created.isoformat(),
            "due_offset_days": offset,
            "due_date": (created + timedelta(days=offset)).isoformat(),
            "currency_code": currency,
            "lines": lines,
            "amount": money(total, currency),
            "total": total,
        }
        if own_id is None:
            record |= {
                "status": 1,
                "v3_status": "draft",
                "display_status": "draft",
                "payment_status": "unpaid",
                "paid_total": Decimal(0),
            }
        self._settle(record)
        return record

    def _settle(self, invoice: Record) -> None:
        currency, total, paid = invoice["currency_code"], invoice["total"], invoice["paid_total"]
        invoice["paid"] = money(paid, currency)
        invoice["outstanding"] = money(max(total - paid, Decimal(0)), currency)
        if paid <= 0:
            invoice["payment_status"] = "unpaid"
            if invoice.get("v3_status") in ("paid", "partial"):
                invoice["v3_status"] = "sent"
        else:
            done = paid >= total
            invoice["payment_status"] = invoice["v3_status"] = "paid" if done else "partial"

    def _payment(self, body: Record) -> Record:
        invoice_id = body.get("invoiceid")
        invoice = self.records["invoices/invoices"].get(int(invoice_id or 0))
        if invoice is None or invoice["vis_state"] == 1:
            raise InvalidError("payment", "invoiceid", "Invoice not found", invoice_id)
        amount = parse_amount(body.get("amount"), "payment", "amount")
        if amount <= 0:
            raise InvalidError("payment", "amount", "must be greater than zero", amount)
        if not body.get("date"):
            raise InvalidError("payment", "date", "is required", errno=ERRNO_REQUIRED)
        invoice["paid_total"] += amount
        self._settle(invoice)
        currency = invoice["currency_code"]
        return {
            **body,
            "invoiceid": invoice["id"],
            "clientid": invoice["customerid"],
            "amount": money(amount, currency),
            "type": body.get("type") or "Other",
        }

    def _credit_note(self, body: Record) -> Record:
        client = self.records["users/clients"].get(int(body.get("clientid") or 0))
        if client is None:
            raise InvalidError("credit_note", "clientid", "Client not found", body.get("clientid"))
        number = str(body.get("credit_number") or "")
        for other in self.records["credit_notes/credit_notes"].values():
            if other["vis_state"] != 1 and number and other["credit_number"] == number:
                raise InvalidError(
                    "credit_note",
                    "credit_number",
                    "Credit number already exists",
                    number,
                    errno=ERRNO_DUPLICATE,
                )
        currency = str(body.get("currency_code") or client["currency_code"])
        lines, total = invoice_totals(list(body.get("lines") or []), currency, "credit_note")
        return {**body, "lines": lines, "amount": money(total, currency)}
