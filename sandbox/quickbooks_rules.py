"""What the QuickBooks fake checks before it stores an object: references that must exist,
required fields, unique names and document numbers, and the arithmetic QuickBooks redoes on
every sales transaction (Amount = Qty x UnitPrice, TotalAmt, Balance)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.quickbooks_query import Fault

__all__ = ["QuickBooksRules", "money"]

CENT = Decimal("0.01")
REQUIRED = "Required param missing, need to supply the required value for the API"


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


class QuickBooksRules:
    store: dict[str, dict[str, dict[str, Any]]]
    home_currency: str
    currencies: set[str]
    tax_rates: dict[str, Decimal]

    def get(self, entity: str, obj_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def write(self, entity: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # ---- validation per entity (answers the stored object) ---------------------------------
    def _ref(self, entity: str, ref: Any, element: str, *, required: bool = True) -> str | None:
        value = ref.get("value") if isinstance(ref, dict) else None
        if value is None:
            if required:
                raise Fault(
                    "2020",
                    REQUIRED,
                    f"Required parameter {element} is missing in the request",
                    element,
                )
            return None
        obj = self.store[entity].get(str(value))
        if obj is None or not obj.get("Active", True):
            raise Fault(
                "2500",
                "Invalid Reference Id",
                f"Invalid Reference Id : {entity} assigned to this transaction has been deleted or does not exist: {value}",
                element,
            )
        return str(value)

    def _unique_name(self, entity: str, field: str, value: str, own_id: str | None) -> None:
        """Items among items; customer names are unique across customers, vendors and
        employees (inactive ones included)."""
        kinds = ("Customer", "Vendor", "Employee") if entity == "Customer" else (entity,)
        others = [o for kind in kinds for o in self.store.get(kind, {}).values()]
        for other in others:
            if str(other.get(field, "")).lower() == value.lower() and other["Id"] != own_id:
                raise Fault(
                    "6240",
                    "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another {entity.lower()} is already using this name: {value}",
                    field,
                )

    def _check_customer(self, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        name = str(body.get("DisplayName") or "").strip()
        if not name:
            raise Fault(
                "2020",
                REQUIRED,
                "Required parameter DisplayName is missing in the request",
                "DisplayName",
            )
        if ":" in name or "\t" in name or "\n" in name or len(name) > 500:
            raise Fault(
                "2050",
                "Invalid string length or characters",
                f"DisplayName cannot contain a colon, tab or newline and is at most 500 characters: {name!r}",
                "DisplayName",
            )
        self._unique_name("Customer", "DisplayName", name, own_id)
        currency = (body.get("CurrencyRef") or {}).get("value", self.home_currency)
        if currency not in self.currencies:
            raise Fault(
                "2500",
                "Invalid Reference Id",
                f"Invalid Reference Id : currency {currency} is not enabled",
                "CurrencyRef",
            )
        return {
            **body,
            "DisplayName": name,
            "CurrencyRef": {"value": currency},
            "Active": body.get("Active", True),
            "Balance": body.get("Balance", Decimal(0)),
        }

    def _check_item(self, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise Fault(
                "2020",
                REQUIRED,
                "Required parameter Name is missing in the request",
                "Name",
            )
        if ":" in name or len(name) > 100:
            raise Fault(
                "2050",
                "Invalid string length or characters",
                f"Name cannot contain a colon and is at most 100 characters: {name!r}",
                "Name",
            )
        self._unique_name("Item", "Name", name, own_id)
        if body.get("Type", "Service") in {"Service", "NonInventory"}:
            self._ref("Account", body.get("IncomeAccountRef"), "IncomeAccountRef")
        return {
            **body,
            "Name": name,
            "Type": body.get("Type", "Service"),
            "Active": body.get("Active", True),
        }

    def _lines(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            raise Fault(
                "2020",
                REQUIRED,
                "Required parameter Line is missing in the request",
                "Line",
            )
        out: list[dict[str, Any]] = []
        subtotal = taxable = Decimal(0)
        for n, line in enumerate(lines):
            kind = line.get("DetailType")
            if kind == "SubTotalLineDetail":
                continue
            if kind != "SalesItemLineDetail":
                raise Fault(
                    "2020",
                    REQUIRED,
                    f"Required parameter Line.DetailType is missing or unsupported on line {n + 1}",
                    "Line.DetailType",
                )
            detail = dict(line.get("SalesItemLineDetail") or {})
            self._ref("Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
            self._ref(
                "Class", detail.get("ClassRef"), "Line.SalesItemLineDetail.ClassRef", required=False
            )
            tax_code = self._ref(
                "TaxCode",
                detail.get("TaxCodeRef"),
                "Line.SalesItemLineDetail.TaxCodeRef",
                required=False,
            )
            if "Amount" not in line:
                raise Fault(
                    "2020",
                    REQUIRED,
                    f"Required parameter Line.Amount is missing on line {n + 1}",
                    "Line.Amount",
                )
            amount = Decimal(str(line["Amount"]))
            if amount != money(amount):
                raise Fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"Line.Amount has more than 2 decimals on line {n + 1}",
                    "Line.Amount",
                )
            if "Qty" in detail and "UnitPrice" in detail:
                price = Decimal(str(detail["UnitPrice"])).quantize(
                    Decimal("0.0000001"), ROUND_HALF_UP
                )
                detail["UnitPrice"] = price
                if money(Decimal(str(detail["Qty"])) * price) != amount:
                    raise Fault(
                        "6070",
                        "Business Validation Error",
                        f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} on line {n + 1}",
                        "Line.Amount",
                    )
            subtotal += amount
            if tax_code is not None and tax_code != "NON":
                taxable += amount
            out.append(
                {
                    **line,
                    "Id": str(n + 1),
                    "LineNum": n + 1,
                    "Amount": amount,
                    "SalesItemLineDetail": detail,
                }
            )
        out.append(
            {"DetailType": "SubTotalLineDetail", "Amount": subtotal, "SubTotalLineDetail": {}}
        )
        return out, subtotal, taxable

    def _check_txn(self, entity: str, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        customer_id = self._ref("Customer", body.get("CustomerRef"), "CustomerRef")
        assert customer_id is not None
        lines, subtotal, taxable = self._lines(body)
        currency = (body.get("CurrencyRef") or {}).get("value", self.home_currency)
        if currency != self.store["Customer"][customer_id]["CurrencyRef"]["value"]:
            raise Fault(
                "6000",
                "Business Validation Error",
                f"The currency of the transaction ({currency}) must match the currency of the customer",
                "CurrencyRef",
            )
        number = body.get("DocNumber")
        if number is not None:
            if len(str(number)) > 21:
                raise Fault(
                    "2050",
                    "Invalid string length or characters",
                    "DocNumber is at most 21 characters",
                    "DocNumber",
                )
            for other in self.store[entity].values():
                if other.get("DocNumber") == number and other["Id"] != own_id:
                    raise Fault(
                        "6140",
                        "Duplicate Document Number Error",
                        f"Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber={number} is assigned to TxnType={entity} with TxnId={other['Id']}",
                        "DocNumber",
                    )
        tax_detail = dict(body.get("TxnTaxDetail") or {})
        if "TotalTax" in tax_detail:
            tax = money(tax_detail["TotalTax"])
        else:
            code = (tax_detail.get("TxnTaxCodeRef") or {}).get("value")
            tax = money(taxable * self.tax_rates.get(str(code), Decimal(0))) if code else Decimal(0)
        tax_detail["TotalTax"] = tax
        total = subtotal + tax
        before = self.store[entity].get(own_id or "")
        paid = before["TotalAmt"] - before["Balance"] if before else Decimal(0)
        return {
            **body,
            "Line": lines,
            "CurrencyRef": {"value": currency},
            "TxnTaxDetail": tax_detail,
            "TotalAmt": total,
            "Balance": total - paid,
            "TxnDate": body.get("TxnDate") or datetime.now(UTC).date().isoformat(),
        }

    def _check_invoice(self, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        return self._check_txn("Invoice", body, own_id)

    def _check_creditmemo(self, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        obj = self._check_txn("CreditMemo", body, own_id)
        obj["RemainingCredit"] = obj["Balance"]
        return obj

    def _check_payment(self, body: dict[str, Any], own_id: str | None) -> dict[str, Any]:
        """A payment's lines link invoices (paid) and credit memos (used as money); what it
        takes from each must be there, and TotalAmt = invoices - credits."""
        self._ref("Customer", body.get("CustomerRef"), "CustomerRef")
        total = money(body.get("TotalAmt", 0))
        net = Decimal(0)
        for line in body.get("Line", []):
            amount = money(line["Amount"])
            for linked in line.get("LinkedTxn", []):
                kind = linked.get("TxnType")
                if kind not in {"Invoice", "CreditMemo"}:
                    raise Fault(
                        "2010",
                        "Request has invalid or unsupported property",
                        f"LinkedTxn.TxnType {kind}",
                        "Line.LinkedTxn.TxnType",
                    )
                target = self.get(kind, str(linked["TxnId"]))
                if amount > target["Balance"]:
                    raise Fault(
                        "6000",
                        "Business Validation Error",
                        f"The amount applied exceeds the {kind} balance",
                        "Line.Amount",
                    )
                net += amount if kind == "Invoice" else -amount
        if net != total:
            raise Fault(
                "6000",
                "Business Validation Error",
                f"TotalAmt {total} is not the invoices paid less the credits applied ({net})",
                "TotalAmt",
            )
        return {**body, "TotalAmt": total}

    def _apply_payment(self, payment: dict[str, Any]) -> None:
        """After the payment got its Id: lower each linked balance and link it back."""
        for line in payment.get("Line", []):
            amount = money(line["Amount"])
            for linked in line.get("LinkedTxn", []):
                target = self.store[linked["TxnType"]][str(linked["TxnId"])]
                target["Balance"] -= amount
                if "RemainingCredit" in target:
                    target["RemainingCredit"] = target["Balance"]
                target["SyncToken"] = str(int(target["SyncToken"]) + 1)
                target.setdefault("LinkedTxn", []).append(
                    {"TxnId": payment["Id"], "TxnType": "Payment"}
                )
