"""The Xero fake's writes: contacts, items, invoices and credit notes created, invoices moved
between statuses, credit notes allocated, and Xero's answer shapes (`respond`, `problem`,
`validation`, `rejected`). Mixed into `FakeXero`; figures come from `XeroRules`."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from sandbox.xero_rules import XeroRules, cents
from sandbox.xero_where import dumps, to_date, xero_date

__all__ = ["Element", "XeroStore", "exception", "problem", "rejected", "respond", "validation"]

Element = dict[str, Any]


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = dumps(body) if not isinstance(body, str) else body.encode()
    kind = "application/json" if not isinstance(body, str) else "text/plain"
    return httpx.Response(
        status, content=content, headers={"Content-Type": kind, **(headers or {})}
    )


def problem(status: int, title: str, detail: str) -> httpx.Response:
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return respond(status, body)


def validation(elements: list[Element]) -> httpx.Response:
    return respond(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
    )


def exception(kind: str, message: str, number: int = 14) -> httpx.Response:
    return respond(400, {"ErrorNumber": number, "Type": kind, "Message": message})


class XeroStore(XeroRules):
    """State and writes; `FakeXero` routes requests here."""

    base_currency: str
    contacts: dict[str, Element]
    items: dict[str, Element]
    invoices: dict[str, Element]
    credit_notes: dict[str, Element]
    _stamps: itertools.count[int]
    _numbers: itertools.count[int]
    _by_number: dict[str, list[str]]

    def _stamp(self) -> str:
        base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(milliseconds=next(self._stamps))
        return xero_date(base)

    def _contact(self, body: Element, method: str, unitdp: int) -> Element:
        existing = self.contacts.get(str(body.get("ContactID"))) if body.get("ContactID") else None
        if body.get("ContactID") and existing is None:
            return rejected(body, ["Contact not found"])
        name = str(body.get("Name") or (existing or {}).get("Name") or "").strip()
        errors = [] if name else ["The contact name must be specified"]
        clash = [
            c
            for c in self.contacts.values()
            if c["Name"].casefold() == name.casefold() and c is not existing
        ]
        if name and clash:
            errors.append(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
        if len(str(body.get("ContactNumber") or "")) > 50:
            errors.append("The ContactNumber must be 50 characters or fewer")
        if errors:
            return rejected(body, errors)
        contact = (
            existing
            if existing is not None
            else {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE"}
        )
        contact.update({k: v for k, v in body.items() if k != "ContactID"})
        contact.update({"Name": name, "UpdatedDateUTC": self._stamp()})
        self.contacts[contact["ContactID"]] = contact
        return {**contact, "StatusAttributeString": "OK"}

    def item_by_code(self, code: str) -> Element | None:
        return next(
            (i for i in self.items.values() if i["Code"].casefold() == code.casefold()), None
        )

    def _item(self, body: Element, method: str, unitdp: int) -> Element:
        code = str(body.get("Code") or "")
        errors = [] if code else ["Item Code must be specified"]
        if len(code) > 30:
            errors.append("Item Code must be 30 characters or fewer")
        if len(str(body.get("Name") or "")) > 50:
            errors.append("Item Name must be 50 characters or fewer")
        if code and self.item_by_code(code) is not None:
            errors.append(f"Item code '{code}' already exists. Item Code must be unique.")
        account = (body.get("SalesDetails") or {}).get("AccountCode")
        if account is not None and self.accounts.get(str(account), {}).get("Status") != "ACTIVE":
            errors.append(f"Account code '{account}' is not a valid code for this document.")
        if errors:
            return rejected(body, errors)
        item = {**body, "ItemID": str(uuid.uuid4()), "UpdatedDateUTC": self._stamp()}
        self.items[item["ItemID"]] = item
        return {**item, "StatusAttributeString": "OK"}

    def _contact_of(self, body: Element) -> Element | None:
        wanted = body.get("Contact") or {}
        if wanted.get("ContactID"):
            return self.contacts.get(str(wanted["ContactID"]))
        name = str(wanted.get("Name") or "")
        found = next(
            (c for c in self.contacts.values() if c["Name"].casefold() == name.casefold()), None
        )
        if found is None and name:
            found = self._contact({"Name": name}, "PUT", 2)
            found = self.contacts[found["ContactID"]]
        return found

    def _document(self, body: Element, unitdp: int, *, credit: bool) -> Element:
        store = self.credit_notes if credit else self.invoices
        number_field = "CreditNoteNumber" if credit else "InvoiceNumber"
        wanted = str(body.get(number_field) or "").casefold()
        same = self._by_number.get(f"{body.get('Type')}:{wanted}", [])
        live = any(i in store and store[i]["Status"] != "DELETED" for i in same)
        taken = {wanted} if wanted and live else set()
        errors, line_errors = self.document_errors(
            body,
            kind="ACCRECCREDIT|ACCPAYCREDIT" if credit else "ACCREC|ACCPAY",
            number_field=number_field,
            taken=taken,
        )
        contact = self._contact_of(body)
        if contact is None and not errors:
            errors.append("Contact not found")
        if errors or any(line_errors):
            return rejected(body, errors, line_errors)
        assert contact is not None
        amount_types = body.get("LineAmountTypes", "Exclusive")
        lines, subtotal, tax = self.compute_lines(
            list(body.get("LineItems") or []), amount_types, unitdp
        )
        for line in lines:
            line["LineItemID"] = str(uuid.uuid4())
        number = body.get(number_field) or f"{'CN' if credit else 'INV'}-{next(self._numbers):04d}"
        issued = to_date(body.get("Date")) or datetime.now(UTC).date()
        document = {
            **{k: v for k, v in body.items() if k not in ("LineItems", "Contact")},
            "Type": body["Type"],
            number_field: number,
            "Status": body.get("Status", "DRAFT"),
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": xero_date(issued),
            "DateString": f"{issued.isoformat()}T00:00:00",
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            "SubTotal": subtotal,
            "TotalTax": tax,
            "Total": subtotal + tax,
            "CurrencyCode": body.get("CurrencyCode", self.base_currency),
            "UpdatedDateUTC": self._stamp(),
            "HasErrors": False,
        }
        if body.get("DueDate"):
            due = to_date(body["DueDate"])
            document["DueDate"] = xero_date(due) if due else body["DueDate"]
        if credit:
            document.update(
                {
                    "CreditNoteID": str(uuid.uuid4()),
                    "RemainingCredit": subtotal + tax,
                    "Allocations": [],
                }
            )
            self.credit_notes[document["CreditNoteID"]] = document
            self._index(document, "CreditNoteID", number_field)
        else:
            document.update(
                {
                    "InvoiceID": str(uuid.uuid4()),
                    "AmountPaid": Decimal("0.00"),
                    "AmountCredited": Decimal("0.00"),
                    "Payments": [],
                    "CreditNotes": [],
                }
            )
            self._settle(document)
            self.invoices[document["InvoiceID"]] = document
            self._index(document, "InvoiceID", number_field)
        return {**document, "StatusAttributeString": "OK"}

    def _index(self, document: Element, id_field: str, number_field: str) -> None:
        """Documents by type and number (uniqueness checks without scanning every one)."""
        key = f"{document['Type']}:{str(document[number_field]).casefold()}"
        self._by_number.setdefault(key, []).append(document[id_field])

    def _invoice(self, body: Element, method: str, unitdp: int) -> Element:
        if body.get("InvoiceID") and method == "POST":
            return self._update_invoice(body)
        return self._document(body, unitdp, credit=False)

    def _credit_note(self, body: Element, method: str, unitdp: int) -> Element:
        return self._document(body, unitdp, credit=True)

    def _update_invoice(self, body: Element) -> Element:
        invoice = self.invoices.get(str(body["InvoiceID"]))
        if invoice is None:
            return rejected(body, ["Invoice not found"])
        target = body.get("Status", invoice["Status"])
        current = invoice["Status"]
        allowed = {
            "VOIDED": ("AUTHORISED", "SUBMITTED"),
            "DELETED": ("DRAFT", "SUBMITTED"),
            "AUTHORISED": ("DRAFT", "SUBMITTED", "AUTHORISED"),
            "SUBMITTED": ("DRAFT", "SUBMITTED"),
            "DRAFT": ("DRAFT",),
        }
        if current not in allowed.get(str(target), ()):
            return rejected(
                body, [f"Invoice not of valid status for modification (it is {current})"]
            )
        if target == "VOIDED" and (invoice["AmountPaid"] or invoice["AmountCredited"]):
            return rejected(
                body,
                [
                    "This document cannot be voided as it has a payment or "
                    "credit note allocated to it."
                ],
            )
        invoice["Status"] = target
        if "Reference" in body:
            invoice["Reference"] = body["Reference"]
        invoice["UpdatedDateUTC"] = self._stamp()
        self._settle(invoice)
        return {**invoice, "StatusAttributeString": "OK"}

    @staticmethod
    def _settle(invoice: Element) -> None:
        due = invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"]
        dead = invoice["Status"] in ("VOIDED", "DELETED")
        invoice["AmountDue"] = Decimal("0.00") if dead else cents(due)
        if invoice["Status"] == "AUTHORISED" and invoice["AmountDue"] == 0 and invoice["Total"] > 0:
            invoice["Status"] = "PAID"

    def _allocate(self, note_id: str, body: Element) -> httpx.Response:
        note = self.credit_notes.get(note_id)
        if note is None:
            return respond(404, "The resource you're looking for cannot be found")
        answers: list[Element] = []
        for allocation in body.get("Allocations") or []:
            invoice = self.invoices.get(str((allocation.get("Invoice") or {}).get("InvoiceID")))
            amount = cents(Decimal(str(allocation.get("Amount", "0"))))
            errors = []
            if invoice is None:
                errors.append("Invoice could not be found")
            elif invoice["Status"] != "AUTHORISED" or note["Status"] != "AUTHORISED":
                errors.append("Only approved documents can be allocated")
            elif invoice["Contact"]["ContactID"] != note["Contact"]["ContactID"]:
                errors.append("The credit note and the invoice must belong to the same contact")
            elif amount <= 0 or amount > note["RemainingCredit"] or amount > invoice["AmountDue"]:
                errors.append(
                    "The amount must be more than zero and no more than the remaining "
                    "credit and the invoice's amount due"
                )
            if errors:
                return validation([rejected({"CreditNoteID": note_id, **allocation}, errors)])
            assert invoice is not None
            invoice["AmountCredited"] += amount
            invoice["CreditNotes"].append({"CreditNoteID": note_id, "AppliedAmount": amount})
            invoice["UpdatedDateUTC"] = self._stamp()
            self._settle(invoice)
            note["RemainingCredit"] -= amount
            if note["RemainingCredit"] == 0:
                note["Status"] = "PAID"
            record = {
                "AllocationID": str(uuid.uuid4()),
                "Amount": amount,
                "Date": allocation.get("Date"),
                "Invoice": {
                    "InvoiceID": invoice["InvoiceID"],
                    "InvoiceNumber": invoice["InvoiceNumber"],
                },
            }
            note["Allocations"].append(record)
            answers.append(record)
        return respond(200, {"Allocations": answers})


def rejected(
    body: Element, errors: list[str], line_errors: list[list[str]] | None = None
) -> Element:
    lines = [
        {**line, "ValidationErrors": [{"Message": m} for m in (line_errors or [])[i]]}
        if line_errors and i < len(line_errors)
        else line
        for i, line in enumerate(body.get("LineItems") or [])
    ]
    answer = {
        **body,
        "StatusAttributeString": "ERROR",
        "HasErrors": True,
        "ValidationErrors": [{"Message": m} for m in errors],
    }
    if lines:
        answer["LineItems"] = lines
    return answer
