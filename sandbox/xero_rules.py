"""The Xero fake's rules for documents (invoices and credit notes): what is required, what must
exist, and how Xero computes the figures.

Figures the way Xero does: Quantity kept to 4 decimals; UnitAmount kept to 2 decimals unless
the request said ``unitdp=4`` (then 4), rounded half away from zero, silently; LineAmount =
round(Quantity x UnitAmount, 2); a line's TaxAmount is the one sent, else round(LineAmount x
rate, 2) (Exclusive) or round(LineAmount x rate / (1 + rate), 2) (Inclusive) or 0 (NoTax);
SubTotal = lines (net of tax for Inclusive), TotalTax = line taxes, Total = SubTotal +
TotalTax; AmountDue = Total - AmountPaid - AmountCredited.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["XeroRules", "cents", "quantize"]

CENT = Decimal("0.01")


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return quantize(value, 2)


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class XeroRules:
    """Mixed into `FakeXero`; reads its accounts, tax rates, items and tracking categories."""

    accounts: dict[str, dict[str, Any]]
    tax_rates: dict[str, dict[str, Any]]
    tracking_categories: dict[str, dict[str, Any]]
    currencies: set[str]

    def item_by_code(self, code: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def line_errors(self, line: Mapping[str, Any], *, approved: bool) -> list[str]:
        errors: list[str] = []
        if not str(line.get("Description") or "").strip() and not line.get("ItemCode"):
            errors.append("Description needs to be at least 1 char long")
        item = None
        if line.get("ItemCode"):
            item = self.item_by_code(str(line["ItemCode"]))
            if item is None:
                errors.append(f"Item code '{line['ItemCode']}' is not valid")
        code = line.get("AccountCode")
        if code is None and item is not None:
            code = (item.get("SalesDetails") or {}).get("AccountCode")
        if code is not None:
            account = self.accounts.get(str(code))
            if account is None or account.get("Status") != "ACTIVE":
                errors.append(f"Account code '{code}' is not a valid code for this document.")
        elif approved:
            errors.append(
                "Account code must be specified for each line item of an approved document."
            )
        tax_type = line.get("TaxType")
        if tax_type is not None:
            rate = self.tax_rates.get(str(tax_type))
            if rate is None or rate.get("Status") != "ACTIVE":
                errors.append(
                    f"The TaxType code '{tax_type}' does not exist or cannot be used for this "
                    "type of transaction."
                )
            elif Decimal(str(rate["EffectiveRate"])) == 0 and (_number(line.get("TaxAmount")) or 0):
                errors.append(f"The tax amount must be zero for the tax rate '{tax_type}'.")
        for tag in line.get("Tracking") or ():
            category = self.tracking_categories.get(str(tag.get("Name")))
            options = {o["Name"] for o in (category or {}).get("Options", ())}
            if category is None:
                errors.append(f"Tracking category '{tag.get('Name')}' does not exist.")
            elif tag.get("Option") not in options:
                errors.append(
                    f"Tracking option '{tag.get('Option')}' is not valid for the category "
                    f"'{tag.get('Name')}'."
                )
        for field in ("Quantity", "UnitAmount", "TaxAmount"):
            if field in line and _number(line[field]) is None:
                errors.append(f"{field} must be a number")
        return errors

    def compute_lines(
        self, lines: list[dict[str, Any]], amount_types: str, unitdp: int
    ) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        """Lines as stored, SubTotal and TotalTax."""
        stored: list[dict[str, Any]] = []
        subtotal = Decimal(0)
        total_tax = Decimal(0)
        for line in lines:
            # a missing (or zero) quantity counts as 1, as for a description-only line
            quantity = quantize(_number(line.get("Quantity")) or Decimal(1), 4)
            unit = quantize(_number(line.get("UnitAmount")) or Decimal(0), unitdp)
            amount = cents(quantity * unit)
            tax_type = line.get("TaxType")
            rate = Decimal(0)
            if tax_type is not None and str(tax_type) in self.tax_rates:
                rate = Decimal(str(self.tax_rates[str(tax_type)]["EffectiveRate"])) / 100
            given = _number(line.get("TaxAmount"))
            if amount_types == "NoTax":
                tax = Decimal(0)
            elif given is not None:
                tax = cents(given)
            elif amount_types == "Inclusive":
                tax = cents(amount * rate / (1 + rate))
            else:
                tax = cents(amount * rate)
            subtotal += amount - tax if amount_types == "Inclusive" else amount
            total_tax += tax
            stored.append(
                {
                    **{k: v for k, v in line.items() if k != "ValidationErrors"},
                    "Quantity": quantity,
                    "UnitAmount": unit,
                    "LineAmount": amount,
                    "TaxAmount": tax,
                }
            )
        return stored, cents(subtotal), cents(total_tax)

    def document_errors(
        self, body: Mapping[str, Any], *, kind: str, number_field: str, taken: set[str]
    ) -> tuple[list[str], list[list[str]]]:
        """Errors of a document and of each of its lines."""
        errors: list[str] = []
        if body.get("Type") not in kind.split("|"):
            errors.append(f"Type must be one of {kind.replace('|', ', ')}")
        contact = body.get("Contact") or {}
        if not any(contact.get(k) for k in ("ContactID", "Name", "ContactNumber")):
            errors.append(
                "The Contact must contain at least 1 of the following elements to identify the "
                "contact: Name, ContactID, ContactNumber"
            )
        number = body.get(number_field)
        if number and str(number).casefold() in taken:
            errors.append(
                "Invoice # must be unique."
                if number_field == "InvoiceNumber"
                else "Credit Note # must be unique."
            )
        status = body.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Status '{status}' is not valid for a new document.")
        currency = body.get("CurrencyCode")
        if currency is not None and currency not in self.currencies:
            errors.append(f"The currency '{currency}' is not enabled for this organisation.")
        if body.get("LineAmountTypes", "Exclusive") not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
        lines = body.get("LineItems") or []
        if not lines and status == "AUTHORISED":
            errors.append("At least one line item is required to approve a document.")
        approved = status == "AUTHORISED"
        return errors, [self.line_errors(line, approved=approved) for line in lines]
