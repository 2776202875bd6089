"""Payments in the Xero fake: ``PUT /Payments`` applies money to an AUTHORISED sales invoice
(lowering AmountDue, PAID at zero) and ``GET /Payments`` lists them with ``where`` and pages.

As in Xero: the invoice must be AUTHORISED, the amount positive and at most AmountDue, and the
account one that takes payments (a bank account, or one with payments enabled); otherwise the
element comes back with ValidationErrors (a 400 ValidationException by default).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from sandbox.xero_rules import cents
from sandbox.xero_store import Element, rejected, respond, validation
from sandbox.xero_where import to_date, xero_date

__all__ = ["BANK_ACCOUNTS", "XeroPayments"]

BANK_ACCOUNTS = {"090": "Business Bank Account", "091": "Business Savings Account"}


class XeroPayments:
    """Mixed into `FakeXero` (which owns `invoices` and `_settle`)."""

    invoices: dict[str, Element]
    payments: dict[str, Element]

    @staticmethod
    def _settle(invoice: Element) -> None:  # XeroStore, earlier in FakeXero's bases, wins
        raise NotImplementedError

    def _put_payments(self, body: Element) -> httpx.Response:
        elements = body.get("Payments") if "Payments" in body else [body]
        answers: list[Element] = []
        for element in elements or []:
            answers.append(self._payment(element))
        if any(a.get("StatusAttributeString") == "ERROR" for a in answers):
            return validation(answers)
        return respond(200, {"Id": str(uuid.uuid4()), "Status": "OK", "Payments": answers})

    def _payment(self, body: Element, *, paid_on: date | None = None) -> Element:
        invoice = self.invoices.get(str((body.get("Invoice") or {}).get("InvoiceID") or ""))
        code = str((body.get("Account") or {}).get("Code") or "")
        errors: list[str] = []
        try:
            amount = cents(Decimal(str(body.get("Amount"))))
        except ArithmeticError:
            amount = Decimal(0)
        when = paid_on or to_date(body.get("Date"))
        if invoice is None:
            errors.append("Invoice could not be found")
        elif invoice["Status"] != "AUTHORISED":
            errors.append("Payment can only be made against Authorised documents")
        elif amount > invoice["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document")
        if amount <= 0:
            errors.append("Payment amount must be greater than zero")
        if code not in BANK_ACCOUNTS:
            errors.append("Account must be valid and enabled for payments")
        if when is None:
            errors.append("Date is required")
        if errors or invoice is None or when is None:
            return rejected(dict(body), errors)
        payment: Element = {
            "PaymentID": str(uuid.uuid4()),
            "Date": xero_date(when),
            "Amount": amount,
            "Reference": str(body.get("Reference") or ""),
            "CurrencyRate": Decimal(1),
            "PaymentType": "ACCRECPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": False,
            "Account": {"AccountID": str(uuid.uuid5(uuid.NAMESPACE_OID, code)), "Code": code},
            "Invoice": {
                "InvoiceID": invoice["InvoiceID"],
                "InvoiceNumber": invoice["InvoiceNumber"],
                "Type": invoice.get("Type", "ACCREC"),
                "CurrencyCode": invoice.get("CurrencyCode"),
                "Contact": {"ContactID": (invoice.get("Contact") or {}).get("ContactID")},
            },
        }
        self.payments[payment["PaymentID"]] = payment
        invoice["AmountPaid"] += amount
        invoice["Payments"].append(
            {k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference")}
        )
        self._settle(invoice)
        return {**payment, "StatusAttributeString": "OK"}

    def payment_elements(self) -> list[Element]:
        return list(self.payments.values())

    def pay_in_xero(
        self, invoice_id: str, amount: Decimal, on: date, account: str = "090"
    ) -> dict[str, Any]:
        """A payment the partner enters in Xero (what read-back then sees)."""
        answer = self._payment(
            {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": account}, "Amount": amount},
            paid_on=on,
        )
        if answer.get("StatusAttributeString") != "OK":
            raise ValueError(f"the fake refused the payment: {answer['ValidationErrors']}")
        return answer
